package app

import (
	"log/slog"
	"time"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/ui"
)

// Config is everything a node needs to start. The zero value is not usable;
// start from DefaultConfig.
type Config struct {
	// DataDir holds object data, metadata and generated credentials.
	// Default "./insitu-data".
	DataDir string
	// Listen is the HOST:PORT of the single HTTP listener. Default
	// "127.0.0.1:8773"; port 0 picks a free port (see Node.Addr).
	Listen string
	// Region is the S3/EC2 region this node answers as, and the only one
	// a request's credential scope may name. Default sigv4.DefaultRegion
	// ("us-east-1").
	Region string
	// Domain enables virtual-host style: BUCKET.Domain. Default "localhost".
	Domain string
	// TLSCert and TLSKey, when both set, serve HTTPS instead of HTTP.
	TLSCert, TLSKey string
	// RootAccessKey and RootSecretKey set the root account's key. When
	// empty, a key is generated on first start and kept (mode 0600) in
	// DataDir/root-credentials.json.
	RootAccessKey, RootSecretKey string
	// SandboxWorkers is the number of sandbox worker processes (runs that
	// execute at once). Default: the number of CPUs.
	SandboxWorkers int
	// RunsPerAccount caps the sandbox workers one account's runs hold at
	// once. Default: all of them (fairness applies as soon as another
	// account waits: it gets the next free worker).
	RunsPerAccount int
	// ServicesDirect is how many direct service workers may run at once
	// (at most one per CPU for a service, half of them for one account):
	// plain-HTTP keep-alive connections to a public service are handed to
	// a worker of that service, which answers them without the server
	// (DESIGN.md, "Services: direct connections"). 0 means two per CPU;
	// a negative value turns them off. A cluster node never uses them.
	ServicesDirect int
	// ServicesDirectIdle is how long a direct worker may hold no
	// connection before it stops. Default 30 s.
	ServicesDirectIdle time.Duration
	// QueuedPerAccount caps one account's runs waiting for a worker;
	// past it runs are refused with 503 SlowDown. Default 64.
	QueuedPerAccount int
	// SandboxWorkerCommand starts a sandbox worker process. Default: this
	// executable with the hidden "sandbox-worker" command.
	SandboxWorkerCommand []string
	// SeedApps is a directory of apps pushed for the root account at start
	// (each subdirectory holding NAME.wasm and an optional app.json), so a
	// fresh node has the examples ready. Empty: none.
	SeedApps string
	// BodyTimeout is how long a client may take to send, or to take, each
	// 64 KiB of a body (or its rest, when less is left) before the request
	// is cut and the connection closed, on every face. Default 30s.
	BodyTimeout time.Duration
	// UI tunes the dashboard's sessions (internal/ui; zero: 12 h idle,
	// 24 h absolute).
	UI ui.Options
	// RecordRetention is how long run records and finished jobs are kept
	// before the node's sweeper deletes them. Default 30 days
	// (DefaultConfig); 0 keeps them whatever their age.
	RecordRetention time.Duration
	// MaxRecordsPerAccount caps each account's run records and, separately,
	// its finished jobs; the sweeper deletes the oldest beyond it. Default
	// 10,000 (DefaultConfig); 0 sets no cap.
	MaxRecordsPerAccount int
	// SweepInterval is how often the sweeper prunes (it also sweeps once at
	// start). Default 1h.
	SweepInterval time.Duration
	// LifecycleInterval is the time between passes of the buckets'
	// lifecycle rules (the first starts a minute after the node). Default
	// 1h.
	LifecycleInterval time.Duration
	// Clock returns the time the sweeper and the lifecycle rules measure
	// ages against. Default time.Now.
	Clock func() time.Time
	// Cluster, when Enabled, makes this node a member of a cluster (see
	// ClusterConfig); off, the node is alone and keeps its control plane
	// in its own Pebble store.
	Cluster ClusterConfig
	// DNS is the HOST:PORT of the discovery DNS face (UDP and TCP); empty
	// (the default) leaves it off.
	DNS string
	// DNSDomain is the DNS face's zone. Default "insitu.".
	DNSDomain string
	// Instances configures the EC2 instances (virtual machines).
	Instances InstancesConfig
	// ShutdownTimeout bounds the graceful drain on Close. Default 10s.
	ShutdownTimeout time.Duration
	// Logger receives structured logs. Default: slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the embedded defaults: a single node serving on
// loopback from ./insitu-data.
func DefaultConfig() Config {
	return Config{
		DataDir:         "./insitu-data",
		Listen:          "127.0.0.1:8773",
		Region:          sigv4.DefaultRegion,
		Domain:          "localhost",
		BodyTimeout:     obs.DefaultBodyWindow,
		ShutdownTimeout: 10 * time.Second,

		RecordRetention:      30 * 24 * time.Hour,
		MaxRecordsPerAccount: 10000,
		SweepInterval:        time.Hour,
		LifecycleInterval:    time.Hour,
	}
}

// ClusterConfig places a node in a cluster (DESIGN.md, Cluster).
type ClusterConfig struct {
	// Zone is the node's failure domain; setting it (or Join or Etcd)
	// turns cluster mode on.
	Zone string
	// Join is the base URL of any member; empty starts a new cluster.
	Join string
	// Etcd lists the client URLs of an existing etcd cluster; empty runs
	// an embedded member (the first MaxVoters nodes) or a client.
	Etcd []string
	// Name is the node's unique name. Default: kept from the first start,
	// else HOSTNAME-PORT.
	Name string
	// Advertise is the HOST:PORT other nodes reach this one at. Default:
	// the bound listen address.
	Advertise string
	// Replicas is the copies of each object (default 3, never more than
	// the live nodes); the first node's value is the cluster's.
	Replicas int
	// Secret authenticates node-to-node calls. Default: generated by the
	// first node and kept in DataDir/cluster-secret (mode 0600); other
	// nodes must be given it (INSITU_CLUSTER_SECRET).
	Secret string
	// RepairEvery is the wait before the next repair pass while the last
	// one left work. Default 10s.
	RepairEvery time.Duration
	// RepairFullEvery is the longest wait between repair passes when no
	// event asks for one (cluster.RepairConfig.FullEvery). Default 10m.
	RepairFullEvery time.Duration
}

// Enabled reports whether the node runs as a cluster member.
func (c ClusterConfig) Enabled() bool { return c.Zone != "" || c.Join != "" || len(c.Etcd) > 0 }
