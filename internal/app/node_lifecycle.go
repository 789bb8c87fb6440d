package app

import (
	"context"
	"errors"

	"github.com/insitu-cloud/insitu/internal/lifecycle"
	"github.com/insitu-cloud/insitu/internal/s3api"
	"github.com/insitu-cloud/insitu/internal/store"
)

// startLifecycle starts the runner of buckets' lifecycle rules when the
// engine can expire objects (a node alone; a cluster's engine cannot yet,
// and its S3 face refuses the rules). Node.Close stops it before the
// stores close.
func (n *Node) startLifecycle() {
	if _, ok := n.engine.(store.Expirer); !ok {
		return
	}
	n.lifecycle = lifecycle.New(lifecycle.Config{
		Engine: n.engine,
		KV:     n.kv,
		Configs: func(ctx context.Context) ([]lifecycle.BucketRules, error) {
			return s3api.LifecycleConfigs(ctx, n.kv, n.engine)
		},
		Now:        n.cfg.Clock,
		Every:      n.cfg.LifecycleInterval,
		Logger:     n.log.With("component", "lifecycle"),
		Registerer: n.metrics.Registry,
	})
	n.lifecycle.Start()
}

// LifecyclePass runs one pass of every bucket's lifecycle rules now (the
// node also runs them every Config.LifecycleInterval); nil runner: the
// node keeps no lifecycle (a cluster, for now).
func (n *Node) LifecyclePass(ctx context.Context) (lifecycle.Stats, error) {
	if n.lifecycle == nil {
		return lifecycle.Stats{}, errNoLifecycle
	}
	return n.lifecycle.Pass(ctx)
}

var errNoLifecycle = errors.New("app: this node applies no lifecycle rules (a cluster's engine cannot expire objects yet)")
