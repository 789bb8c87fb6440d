package app

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"

	"github.com/insitu-cloud/insitu/internal/cluster"
	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/images"
	"github.com/insitu-cloud/insitu/internal/instances"
)

// InstancesConfig configures the instance lifecycle (EC2 instances).
type InstancesConfig struct {
	// Accel is auto, kvm or tcg (--instance-accel). Default auto: KVM only
	// where a probe boot succeeds, else TCG.
	Accel string
	// Net is the instance address pool, a CIDR (--instance-net). Default
	// 127.100.0.0/16.
	Net string
	// MemoryMiB is the memory a lone node gives instances. Default: the
	// machine's RAM.
	MemoryMiB int
	// AccountVCPUs bounds one account's vCPUs in instances that are not
	// stopped (--instance-account-vcpus). Default
	// instances.DefaultAccountVCPUs.
	AccountVCPUs int
	// TCGVCPUs caps a guest's vCPUs under TCG (--instance-tcg-vcpus;
	// instances.Config.TCGVCPUs). Default 0: the type's.
	TCGVCPUs int
	// Hypervisor replaces package vm (tests). Default: package vm.
	Hypervisor instances.Hypervisor
	// Images replaces the image registry and cache (tests). Default: the
	// EC2 face's images, cached under DataDir/images.
	Images instances.Images
}

// startInstances creates the instance lifecycle, adopts the machines
// that outlived the last process and starts its loops. It must run
// before the node serves (it registers an internal endpoint).
func (n *Node) startInstances(ctx context.Context) error {
	ic := n.cfg.Instances
	accel, err := instances.Probe(ctx, ic.Accel, n.log.With("component", "vm"))
	if err != nil {
		return err
	}
	face := n.ec2State()
	cfg := instances.Config{KV: n.kv, Face: face, Images: ic.Images, Hypervisor: ic.Hypervisor, Accel: accel,
		DataDir: n.cfg.DataDir, Node: "local", MemoryMiB: ic.MemoryMiB, AccountVCPUs: ic.AccountVCPUs, TCGVCPUs: ic.TCGVCPUs, Zone: n.cfg.Region + "a", Zones: n.zones,
		Logger: n.log.With("component", "instances")}
	if ic.Net != "" {
		if cfg.Net, err = netip.ParsePrefix(ic.Net); err != nil {
			return fmt.Errorf("app: --instance-net: %w", err)
		}
	}
	if cfg.Images == nil {
		cfg.Images = faceImages{face, images.New(filepath.Join(n.cfg.DataDir, "images"), n.engine, n.log.With("component", "images"))}
	}
	if n.cluster != nil {
		cfg.Node, cfg.Zone, cfg.Cluster = n.cluster.Name(), n.cfg.Cluster.Zone, instancePeers{n.cluster}
	}
	if n.instances, err = instances.New(cfg); err != nil {
		return err
	}
	if n.cluster != nil {
		n.cluster.Handle("POST "+instances.RemotePath+"{op}", http.HandlerFunc(n.instances.ServeRemote))
	}
	if err := n.instances.Start(ctx); err != nil {
		return fmt.Errorf("app: instances: %w", err)
	}
	n.log.Info("instances ready", "accel", accel, "net", cfg.Net, "dir", filepath.Join(n.cfg.DataDir, "instances"))
	return nil
}

// ec2State is the EC2 face's state as the lifecycle reads it: a Handler
// over the same store (its accessors keep no state of their own).
func (n *Node) ec2State() *ec2api.Handler {
	return ec2api.New(ec2api.Config{KV: n.kv, Region: n.cfg.Region, Zones: n.zones, Logger: n.log.With("component", "ec2api")})
}

// ec2Instances is the lifecycle as the EC2 face sees it (nil: none).
func (n *Node) ec2Instances() ec2api.Instances {
	if n.instances == nil {
		return nil
	}
	return n.instances
}

// closeInstances stops the lifecycle's loops; the machines keep running.
func (n *Node) closeInstances() {
	if n.instances != nil {
		_ = n.instances.Close()
	}
}

// faceImages is the image registry (the EC2 face's Image) and this
// node's image cache.
type faceImages struct {
	face  *ec2api.Handler
	cache *images.Cache
}

func (f faceImages) Check(ctx context.Context, account, id string) error {
	_, err := f.face.Image(ctx, account, id)
	return err
}

func (f faceImages) Fetch(ctx context.Context, account, id string) (instances.Files, error) {
	img, err := f.face.Image(ctx, account, id)
	if err != nil {
		return instances.Files{}, err
	}
	files, err := f.cache.Fetch(ctx, img)
	return instances.Files(files), err
}

// instancePeers is the cluster as placement sees it.
type instancePeers struct{ c *cluster.Cluster }

func (p instancePeers) Peers() []instances.Peer {
	var out []instances.Peer
	for _, s := range p.c.Nodes() {
		out = append(out, instances.Peer{Name: s.Name, Zone: s.Zone, Up: s.State == cluster.StateUp,
			Down: s.State == cluster.StateDown, MemoryMiB: int(s.Usage.Memory >> 20)})
	}
	return out
}

func (p instancePeers) Call(ctx context.Context, node, method, path string, in, out any) error {
	return p.c.Call(ctx, node, method, path, in, out)
}
