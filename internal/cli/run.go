package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

func newRunCmd(g *globals) *cobra.Command {
	var (
		spec          client.RunSpec
		ins, envs     []string
		timeout, mem  string
		detach, quiet bool
	)
	cmd := &cobra.Command{
		Use:   "run APP [flags] [-- ARGS...]",
		Short: "Run an app in a fresh sandbox, next to its data",
		Long: `Run APP ([OWNER/]NAME[:VERSION]) once. The guest's stdout streams to this
terminal and its stderr to stderr; the exit status is the guest's, or 1 with
the reason when the run was stopped (timeout, memory, quota) or failed.

  insitu run wc --stdin s3://logs/today.log
  insitu run grep --in s3://logs/a.log:/in/a.log -- -c ERROR /in/a.log
  insitu run thumbnail --stdin s3://img/cat.png --stdout s3://img/thumbs/cat.png

--detach prints the run id instead of waiting; see "insitu runs show ID".`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return usageError{cmd.CommandPath(), fmt.Errorf("expected APP [-- ARGS...]")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			spec.App, spec.Args = args[0], args[1:]
			if cmd.ArgsLenAtDash() < 0 && len(args) > 1 {
				return usageError{cmd.CommandPath(), fmt.Errorf("put the app's arguments after --")}
			}
			for _, in := range ins {
				obj, p := in, ""
				// s3://B/K:/in/PATH: the mount path follows the last ":/in/".
				if i := strings.LastIndex(in, ":/in/"); i > 0 {
					obj, p = in[:i], in[i+1:]
				}
				spec.Inputs = append(spec.Inputs, client.RunInput{Object: obj, Path: p})
			}
			spec.Env = map[string]string{}
			for _, e := range envs {
				k, v, ok := strings.Cut(e, "=")
				if !ok || k == "" {
					return usageError{cmd.CommandPath(), fmt.Errorf("--env %q: want K=V", e)}
				}
				spec.Env[k] = v
			}
			spec.Limits = map[string]string{}
			if timeout != "" {
				if _, err := time.ParseDuration(timeout); err != nil {
					return usageError{cmd.CommandPath(), fmt.Errorf("--timeout %q: %v", timeout, err)}
				}
				spec.Limits["timeout"] = timeout
			}
			if mem != "" {
				spec.Limits["memory"] = mem
			}
			if spec.Stdin == "-" {
				b, err := io.ReadAll(io.LimitReader(g.streams.In, 1<<20+1))
				if err != nil {
					return err
				}
				if len(b) > 1<<20 {
					return fmt.Errorf("run: local stdin over 1 MiB; upload it and use --stdin s3://BUCKET/KEY")
				}
				spec.Stdin, spec.StdinData = "", string(b)
			}
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			if detach {
				id, err := c.StartRun(cmd.Context(), spec)
				if err != nil {
					return fmt.Errorf("run %s: %w", spec.App, err)
				}
				_, err = fmt.Fprintln(g.streams.Out, id)
				return err
			}
			rec, err := c.Run(cmd.Context(), spec, g.streams.Out, g.streams.Err)
			if err != nil {
				return fmt.Errorf("run %s: %w", spec.App, err)
			}
			switch {
			case rec.Status == string(sandbox.StatusExited) && rec.ExitCode == 0:
				return nil
			case rec.Status == string(sandbox.StatusExited):
				if quiet {
					return exitError{code: rec.ExitCode}
				}
				return exitError{code: rec.ExitCode, msg: fmt.Sprintf("run %s: %s exited %d", rec.ID, rec.App, rec.ExitCode)}
			default:
				return exitError{code: ExitError, msg: fmt.Sprintf("run %s: %s stopped: %s: %s", rec.ID, rec.App, rec.Status, rec.Error)}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.Stdin, "stdin", "", "stdin from an object (s3://B/K), or - for this process's stdin (up to 1 MiB)")
	f.StringVar(&spec.Stdout, "stdout", "", "write stdout to an object (s3://B/K) instead of this terminal")
	f.StringVar(&spec.Stderr, "stderr", "", "write stderr to an object (s3://B/K)")
	f.StringArrayVar(&ins, "in", nil, "mount an object read-only: s3://B/K[:/in/PATH] (repeatable)")
	f.StringVar(&spec.Out, "out", "", "store the files the app writes in /out under this prefix (s3://B/PREFIX/)")
	f.StringVar(&timeout, "timeout", "", "wall-clock limit, e.g. 30s")
	f.StringVar(&mem, "memory", "", "memory limit, e.g. 128MiB")
	f.StringArrayVar(&envs, "env", nil, "environment variable K=V (repeatable)")
	f.BoolVar(&spec.Deterministic, "deterministic", false, "fixed clock and seeded randomness, so the run replays")
	f.Int64Var(&spec.Seed, "seed", 0, "random seed for --deterministic")
	f.BoolVar(&detach, "detach", false, "start the run and print its id")
	f.BoolVar(&quiet, "quiet", false, "do not report a non-zero guest exit on stderr")
	return cmd
}

func newRunsCmd(g *globals) *cobra.Command {
	runs := &cobra.Command{Use: "runs", Short: "List and show run records"}
	var limit int
	var after string
	var asJSON bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List your latest runs, newest first",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			list, next, err := c.ListRunsPage(cmd.Context(), limit, after)
			if err != nil {
				return fmt.Errorf("runs ls: %w", err)
			}
			return printPage(g.streams.Out, g.streams.Err, asJSON, "runs", list, next, "ID\tAPP\tKIND\tSTATUS\tEXIT\tWALL\tSTART", func(r client.RunRecord) string {
				return fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%.3fms\t%s", r.ID, r.App, r.Kind, r.Status, r.ExitCode, r.WallMS, r.Start.Format(time.RFC3339))
			})
		},
	}
	ls.Flags().IntVar(&limit, "limit", 50, "how many runs (the server caps a page at 1000)")
	ls.Flags().StringVar(&after, "after", "", "continue after this token (printed as \"more: --after TOKEN\")")
	ls.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one run's record as JSON",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			rec, err := c.GetRun(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("runs show %s: %w", args[0], err)
			}
			return printJSON(g.streams.Out, rec)
		},
	}
	runs.AddCommand(ls, show)
	return runs
}

func newBucketCmd(g *globals) *cobra.Command {
	b := &cobra.Command{Use: "bucket", Short: "Bucket settings"}
	openWith := &cobra.Command{
		Use:   "open-with BUCKET CONTENT-TYPE APP",
		Short: "Register APP to open objects of CONTENT-TYPE (GET /BUCKET/KEY?open)",
		Long: `Register APP to open objects of CONTENT-TYPE in BUCKET: "GET /BUCKET/KEY?open"
then streams the object through the app. CONTENT-TYPE may be "type/*" or
"*/*". With only BUCKET, list the bucket's registrations.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 && len(args) != 3 {
				return usageError{cmd.CommandPath(), fmt.Errorf("expected BUCKET [CONTENT-TYPE APP]")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			bucket, err := parseBucket(args[0])
			if err != nil {
				bucket = args[0]
			}
			if len(args) == 1 {
				list, err := c.ListOpenWith(cmd.Context(), bucket)
				if err != nil {
					return fmt.Errorf("bucket open-with %s: %w", bucket, err)
				}
				for _, ow := range list {
					fmt.Fprintf(g.streams.Out, "%s\t%s\n", ow.ContentType, ow.App)
				}
				return nil
			}
			if _, err := c.SetOpenWith(cmd.Context(), bucket, args[1], args[2]); err != nil {
				return fmt.Errorf("bucket open-with %s: %w", bucket, err)
			}
			return nil
		},
	}
	b.AddCommand(openWith)
	return b
}

// newSandboxWorkerCmd is the hidden command a node re-executes itself with
// to host sandbox runs in a separate, killable process.
func newSandboxWorkerCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "sandbox-worker",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			code := sandbox.WorkerMain()
			if code != 0 {
				os.Exit(code)
			}
			return nil
		},
	}
}
