package app

import (
	"context"

	"github.com/insitu-cloud/insitu/internal/cluster"
	"github.com/insitu-cloud/insitu/internal/s3api"
	"github.com/insitu-cloud/insitu/internal/ui"
)

// newUI builds the dashboard served at /ui/ (internal/ui); removeAccount is
// the native API's (what `insitu admin user rm` reaches), so the page
// refuses what the CLI does.
func (n *Node) newUI(removeAccount func(ctx context.Context, name string) error) *ui.Handler {
	return ui.New(ui.Config{Accounts: n.accounts, RemoveAccount: removeAccount, Engine: n.engine, Runs: n.runs, Apps: n.apps, Jobs: n.uiJobs(), Services: n.services, Instances: n.ec2Instances(), Sessions: n.kv, Status: n.uiStatus, Requests: n.metrics.Recent,
		BucketDeleted: n.bucketDeleted, ValidBucketName: s3api.ValidBucketName, Region: n.cfg.Region,
		Logger: n.log.With("component", "ui"), Options: n.cfg.UI})
}

// uiStatus is the cluster's status, or a node alone as a one-node cluster.
func (n *Node) uiStatus(ctx context.Context) (cluster.Status, error) {
	if n.cluster != nil {
		return n.cluster.Status(ctx)
	}
	self := cluster.NodeStatus{NodeRecord: cluster.NodeRecord{Name: "local", Zone: "-"}, State: "up", Usage: n.usage()}
	return cluster.Status{Self: "local", Nodes: []cluster.NodeStatus{self}, Replicas: 1}, nil
}

// uiJobs is the jobs service for the dashboard, nil (not a typed nil) when
// the node runs no jobs.
func (n *Node) uiJobs() ui.Jobs {
	if n.jobs == nil {
		return nil
	}
	return n.jobs
}
