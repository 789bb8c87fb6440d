package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Streams are the standard streams a command tree reads and writes. A nil
// field means the process's own stream.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

func (s Streams) withDefaults() Streams {
	if s.In == nil {
		s.In = os.Stdin
	}
	if s.Out == nil {
		s.Out = os.Stdout
	}
	if s.Err == nil {
		s.Err = os.Stderr
	}
	return s
}

// Exit statuses returned by Main.
const (
	ExitOK          = 0
	ExitError       = 1   // the command failed
	ExitUsage       = 2   // bad arguments or flags
	ExitInterrupted = 130 // the context was cancelled (SIGINT/SIGTERM)
)

// NewRoot returns a new, independent "insitu" command tree writing to s.
// Errors are returned, not printed (SilenceErrors, SilenceUsage); Main
// prints them. Set arguments with SetArgs and run with ExecuteContext.
func NewRoot(s Streams) *cobra.Command {
	s = s.withDefaults()
	g := &globals{streams: s, lookupEnv: os.LookupEnv}
	root := &cobra.Command{
		Use:   "insitu",
		Short: "insitu: an S3-compatible object store and compute cloud in one binary",
		Long: `insitu stores objects behind an S3-compatible API and runs code next to them.

"insitu server" starts a node; the other commands talk to one, configured by
flags, INSITU_* environment variables or a profile in
$XDG_CONFIG_HOME/insitu/config (default ~/.config/insitu/config), in that
order of precedence.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{cmd: c.CommandPath(), err: err}
	})
	g.addFlags(root)
	root.AddCommand(
		newServerCmd(g),
		newMbCmd(g), newRbCmd(g), newLsCmd(g), newCpCmd(g),
		newCatCmd(g), newRmCmd(g), newStatCmd(g),
		newAdminCmd(g), newWhoamiCmd(g), newConfigureCmd(g),
		newAppCmd(g), newRunCmd(g), newRunsCmd(g), newJobCmd(g), newBucketCmd(g), newSvcCmd(g), newClusterCmd(g), newSandboxWorkerCmd(), newIMDSRelayCmd(),
		newVersionCmd(s),
		newInstanceCmd(g), newImageCmd(g),
	)
	return root
}

// Main runs the command line args (without the program name) in a new
// command tree and returns the exit status. A failure is reported as one
// line on s.Err: "insitu: <message>".
func Main(ctx context.Context, args []string, s Streams) int {
	s = s.withDefaults()
	root := NewRoot(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(s.Err, "insitu: %s\n", oneLine(ee.msg))
		}
		return ee.code
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(s.Err, "insitu: interrupted")
		return ExitInterrupted
	}
	fmt.Fprintf(s.Err, "insitu: %s\n", oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		return ExitUsage
	}
	return ExitError
}

// oneLine folds a multi-line message (cobra's suggestions, server bodies)
// onto a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// exitError ends the process with a given status (for example a guest's
// exit code), printing msg when it is not empty.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return fmt.Sprintf("exit status %d: %s", e.code, e.msg) }

// usageError marks bad arguments or flags (exit status ExitUsage).
type usageError struct {
	cmd string // the command path, e.g. "insitu admin user add"
	err error
}

func (e usageError) Error() string {
	name := strings.TrimPrefix(strings.TrimPrefix(e.cmd, "insitu"), " ")
	if name == "" {
		return fmt.Sprintf("%v (see '%s --help')", e.err, e.cmd)
	}
	return fmt.Sprintf("%s: %v (see '%s --help')", name, e.err, e.cmd)
}

func (e usageError) Unwrap() error { return e.err }

// exactArgs is cobra.ExactArgs reporting a usageError.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{cmd.CommandPath(), fmt.Errorf("expected %s, got %d argument(s)", what, len(args))}
		}
		return nil
	}
}

// rangeArgs accepts between min and max arguments (max < 0: no limit).
func rangeArgs(min, max int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || (max >= 0 && len(args) > max) {
			return usageError{cmd.CommandPath(), fmt.Errorf("expected %s, got %d argument(s)", what, len(args))}
		}
		return nil
	}
}
