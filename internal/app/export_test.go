package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/insitu-cloud/insitu/internal/store"
)

// EngineForTest is the node's engine (the cluster's in a cluster).
func (n *Node) EngineForTest() store.Engine { return n.engine }

// RegistryForTest is the node's metrics registry, readable after Close.
func (n *Node) RegistryForTest() *prometheus.Registry { return n.metrics.Registry }

// LocalForTest is the node's local engine under a cluster's (nil alone).
func (n *Node) LocalForTest() store.Engine { return n.local }
