package app

import (
	"context"
	"runtime"

	"github.com/insitu-cloud/insitu/internal/jobs"
)

// startJobs builds the jobs service over n.runs: its slot pool is the
// sandbox's worker count (in a cluster, the live nodes' slots, with tasks
// placed over them), and jobs left running by a previous process are
// marked interrupted now.
func (n *Node) startJobs(ctx context.Context) (err error) {
	slots := n.cfg.SandboxWorkers
	if slots <= 0 {
		slots = runtime.NumCPU()
	}
	jcfg := jobs.Config{Runs: n.runs, Engine: n.engine, KV: n.kv, Slots: slots,
		Logger: n.log.With("component", "jobs")}
	if n.remote != nil {
		jcfg.Node, jcfg.Cluster = n.remote.Self(), n.remote
	}
	n.jobs, err = jobs.New(ctx, jcfg)
	return err
}

// closeJobs cancels the running jobs (they end failed, "interrupted") and
// waits for their state to be saved; it runs before the server drains, so
// progress streams end.
func (n *Node) closeJobs() {
	if n.jobs != nil {
		n.jobs.Close()
	}
}
