package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/spf13/cobra"

	"github.com/insitu-cloud/insitu/internal/client"
)

func newJobCmd(g *globals) *cobra.Command {
	job := &cobra.Command{Use: "job", Short: "Map/reduce jobs over stored objects, run where the data is"}
	job.AddCommand(newJobRunCmd(g), newJobLsCmd(g), newJobStatusCmd(g), newJobCatCmd(g), newJobLogsCmd(g), newJobCancelCmd(g))
	return job
}

// splitApp splits 'APP [ARGS]' on spaces; quotes group words.
func splitApp(s string) (app string, args []string, err error) {
	var words []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return "", nil, fmt.Errorf("unbalanced quote in %q", s)
	}
	if in {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return "", nil, fmt.Errorf("empty app")
	}
	return words[0], words[1:], nil
}

func newJobRunCmd(g *globals) *cobra.Command {
	var (
		mapApp, reduceApp, out, file string
		reducers, retries            int
		partition, asJSON, detach    bool
	)
	cmd := &cobra.Command{
		Use:   "run --map 'APP [ARGS]' [--reduce 'APP [ARGS]'] [flags] INPUT...",
		Short: "Run a map/reduce job over objects and wait for it",
		Long: `Run a job: the map app once per input object (the object on stdin and under
/in), on the node that holds it, then, with --reduce, the reduce app fed the
map outputs on stdin. INPUTs are objects (s3://B/K), prefixes (s3://B/logs/)
or globs (s3://B/logs/2026-*.gz). -f job.json runs a job spec with any number
of phases. The command waits, with a progress line on a terminal, and exits
0 only if the job succeeded; --json prints the final status.

  insitu job run --map wc --reduce sum s3://logs/
  insitu job run --map 'sortu -w -c' --reduce sum --reducers 4 --partition s3://books/
  insitu job run -f job.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var spec client.JobSpec
			switch {
			case file != "":
				if mapApp != "" || reduceApp != "" {
					return usageError{cmd.CommandPath(), fmt.Errorf("-f and --map/--reduce do not mix")}
				}
				b, err := readFileOrStdin(g, file)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(b, &spec); err != nil {
					return fmt.Errorf("job run: %s: %w", file, err)
				}
				spec.Inputs = append(spec.Inputs, args...)
			case mapApp == "":
				return usageError{cmd.CommandPath(), fmt.Errorf("--map or -f is required")}
			default:
				if len(args) == 0 {
					return usageError{cmd.CommandPath(), fmt.Errorf("expected at least one INPUT")}
				}
				app, appArgs, err := splitApp(mapApp)
				if err != nil {
					return usageError{cmd.CommandPath(), fmt.Errorf("--map: %v", err)}
				}
				spec.Inputs = args
				spec.Phases = []client.JobPhase{{Type: "map", App: app, Args: appArgs}}
				if reduceApp != "" {
					app, appArgs, err := splitApp(reduceApp)
					if err != nil {
						return usageError{cmd.CommandPath(), fmt.Errorf("--reduce: %v", err)}
					}
					spec.Phases = append(spec.Phases, client.JobPhase{Type: "reduce", App: app, Args: appArgs, Reducers: reducers, Partition: partition})
				} else if reducers != 0 || partition {
					return usageError{cmd.CommandPath(), fmt.Errorf("--reducers and --partition need --reduce")}
				}
			}
			if out != "" {
				spec.Out = out
			}
			if cmd.Flags().Changed("retries") {
				spec.Retries = retries
			}
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			j, err := c.SubmitJob(cmd.Context(), spec)
			if err != nil {
				return fmt.Errorf("job run: %w", err)
			}
			if detach {
				if asJSON {
					return printJSON(g.streams.Out, j)
				}
				_, err := fmt.Fprintln(g.streams.Out, j.ID)
				return err
			}
			return waitJob(cmd, g, c, j.ID, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&mapApp, "map", "", "the map app and its arguments, e.g. 'grep -i error'")
	f.StringVar(&reduceApp, "reduce", "", "the reduce app and its arguments, e.g. sum")
	f.IntVar(&reducers, "reducers", 0, "number of reduce tasks (1-128; default 1)")
	f.BoolVar(&partition, "partition", false, "send each KEY<TAB>VALUE line to the one reducer its key hashes to")
	f.StringVar(&out, "out", "", "prefix for the outputs, s3://BUCKET/PREFIX/ (default: a per-job prefix in the first input's bucket)")
	f.IntVar(&retries, "retries", 0, "run a task whose app failed again, up to N times")
	f.StringVarP(&file, "file", "f", "", "a job spec as JSON (- for stdin)")
	f.BoolVar(&asJSON, "json", false, "print the final job status as JSON")
	f.BoolVar(&detach, "detach", false, "print the job id and return at once")
	return cmd
}

func readFileOrStdin(g *globals, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(g.streams.In, 1<<20))
	}
	return os.ReadFile(name)
}

// waitJob follows the job until it ends, drawing a progress line on a
// terminal, and maps its final state to the exit status.
func waitJob(cmd *cobra.Command, g *globals, c *client.Client, id string, asJSON bool) error {
	tty := isTerminal(g.streams.Err)
	start := time.Now()
	j, err := c.WatchJob(cmd.Context(), id, func(j *client.Job) {
		if tty {
			fmt.Fprint(g.streams.Err, "\r\x1b[K"+jobLine(j, time.Since(start)))
		}
	})
	if tty {
		fmt.Fprintln(g.streams.Err)
	}
	if err != nil {
		return fmt.Errorf("job %s: %w", id, err)
	}
	if asJSON {
		if err := printJSON(g.streams.Out, j); err != nil {
			return err
		}
	} else if j.State == "succeeded" {
		fmt.Fprintf(g.streams.Err, "job %s succeeded; outputs under %s (insitu job cat %s)\n", j.ID, j.Out, j.ID)
	}
	if j.State != "succeeded" {
		msg := fmt.Sprintf("job %s %s: %s", j.ID, j.State, j.Error)
		if asJSON {
			msg = ""
		}
		return exitError{code: ExitError, msg: msg}
	}
	return nil
}

// jobLine renders a job's progress: [####------] 412/1000 map, 0/1 reduce ...
func jobLine(j *client.Job, elapsed time.Duration) string {
	total, done := 0, 0
	var parts []string
	for _, ph := range j.Phases {
		total += ph.Tasks
		d := ph.Succeeded + ph.Failed + ph.Cancelled
		done += d
		s := fmt.Sprintf("%d/%d %s", d, ph.Tasks, ph.Type)
		if ph.Failed > 0 {
			s += fmt.Sprintf(" (%d failed)", ph.Failed)
		}
		parts = append(parts, s)
	}
	const width = 20
	n := 0
	if total > 0 {
		n = done * width / total
	}
	return fmt.Sprintf("[%s%s] %s  %s in, %s out  %s  %s", strings.Repeat("#", n), strings.Repeat("-", width-n),
		strings.Join(parts, ", "), humanBytes(j.BytesIn), humanBytes(j.BytesOut), elapsed.Round(100*time.Millisecond), j.State)
}

func newJobLsCmd(g *globals) *cobra.Command {
	var limit int
	var after string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List your jobs, newest first",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			list, next, err := c.ListJobsPage(cmd.Context(), limit, after)
			if err != nil {
				return fmt.Errorf("job ls: %w", err)
			}
			return printPage(g.streams.Out, g.streams.Err, asJSON, "jobs", list, next, "ID\tSTATE\tPHASES\tTASKS\tCREATED", func(j client.Job) string {
				var apps []string
				tasks := 0
				for _, ph := range j.Phases {
					apps = append(apps, ph.Type+":"+ph.App)
					tasks += ph.Tasks
				}
				return fmt.Sprintf("%s\t%s\t%s\t%d\t%s", j.ID, j.State, strings.Join(apps, ","), tasks, j.Created.Format(time.RFC3339))
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "how many jobs (the server caps a page at 1000)")
	cmd.Flags().StringVar(&after, "after", "", "continue after this token (printed as \"more: --after TOKEN\")")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newJobStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status ID",
		Short: "Show a job's state as JSON",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			j, err := c.GetJob(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("job status %s: %w", args[0], err)
			}
			return printJSON(g.streams.Out, j)
		},
	}
}

func newJobCatCmd(g *globals) *cobra.Command {
	phase := -1
	cmd := &cobra.Command{
		Use:   "cat ID",
		Short: "Write the outputs of a job's last phase (or --phase N), in task order",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			outs, err := c.JobOutputs(cmd.Context(), args[0], phase)
			if err != nil {
				return fmt.Errorf("job cat %s: %w", args[0], err)
			}
			return catObjects(cmd, g, outputObjects(outs))
		},
	}
	cmd.Flags().IntVar(&phase, "phase", -1, "the phase whose outputs to write (default the last)")
	return cmd
}

func outputObjects(outs []client.JobOutput) []string {
	objs := make([]string, 0, len(outs))
	for _, o := range outs {
		objs = append(objs, o.Object)
	}
	return objs
}

// catObjects writes objects to stdout in order.
func catObjects(cmd *cobra.Command, g *globals, objs []string) error {
	if len(objs) == 0 {
		return nil
	}
	mc, _, err := g.s3(cmd)
	if err != nil {
		return err
	}
	for _, o := range objs {
		l, err := parseObject(o)
		if err != nil {
			return err
		}
		if err := catObject(cmd.Context(), mc, l, g.streams.Out); err != nil {
			return opError("cat", o, err)
		}
	}
	return nil
}

func newJobLogsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logs ID",
		Short: "Write the stderr of a job's tasks, each under a header line, and its errors",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			tasks, err := c.JobTasks(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("job logs %s: %w", args[0], err)
			}
			var mc *minio.Client
			for _, t := range tasks {
				if t.Stderr == "" && t.Error == "" {
					continue
				}
				fmt.Fprintf(g.streams.Out, "==> phase %d task %d (%s)", t.Phase, t.Index, t.State)
				if t.Input != "" {
					fmt.Fprintf(g.streams.Out, " %s", t.Input)
				}
				fmt.Fprintln(g.streams.Out, " <==")
				if t.Error != "" {
					fmt.Fprintf(g.streams.Out, "error: %s\n", t.Error)
				}
				if t.Stderr != "" {
					if mc == nil {
						if mc, _, err = g.s3(cmd); err != nil {
							return err
						}
					}
					l, err := parseObject(t.Stderr)
					if err != nil {
						return err
					}
					if err := catObject(cmd.Context(), mc, l, g.streams.Out); err != nil {
						return opError("cat", t.Stderr, err)
					}
				}
			}
			return nil
		},
	}
}

func newJobCancelCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a job: runs in flight are stopped",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			j, err := c.CancelJob(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("job cancel %s: %w", args[0], err)
			}
			_, err = fmt.Fprintf(g.streams.Out, "%s %s\n", j.ID, j.State)
			return err
		},
	}
}
