package app

import (
	"context"
	"errors"

	"github.com/insitu-cloud/insitu/internal/lifecycle"
	"github.com/insitu-cloud/insitu/internal/s3api"
	"github.com/insitu-cloud/insitu/internal/store"
)

// lifecycleElection names the cluster's election of the node that runs
// the lifecycle passes.
const lifecycleElection = "lifecycle"

// startLifecycle starts the runner of buckets' lifecycle rules when the
// engine can expire objects (a node alone, or a cluster's engine for
// buckets without versioning). In a cluster every node starts one, but
// passes run only on the node leading the "lifecycle" election; the
// progress is in etcd, so a node that takes over resumes a pass cut
// short. Node.Close stops it before the stores close.
func (n *Node) startLifecycle() {
	if _, ok := n.engine.(store.Expirer); !ok {
		return
	}
	cfg := lifecycle.Config{
		Engine: n.engine,
		KV:     n.kv,
		Configs: func(ctx context.Context) ([]lifecycle.BucketRules, error) {
			return s3api.LifecycleConfigs(ctx, n.kv, n.engine)
		},
		Now:        n.cfg.Clock,
		Every:      n.cfg.LifecycleInterval,
		Logger:     n.log.With("component", "lifecycle"),
		Registerer: n.metrics.Registry,
	}
	if n.cluster != nil {
		cfg.Elect = func(ctx context.Context) (context.Context, func(), error) {
			return n.cluster.Elect(ctx, lifecycleElection)
		}
	}
	n.lifecycle = lifecycle.New(cfg)
	n.lifecycle.Start()
}

// LifecyclePass runs one pass of every bucket's lifecycle rules now, on
// this node, whether or not it leads a cluster's lifecycle election (the
// node also runs them every Config.LifecycleInterval, in a cluster only
// while it leads). A pass running meanwhile on the leader shares the
// saved progress, so tests call it with the interval long.
func (n *Node) LifecyclePass(ctx context.Context) (lifecycle.Stats, error) {
	if n.lifecycle == nil {
		return lifecycle.Stats{}, errNoLifecycle
	}
	return n.lifecycle.Pass(ctx)
}

var errNoLifecycle = errors.New("app: this node applies no lifecycle rules (its engine cannot expire objects)")
