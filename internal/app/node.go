package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/insitu-cloud/insitu/internal/api"
	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/cluster"
	"github.com/insitu-cloud/insitu/internal/dnsface"
	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/instances"
	"github.com/insitu-cloud/insitu/internal/jobs"
	"github.com/insitu-cloud/insitu/internal/lifecycle"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/s3api"
	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/services"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
	"github.com/insitu-cloud/insitu/internal/ui"
)

// Node is one running insitu server.
type Node struct {
	cfg       Config
	log       *slog.Logger
	kv        meta.Store
	engine    store.Engine
	accounts  *auth.Accounts
	apps      *apps.Registry
	sandbox   *sandbox.Runtime
	runs      *runs.Service
	services  *services.Manager
	jobs      *jobs.Service     // see node_jobs.go
	sweep     *sweeper          // see node_sweep.go
	lifecycle *lifecycle.Runner // see node_lifecycle.go
	metrics   *obs.Metrics
	ln        net.Listener
	readmit   *connQueue // connections back from direct workers; nil when off (node_direct.go)
	srv       *http.Server
	scheme    string
	rootKey   auth.Key
	newRoot   bool

	cluster   *cluster.Cluster // nil when alone (node_cluster.go)
	remote    *computeRemote   // nil when alone (node_compute.go)
	local     store.Engine     // the local engine under a cluster's
	newSecret bool
	loadFn    atomic.Pointer[func() (slots, running, waiting int)]
	dns       *dnsface.Server    // nil unless cfg.DNS (node_dns.go)
	instances *instances.Manager // node_instances.go
	bg        sync.WaitGroup     // the cache watches (node_cluster.go)
	bgCancel  context.CancelFunc // stops them

	closeOnce sync.Once
	closeErr  error
	ready     chan struct{}
}

// maxHeaderBytes bounds a request's line and headers. S3 allows about 8 KB
// of headers; 64 KiB leaves room for long keys, presigned queries and
// copy sources (net/http's default is 1 MiB).
const maxHeaderBytes = 64 << 10

// credentialsFile holds generated root credentials, mode 0600.
const credentialsFile = "root-credentials.json"

// New opens the node's stores and binds its listener; Run serves.
func New(ctx context.Context, cfg Config) (n *Node, err error) {
	if cfg, err = cfg.withDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("app: data dir: %w", err)
	}
	n = &Node{cfg: cfg, log: cfg.Logger, metrics: obs.NewMetrics(), scheme: "http", ready: make(chan struct{})}
	node := n // the named result is nil on the error paths below
	defer func() {
		if err != nil {
			node.Close()
		}
	}()
	if err := n.listen(); err != nil {
		return nil, err
	}
	if err := n.openStores(ctx); err != nil {
		return nil, err
	}
	if err := n.startCompute(ctx); err != nil {
		return nil, err
	}
	if err := n.startInstances(ctx); err != nil {
		return nil, err
	}
	n.srv = n.newServer()
	if err := n.startDNS(ctx); err != nil {
		return nil, err
	}
	n.startSweeper()
	n.startLifecycle()
	if n.cluster != nil {
		n.cluster.StartRepair(n.engine.(*cluster.Engine), cluster.RepairConfig{Every: n.cfg.Cluster.RepairEvery, FullEvery: n.cfg.Cluster.RepairFullEvery})
		var bgctx context.Context
		bgctx, n.bgCancel = context.WithCancel(context.Background())
		n.watchCaches(bgctx)
	}
	return n, nil
}

// withDefaults fills the zero fields of cfg from DefaultConfig and
// refuses settings that do not go together.
func (cfg Config) withDefaults() (Config, error) {
	def := DefaultConfig()
	cfg.DataDir = cmp.Or(cfg.DataDir, def.DataDir)
	cfg.Listen = cmp.Or(cfg.Listen, def.Listen)
	cfg.Region = cmp.Or(cfg.Region, def.Region)
	cfg.Domain = cmp.Or(cfg.Domain, def.Domain)
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = def.BodyTimeout
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = def.ShutdownTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return cfg, errors.New("app: --tls-cert and --tls-key go together")
	}
	if (cfg.RootAccessKey == "") != (cfg.RootSecretKey == "") {
		return cfg, errors.New("app: INSITU_ROOT_ACCESS_KEY and INSITU_ROOT_SECRET_KEY go together")
	}
	return cfg, nil
}

// openStores opens the control-plane store, the object engine, the
// accounts (with the root key) and the app registry.
func (n *Node) openStores(ctx context.Context) (err error) {
	cfg := n.cfg
	if cfg.Cluster.Enabled() {
		if err := n.startCluster(ctx); err != nil {
			return err
		}
		if err := n.openClusterEngine(ctx); err != nil {
			return err
		}
	} else {
		kv, err := meta.OpenLocal(filepath.Join(cfg.DataDir, "control"))
		if err != nil {
			return err
		}
		// Access keys and accounts, read and decoded on every request,
		// from memory kept by the store's own watch (as in a cluster).
		n.kv = cachedKV(kv)
		if n.engine, err = local.Open(ctx, filepath.Join(cfg.DataDir, "store"), cfg.Logger.With("component", "store")); err != nil {
			return err
		}
	}
	n.accounts = auth.NewAccounts(n.kv)
	if err := n.ensureRoot(ctx); err != nil {
		return err
	}
	opts := []apps.Option{apps.WithOwnerIDs(n.accounts.IDOf)}
	if n.cluster != nil {
		opts = append(opts, apps.WithBlobFetcher(n.cluster.FetchBlob))
	}
	if n.apps, err = apps.New(n.kv, filepath.Join(cfg.DataDir, "apps"), opts...); err != nil {
		return err
	}
	if n.cluster != nil {
		n.cluster.SetBlobs(n.apps.LocalModule)
	}
	return nil
}

// startCompute starts the sandbox workers and the runs, jobs and
// services built on them, and pushes the seed apps.
func (n *Node) startCompute(ctx context.Context) (err error) {
	cfg := n.cfg
	for _, d := range []string{"tmp", "cache"} {
		if err := os.MkdirAll(filepath.Join(cfg.DataDir, "sandbox", d), 0o700); err != nil {
			return fmt.Errorf("app: %w", err)
		}
	}
	if n.sandbox, err = sandbox.New(ctx, sandbox.Config{
		Workers:       cfg.SandboxWorkers,
		WorkerCommand: cfg.SandboxWorkerCommand,
		TempDir:       filepath.Join(cfg.DataDir, "sandbox", "tmp"),
		CacheDir:      filepath.Join(cfg.DataDir, "sandbox", "cache"),
		Logger:        cfg.Logger.With("component", "sandbox"),
	}); err != nil {
		return err
	}
	nodeName := "local"
	if n.cluster != nil {
		nodeName = n.cluster.Name()
	}
	rcfg := runs.Config{Node: nodeName, Engine: n.engine, Apps: n.apps, Runtime: n.sandbox, KV: n.kv, AccountCaps: n.accounts.Caps,
		Slots: n.sandbox.Workers(), PerAccountRunning: cfg.RunsPerAccount, PerAccountQueued: cfg.QueuedPerAccount,
		Logger: cfg.Logger.With("component", "runs"), Registerer: n.metrics.Registry,
		ReadGrant: s3api.NewReadAuthorizer(n.engine, n.kv).AuthorizeRead}
	if n.remote = n.newComputeRemote(); n.remote != nil {
		rcfg.Remote = n.remote
	}
	n.runs = runs.New(rcfg)
	if n.remote != nil {
		n.remote.runs = n.runs
	}
	n.serveRemoteRuns()
	load := func() (int, int, int) { r, w := n.runs.Load(); return n.sandbox.Workers(), r, w }
	n.loadFn.Store(&load)
	if n.cluster != nil {
		n.cluster.Beat() // the first heartbeat went out before the slots were known
	}
	if err := n.seedApps(ctx); err != nil {
		return err
	}
	if err := n.startJobs(ctx); err != nil {
		return err
	}
	n.services = services.NewManager(n.kv, n.apps, n.runs, n.engine)
	return n.enableDirect(ctx)
}

// newServer builds the HTTP server of every face.
func (n *Node) newServer() *http.Server {
	cfg := n.cfg
	// Every face signs as service "s3" in the node's region.
	verifier := &sigv4.Verifier{Keys: n.accounts, Region: cfg.Region, Services: []string{"s3"}, Domain: cfg.Domain}
	svc := n.services.Handler(verifier, cfg.Domain, n.metrics.Registry)
	s3 := s3api.New(s3api.Config{Engine: n.engine, Verifier: verifier, Region: cfg.Region, Domain: cfg.Domain, Runner: n.runs,
		BucketDeleted: n.bucketDeleted, KV: n.kv})
	deps := api.Deps{Verifier: verifier, Accounts: n.accounts, Apps: n.apps, Runs: n.runs, Services: n.services, Jobs: n.jobs, Engine: n.engine}
	if n.cluster != nil {
		deps.Cluster = clusterAPI{n.cluster, n.engine.(*cluster.Engine)}
	}
	if n.instances != nil {
		deps.Instances = n.instances
	}
	native := api.New(deps)
	return &http.Server{
		Handler:           n.metrics.Middleware(cfg.Logger, n.peerPaced(s3.VirtualBucket, n.router(s3, native, svc, n.newEC2(), n.newUI(native.RemoveAccount)))),
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
}

// listen binds the node's listener, with TLS when configured.
func (n *Node) listen() (err error) {
	if n.ln, err = net.Listen("tcp", n.cfg.Listen); err != nil {
		return fmt.Errorf("app: listen %s: %w", n.cfg.Listen, err)
	}
	if n.cfg.TLSCert == "" {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(n.cfg.TLSCert, n.cfg.TLSKey)
	if err != nil {
		n.ln.Close() // the server never served it, so Close would not
		return fmt.Errorf("app: TLS key pair: %w", err)
	}
	n.ln = tls.NewListener(n.ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
	n.scheme = "https"
	return nil
}

// ensureRoot makes the root account hold the configured key, or a generated
// one kept in the data directory.
func (n *Node) ensureRoot(ctx context.Context) error {
	key, created, err := n.accounts.EnsureRoot(ctx, n.cfg.RootAccessKey, n.cfg.RootSecretKey)
	if err != nil {
		return fmt.Errorf("app: root account: %w", err)
	}
	n.rootKey, n.newRoot = key, created
	if !created {
		return nil
	}
	b, _ := json.MarshalIndent(map[string]string{"access_key": key.AccessKey, "secret_key": key.Secret}, "", "  ")
	path := filepath.Join(n.cfg.DataDir, credentialsFile)
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("app: write %s: %w", path, err)
	}
	return nil
}

// router sends each request to its face (see DESIGN.md).
func (n *Node) router(s3 *s3api.Handler, native http.Handler, svc *services.Handler, ec2 http.Handler, dash http.Handler) http.Handler {
	ops := http.NewServeMux()
	ops.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		obs.SetOp(r.Context(), "ops", "healthz")
		_, _ = io.WriteString(w, "ok\n")
	})
	ops.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		obs.SetOp(r.Context(), "ops", "readyz")
		select {
		case <-n.ready:
			_, _ = io.WriteString(w, "ready\n")
		default:
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}
	})
	spread := n.spreadServices(svc) // in a cluster: to a node with room
	metrics := promhttp.HandlerFor(n.metrics.Registry, promhttp.HandlerOpts{})
	ops.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		obs.SetOp(r.Context(), "ops", "metrics")
		n.services.SyncDirect(r.Context()) // the direct requests answered so far count
		metrics.ServeHTTP(w, r)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// NAME.svc.DOMAIN (empty script name) always goes to services;
		// /svc/NAME only when the request is not virtual-host S3, where
		// "svc/..." is an object key.
		if _, script, _, ok := svc.Match(r); ok && (script == "" || s3.VirtualBucket(r) == "") {
			spread.ServeHTTP(w, r)
			return
		}
		if s3.VirtualBucket(r) != "" {
			s3.ServeHTTP(w, r)
			return
		}
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/_cluster/") && n.cluster != nil:
			n.cluster.Handler().ServeHTTP(w, r)
		case p == "/healthz" || p == "/readyz" || p == "/metrics":
			ops.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/api/"):
			native.ServeHTTP(w, r)
		case ec2api.Serves(p):
			ec2.ServeHTTP(w, r)
		case ui.Serves(p):
			dash.ServeHTTP(w, r)
		default:
			s3.ServeHTTP(w, r)
		}
	})
}

// RunLoad reports the runs holding a sandbox worker and the runs waiting
// for one.
func (n *Node) RunLoad() (running, waiting int) { return n.runs.Load() }

// Addr returns the address the node listens on.
func (n *Node) Addr() string { return n.ln.Addr().String() }

// Endpoint returns the node's base URL.
func (n *Node) Endpoint() string { return n.scheme + "://" + n.Addr() }

// RootKey returns the root account's key (for tests and the first-start
// banner).
func (n *Node) RootKey() (accessKey, secret string) { return n.rootKey.AccessKey, n.rootKey.Secret }

// Run serves until ctx is done, then shuts down gracefully: it stops
// accepting, drains in-flight requests for up to ShutdownTimeout, and
// closes the stores. It returns nil after a clean shutdown.
func (n *Node) Run(ctx context.Context) error {
	// The banners come before the listener answers, so whoever sees the
	// node ready has already been shown the generated keys.
	n.printBanners()
	errc := make(chan error, 2)
	go func() { errc <- n.srv.Serve(n.ln) }()
	if n.readmit != nil {
		go func() { errc <- n.srv.Serve(n.readmit) }()
	}
	close(n.ready)
	n.log.Info("insitu serving", "endpoint", n.Endpoint(), "data", n.cfg.DataDir, "region", n.cfg.Region)
	select {
	case err := <-errc:
		n.Close()
		return err
	case <-ctx.Done():
	}
	n.log.Info("shutting down")
	start := time.Now()
	err := n.Close()
	n.log.Info("stopped", "took", time.Since(start), "err", err)
	return err
}

// printBanners shows, once, the secrets this start generated.
func (n *Node) printBanners() {
	if n.newSecret {
		n.log.Info("generated the cluster secret (shown once; kept in the data directory, mode 0600): give it to joining nodes as INSITU_CLUSTER_SECRET",
			"secret", n.cfg.Cluster.Secret, "file", filepath.Join(n.cfg.DataDir, cluster.SecretFile))
	}
	if n.newRoot {
		n.log.Info("generated root credentials (shown once; kept in the data directory, mode 0600)",
			"access_key", n.rootKey.AccessKey, "secret_key", n.rootKey.Secret,
			"file", filepath.Join(n.cfg.DataDir, credentialsFile))
	}
}

// Abort cuts every connection at once, as a crashed node looks to its
// peers (in-flight requests end mid-answer), then closes the node. For
// tests of node loss.
func (n *Node) Abort() error {
	if n.srv != nil {
		n.srv.Close()
	}
	return n.Close()
}

// Close stops the server and closes the stores; it is idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		n.stopSweeper()
		if n.lifecycle != nil {
			n.lifecycle.Close()
		}
		if n.dns != nil {
			n.dns.Close()
		}
		n.closeJobs()
		if n.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
			if err := n.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				// Past the drain timeout: cut what is left (including
				// connections that never sent a request) rather than
				// leave them to a closed store.
				n.log.Warn("shutdown drain timed out; closing connections", "err", err)
				n.srv.Close()
			}
			cancel()
		} else if n.ln != nil {
			n.ln.Close()
		}
		n.closeInstances() // the machines keep running
		if n.services != nil {
			n.services.Close() // direct workers stop; their records are stored
		}
		if n.runs != nil {
			// Detached runs finish (or are cancelled at the drain
			// timeout) and write their records while the stores are open.
			ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
			n.runs.Close(ctx)
			cancel()
		}
		if n.sandbox != nil {
			errs = append(errs, n.sandbox.Close())
		}
		if n.engine != nil {
			errs = append(errs, n.engine.Close())
		}
		if n.bgCancel != nil {
			n.bgCancel()
			n.bg.Wait()
		}
		if n.kv != nil {
			errs = append(errs, n.kv.Close()) // in a cluster: its watches, before etcd goes
		}
		if n.cluster != nil {
			n.cluster.Close() // stops repair and heartbeats before the local engine goes
		}
		if n.local != nil {
			errs = append(errs, n.local.Close())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}
