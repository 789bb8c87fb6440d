package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/insitu-cloud/insitu/internal/cluster"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// startCluster makes this node a member of its cluster (cfg.Cluster): the
// control plane becomes etcd and the object engine the replicated one
// over the local engine. It needs the bound listener: the node's endpoint
// is published in the membership.
func (n *Node) startCluster(ctx context.Context) error {
	cc := n.cfg.Cluster
	secret, created, err := cluster.LoadSecret(n.cfg.DataDir, cc.Secret, cc.Join == "" && len(cc.Etcd) == 0)
	if err != nil {
		return err
	}
	n.newSecret, n.cfg.Cluster.Secret = created, secret
	adv := cmp.Or(cc.Advertise, n.ln.Addr().String())
	n.cluster, err = cluster.Start(ctx, cluster.Config{
		DataDir: n.cfg.DataDir, Name: cc.Name, Zone: cc.Zone, Endpoint: n.scheme + "://" + adv,
		Join: cc.Join, Etcd: cc.Etcd, Secret: secret, Replicas: cc.Replicas,
		Usage: n.usage, Logger: n.log.With("component", "cluster"),
	})
	if err != nil {
		return err
	}
	// Every request looks up its access key and account: keep those in
	// memory, fed by etcd watches.
	n.kv = cachedKV(n.cluster.KV())
	if err := n.cluster.Register(n.metrics.Registry); err != nil {
		return err
	}
	if cc.Join == "" {
		return n.migrateControl(ctx)
	}
	return nil
}

// openClusterEngine opens the local engine and the cluster's over it.
func (n *Node) openClusterEngine(ctx context.Context) (err error) {
	l, err := local.OpenWith(ctx, filepath.Join(n.cfg.DataDir, "store"),
		local.Options{Logger: n.log.With("component", "store"), VersionTombstones: true})
	if err != nil {
		return err
	}
	n.local = l
	e, err := cluster.NewEngine(ctx, n.cluster, l)
	if err != nil {
		return err
	}
	n.engine = e
	return nil
}

// migrateControl copies the control plane a node kept while it ran alone
// into etcd, once, when it starts a cluster: keys already in etcd win.
func (n *Node) migrateControl(ctx context.Context) error {
	dir := filepath.Join(n.cfg.DataDir, "control")
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	if _, err := n.kv.Get(ctx, "cluster/migrated"); err == nil {
		return nil
	}
	old, err := meta.OpenLocal(dir)
	if err != nil {
		return err
	}
	defer old.Close()
	pairs, err := old.List(ctx, "")
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if err := n.kv.CompareAndSwap(ctx, p.Key, nil, p.Value); err != nil && !errors.Is(err, meta.ErrConflict) {
			return fmt.Errorf("app: migrate %s: %w", p.Key, err)
		}
	}
	n.log.Info("control plane copied into the cluster", "keys", len(pairs))
	return n.kv.Put(ctx, "cluster/migrated", []byte("1"))
}

// usage is the node's capacity and use for its membership record.
func (n *Node) usage() cluster.Usage {
	var u cluster.Usage
	if f := n.loadFn.Load(); f != nil {
		u.Slots, u.SlotsUsed, u.RunsWaiting = (*f)()
	}
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		unit := int64(si.Unit)
		u.Memory = int64(si.Totalram) * unit
		u.MemoryUsed = u.Memory - int64(si.Freeram+si.Bufferram)*unit
	}
	var fs syscall.Statfs_t
	if syscall.Statfs(n.cfg.DataDir, &fs) == nil {
		u.Disk = int64(fs.Blocks) * fs.Bsize
		u.DiskUsed = u.Disk - int64(fs.Bavail)*fs.Bsize
	}
	return u
}

// clusterAPI is the cluster as the native API serves it.
type clusterAPI struct {
	*cluster.Cluster
	engine *cluster.Engine
}

func (c clusterAPI) Holders(ctx context.Context, bucket, key string) ([]string, error) {
	return c.engine.Holders(ctx, bucket, key)
}

// watchCaches keeps the in-memory caches of app records and service
// definitions true to etcd: a write through another node drops the
// cached copy here within the watch's latency. When a watch ends (a lost
// leader, a restart) everything is dropped and the watch starts again,
// since events may have been missed. It runs until ctx is done.
func (n *Node) watchCaches(ctx context.Context) {
	for _, w := range []struct {
		prefix string
		forget func(string)
	}{{"apps/", n.apps.Forget}, {"services/", n.services.Forget}} {
		n.bg.Add(1)
		go func() {
			defer n.bg.Done()
			for ctx.Err() == nil {
				ch := n.kv.Watch(ctx, w.prefix)
				w.forget("")
				for ev := range ch {
					w.forget(ev.Key)
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}()
	}
}
