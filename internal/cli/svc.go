package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/insitu-cloud/insitu/internal/client"
)

// newSvcCmd builds the "svc" group: HTTP services with a fresh sandbox per
// request.
func newSvcCmd(g *globals) *cobra.Command {
	svc := &cobra.Command{
		Use:   "svc",
		Short: "HTTP services: every request runs an app in a fresh sandbox",
		Long: `A service binds an app to /svc/NAME/... and NAME.svc.DOMAIN on the node's
listener. Each request starts a new instance that speaks CGI (request
meta-variables in the environment, body on stdin, CGI response on stdout)
and is thrown away after. Private services answer only their owner's
SigV4-signed requests; --public ones answer anyone.`,
	}
	svc.AddCommand(newSvcCreateCmd(g, false), newSvcCreateCmd(g, true), newSvcLsCmd(g), newSvcShowCmd(g), newSvcRmCmd(g), newSvcStatsCmd(g))
	return svc
}

// svcFlags are the settings shared by create and update.
type svcFlags struct {
	app, timeout, memory string
	envs, ins            []string
	out                  string
	maxConc              int
	public, private      bool
}

func (f *svcFlags) add(cmd *cobra.Command, update bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.app, "app", "", "app to serve, [OWNER/]NAME[:VERSION] (pinned to a version now)")
	fl.StringArrayVar(&f.envs, "env", nil, "environment variable K=V (repeatable; replaces the set on update)")
	fl.StringVar(&f.timeout, "timeout", "", "per-request time limit (default 10s)")
	fl.StringVar(&f.memory, "memory", "", "per-request memory limit (default 64MiB)")
	fl.IntVar(&f.maxConc, "max-concurrency", 0, "requests served at once before 503 (default 64)")
	fl.BoolVar(&f.public, "public", false, "answer anonymous requests")
	if update {
		fl.BoolVar(&f.private, "private", false, "require the owner's credentials again")
	}
	fl.StringArrayVar(&f.ins, "in", nil, "mount objects read-only: s3://B/PREFIX[:/in/PATH] (repeatable)")
	fl.StringVar(&f.out, "out", "", "store files a request writes in /out as objects under s3://B/PREFIX/")
}

func (f *svcFlags) spec(cmd *cobra.Command) (client.ServiceSpec, error) {
	spec := client.ServiceSpec{App: f.app, Timeout: f.timeout, Memory: f.memory, MaxConcurrency: f.maxConc}
	if cmd.Flags().Changed("public") || f.private {
		pub := f.public && !f.private
		spec.Public = &pub
	}
	if len(f.envs) > 0 {
		spec.Env = map[string]string{}
		for _, e := range f.envs {
			k, v, ok := strings.Cut(e, "=")
			if !ok || k == "" {
				return spec, usageError{cmd.CommandPath(), fmt.Errorf("--env %q: want K=V", e)}
			}
			spec.Env[k] = v
		}
	}
	for _, in := range f.ins {
		u, p := in, ""
		if i := strings.LastIndex(in, ":/in"); i > 0 {
			u, p = in[:i], strings.TrimPrefix(in[i+1:], "/in")
		}
		loc, err := parseS3(u)
		if err != nil {
			return spec, usageError{cmd.CommandPath(), fmt.Errorf("--in %q: %v", in, err)}
		}
		spec.Mounts = append(spec.Mounts, client.ServiceMount{Bucket: loc.bucket, Prefix: loc.key, Path: strings.Trim(p, "/")})
	}
	if f.out != "" {
		loc, err := parseS3(f.out)
		if err != nil {
			return spec, usageError{cmd.CommandPath(), fmt.Errorf("--out %q: %v", f.out, err)}
		}
		spec.Out = &client.ServiceMount{Bucket: loc.bucket, Prefix: loc.key}
	}
	return spec, nil
}

func newSvcCreateCmd(g *globals, update bool) *cobra.Command {
	var f svcFlags
	use, short := "create NAME --app APP", "Create a service"
	if update {
		use, short = "update NAME", "Change a service; requests in flight finish on the old definition"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := f.spec(cmd)
			if err != nil {
				return err
			}
			if !update && spec.App == "" {
				return usageError{cmd.CommandPath(), fmt.Errorf("--app is required")}
			}
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			var s *client.Service
			if update {
				s, err = c.UpdateService(cmd.Context(), args[0], spec)
			} else {
				s, err = c.CreateService(cmd.Context(), args[0], spec)
			}
			if err != nil {
				return fmt.Errorf("svc %s %s: %w", cmd.Name(), args[0], err)
			}
			_, err = fmt.Fprintf(g.streams.Out, "%s -> %s, serving /svc/%s/ and %s.svc.DOMAIN\n", s.Name, s.App, s.Name, s.Name)
			return err
		},
	}
	f.add(cmd, update)
	return cmd
}

func newSvcLsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List your services",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			list, err := c.ListServices(cmd.Context())
			if err != nil {
				return fmt.Errorf("svc ls: %w", err)
			}
			return printList(g.streams.Out, asJSON, "services", list, "NAME\tAPP\tPUBLIC\tTIMEOUT\tMAX-CONCURRENCY", func(s client.Service) string {
				return fmt.Sprintf("%s\t%s\t%v\t%s\t%d", s.Name, s.App, s.Public, s.Timeout, s.MaxConcurrency)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newSvcShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a service as JSON",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			s, err := c.GetService(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("svc show %s: %w", args[0], err)
			}
			return printJSON(g.streams.Out, s)
		},
	}
}

func newSvcRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME...",
		Short: "Remove services",
		Args:  rangeArgs(1, -1, "NAME..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			for _, n := range args {
				if err := c.RemoveService(cmd.Context(), n); err != nil {
					return fmt.Errorf("svc rm %s: %w", n, err)
				}
			}
			return nil
		},
	}
}

func newSvcStatsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats NAME",
		Short: "Requests, status codes and latency of a service on this node",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			st, err := c.ServiceStats(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("svc stats %s: %w", args[0], err)
			}
			if asJSON {
				return printJSON(g.streams.Out, st)
			}
			codes := make([]string, 0, len(st.ByStatus))
			for code := range st.ByStatus {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			fmt.Fprintf(g.streams.Out, "service:   %s\nrequests:  %d (in flight %d)\n", st.Name, st.Requests, st.InFlight)
			for _, code := range codes {
				fmt.Fprintf(g.streams.Out, "  %s: %d\n", code, st.ByStatus[code])
			}
			fmt.Fprintf(g.streams.Out, "latency:   p50 %.3fms  p90 %.3fms  p99 %.3fms\n", st.LatencyMS["p50"], st.LatencyMS["p90"], st.LatencyMS["p99"])
			_, err = fmt.Fprintf(g.streams.Out, "instance:  p50 %.3fms  p90 %.3fms  p99 %.3fms\n", st.RunMS["p50"], st.RunMS["p90"], st.RunMS["p99"])
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
