package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/instances"
)

// serverEnv maps each "server" flag to the environment variable read when
// the flag is not given (flag > environment > default).
func serverEnv() [][2]string {
	return [][2]string{
		{"data", "INSITU_DATA"},
		{"listen", "INSITU_LISTEN"},
		{"region", "INSITU_REGION"},
		{"domain", "INSITU_DOMAIN"},
		{"tls-cert", "INSITU_TLS_CERT"},
		{"tls-key", "INSITU_TLS_KEY"},
		{"log-level", "INSITU_LOG_LEVEL"},
		{"log-format", "INSITU_LOG_FORMAT"},
		{"seed-apps", "INSITU_SEED_APPS"},
		{"sandbox-workers", "INSITU_SANDBOX_WORKERS"},
		{"record-retention", "INSITU_RECORD_RETENTION"},
		{"body-timeout", "INSITU_BODY_TIMEOUT"},
		{"max-records", "INSITU_MAX_RECORDS"},
		{"lifecycle-interval", "INSITU_LIFECYCLE_INTERVAL"},
		{"runs-per-account", "INSITU_RUNS_PER_ACCOUNT"},
		{"queued-per-account", "INSITU_QUEUED_PER_ACCOUNT"},
		{"services-direct", "INSITU_SERVICES_DIRECT"},
		{"zone", "INSITU_ZONE"},
		{"instance-accel", "INSITU_INSTANCE_ACCEL"},
		{"instance-net", "INSITU_INSTANCE_NET"},
		{"instance-account-vcpus", "INSITU_INSTANCE_ACCOUNT_VCPUS"},
		{"instance-tcg-vcpus", "INSITU_INSTANCE_TCG_VCPUS"},
		{"join", "INSITU_JOIN"},
		{"etcd", "INSITU_ETCD"},
		{"name", "INSITU_NODE_NAME"},
		{"advertise", "INSITU_ADVERTISE"},
		{"replicas", "INSITU_REPLICAS"},
		{"dns", "INSITU_DNS"},
		{"dns-domain", "INSITU_DNS_DOMAIN"},
	}
}

// newServerCmd builds "server": run a node in the foreground until the
// command's context is cancelled (SIGINT/SIGTERM in the binary).
func newServerCmd(g *globals) *cobra.Command {
	cfg := app.DefaultConfig()
	var logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run an insitu node",
		Long: `Run an insitu node: the S3 API, the native API and operations endpoints on
one listener. Each flag also reads an environment variable (shown in
brackets); a flag wins over the environment. The root account's keys come
from INSITU_ROOT_ACCESS_KEY and INSITU_ROOT_SECRET_KEY, or are generated at
first start, kept in the data directory and printed once.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd.Flags(), serverEnv(), g.env); err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			logger, err := newLogger(g.streams.Err, logLevel, logFormat)
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			cfg.Logger = logger
			ak, _ := g.env("INSITU_ROOT_ACCESS_KEY")
			sk, _ := g.env("INSITU_ROOT_SECRET_KEY")
			if (ak == "") != (sk == "") {
				return errors.New("server: set both INSITU_ROOT_ACCESS_KEY and INSITU_ROOT_SECRET_KEY, or neither")
			}
			cfg.RootAccessKey, cfg.RootSecretKey = ak, sk
			cfg.Cluster.Secret, _ = g.env("INSITU_CLUSTER_SECRET")
			if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
				return usageError{cmd.CommandPath(), errors.New("--tls-cert and --tls-key go together")}
			}
			node, err := app.New(cmd.Context(), cfg)
			if err != nil {
				return fmt.Errorf("server: %w", err)
			}
			err = node.Run(cmd.Context())
			if cerr := node.Close(); err == nil && cerr != nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("server: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data `directory` [INSITU_DATA]")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "`host:port` to serve on (port 0 picks one) [INSITU_LISTEN]")
	f.StringVar(&cfg.Region, "region", cfg.Region, "region to answer as [INSITU_REGION]")
	f.StringVar(&cfg.Domain, "domain", cfg.Domain, "domain for virtual-host style BUCKET.DOMAIN [INSITU_DOMAIN]")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate `file`; with --tls-key, serve HTTPS [INSITU_TLS_CERT]")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key `file` [INSITU_TLS_KEY]")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error [INSITU_LOG_LEVEL]")
	f.StringVar(&logFormat, "log-format", "text", "text or json [INSITU_LOG_FORMAT]")
	f.StringVar(&cfg.SeedApps, "seed-apps", "", "push the apps in this `directory` (one subdirectory per app) as public root apps at start [INSITU_SEED_APPS]")
	f.IntVar(&cfg.SandboxWorkers, "sandbox-workers", 0, "sandbox worker processes, the runs executing at once (default: CPUs) [INSITU_SANDBOX_WORKERS]")
	f.DurationVar(&cfg.BodyTimeout, "body-timeout", cfg.BodyTimeout, "how long each 64 KiB of a request or response body may take to move before the request is cut [INSITU_BODY_TIMEOUT]")
	f.DurationVar(&cfg.RecordRetention, "record-retention", cfg.RecordRetention, "delete run records and finished jobs older than this; 0 keeps them [INSITU_RECORD_RETENTION]")
	f.IntVar(&cfg.MaxRecordsPerAccount, "max-records", cfg.MaxRecordsPerAccount, "keep at most this many run records (and finished jobs) per account; 0: no cap [INSITU_MAX_RECORDS]")
	f.DurationVar(&cfg.LifecycleInterval, "lifecycle-interval", cfg.LifecycleInterval, "time between passes applying buckets' lifecycle rules [INSITU_LIFECYCLE_INTERVAL]")
	f.IntVar(&cfg.RunsPerAccount, "runs-per-account", 0, "sandbox workers one account may hold at once (default: all; workers are shared fairly) [INSITU_RUNS_PER_ACCOUNT]")
	f.IntVar(&cfg.ServicesDirect, "services-direct", 0, "direct service workers at once: plain-HTTP keep-alive connections to a public service are answered by a worker of that service without the server; 0: two per CPU, -1: off [INSITU_SERVICES_DIRECT]")
	f.IntVar(&cfg.QueuedPerAccount, "queued-per-account", 0, "runs one account may have waiting for a worker before 503 SlowDown (default 64) [INSITU_QUEUED_PER_ACCOUNT]")
	f.StringVar(&cfg.Cluster.Zone, "zone", "", "this node's zone (failure domain); turns cluster mode on [INSITU_ZONE]")
	f.StringVar(&cfg.Cluster.Join, "join", "", "join the cluster of the node at this `URL` (cluster secret from INSITU_CLUSTER_SECRET) [INSITU_JOIN]")
	f.StringSliceVar(&cfg.Cluster.Etcd, "etcd", nil, "use this existing etcd cluster (client `URLs`) instead of the embedded one [INSITU_ETCD]")
	f.StringVar(&cfg.Cluster.Name, "name", "", "node name, unique in the cluster (default: kept from the first start, else HOSTNAME-PORT) [INSITU_NODE_NAME]")
	f.StringVar(&cfg.Cluster.Advertise, "advertise", "", "`host:port` other nodes reach this one at (default: the listen address) [INSITU_ADVERTISE]")
	f.IntVar(&cfg.Cluster.Replicas, "replicas", 0, "copies of each object, in distinct zones first (default 3; the first node's value is the cluster's) [INSITU_REPLICAS]")
	f.StringVar(&cfg.DNS, "dns", "", "serve the discovery DNS face (A/SRV for nodes, NAME.svc.DOMAIN, ZONE.zone.DOMAIN) on this `host:port`, UDP and TCP; off by default [INSITU_DNS]")
	f.StringVar(&cfg.DNSDomain, "dns-domain", "insitu.", "the DNS face's zone [INSITU_DNS_DOMAIN]")
	f.StringVar(&cfg.Instances.Accel, "instance-accel", "auto", "instance accelerator: auto (KVM only where a probe boot succeeds, else TCG), kvm or tcg [INSITU_INSTANCE_ACCEL]")
	f.IntVar(&cfg.Instances.AccountVCPUs, "instance-account-vcpus", instances.DefaultAccountVCPUs, "the most vCPUs one account's instances that are not stopped may have (EC2's vCPU limit) [INSITU_INSTANCE_ACCOUNT_VCPUS]")
	f.IntVar(&cfg.Instances.TCGVCPUs, "instance-tcg-vcpus", 1, "under TCG (software emulation), the most vCPUs a guest gets; the API still reports the type's (0: the type's) [INSITU_INSTANCE_TCG_VCPUS]")
	f.StringVar(&cfg.Instances.Net, "instance-net", "127.100.0.0/16", "the `CIDR` instance addresses come from (their forwarded ports listen there) [INSITU_INSTANCE_NET]")
	f.DurationVar(&cfg.Cluster.RepairEvery, "repair-every", 0, "wait between repair passes while there is work left (default 10s; for tests)")
	_ = f.MarkHidden("repair-every")
	f.DurationVar(&cfg.Cluster.RepairFullEvery, "repair-full-every", 0, "longest wait between repair passes when nothing asks for one (default 10m; for tests)")
	_ = f.MarkHidden("repair-full-every")
	return cmd
}

// applyEnv sets each flag of table that was not given on the command line
// from its environment variable, if set.
func applyEnv(fs *pflag.FlagSet, table [][2]string, env func(string) (string, bool)) error {
	for _, fe := range table {
		if fs.Changed(fe[0]) {
			continue
		}
		if v, ok := env(fe[1]); ok {
			if err := fs.Set(fe[0], v); err != nil {
				return fmt.Errorf("%s=%q: %w", fe[1], v, err)
			}
		}
	}
	return nil
}

// newLogger returns a slog logger writing to w at level ("debug", "info",
// "warn", "error") in format ("text" or "json").
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
