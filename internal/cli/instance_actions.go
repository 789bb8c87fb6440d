package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/spf13/cobra"
)

// stateChange is what "instance stop|start|terminate" call: it returns
// the state changes of the instances named.
type stateChange func(ctx context.Context, c *ec2.Client, ids []string) ([]types.InstanceStateChange, error)

// stateWait waits up to max until every instance of in reached the
// state a verb leads to (an SDK waiter polling every 1 to 5 s).
type stateWait func(ctx context.Context, c *ec2.Client, in *ec2.DescribeInstancesInput, max time.Duration) error

// endState is the state verb leads to.
func endState(verb string) string {
	switch verb {
	case "stop":
		return "stopped"
	case "start":
		return "running"
	}
	return "terminated"
}

// waitFor returns the wait of verb: stopped, running or terminated.
func waitFor(verb string) stateWait {
	switch verb {
	case "stop":
		return func(ctx context.Context, c *ec2.Client, in *ec2.DescribeInstancesInput, max time.Duration) error {
			return ec2.NewInstanceStoppedWaiter(c, func(o *ec2.InstanceStoppedWaiterOptions) { o.MinDelay, o.MaxDelay = time.Second, 5*time.Second }).Wait(ctx, in, max)
		}
	case "start":
		return func(ctx context.Context, c *ec2.Client, in *ec2.DescribeInstancesInput, max time.Duration) error {
			return ec2.NewInstanceRunningWaiter(c, func(o *ec2.InstanceRunningWaiterOptions) { o.MinDelay, o.MaxDelay = time.Second, 5*time.Second }).Wait(ctx, in, max)
		}
	default:
		return func(ctx context.Context, c *ec2.Client, in *ec2.DescribeInstancesInput, max time.Duration) error {
			return ec2.NewInstanceTerminatedWaiter(c, func(o *ec2.InstanceTerminatedWaiterOptions) { o.MinDelay, o.MaxDelay = time.Second, 5*time.Second }).Wait(ctx, in, max)
		}
	}
}

// stateAction returns the short help and the call of verb.
func stateAction(verb string) (string, stateChange) {
	switch verb {
	case "stop":
		return "Stop instances (ACPI power-off; their disks are kept)", func(ctx context.Context, c *ec2.Client, ids []string) ([]types.InstanceStateChange, error) {
			out, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids})
			if err != nil {
				return nil, err
			}
			return out.StoppingInstances, nil
		}
	case "start":
		return "Start stopped instances", func(ctx context.Context, c *ec2.Client, ids []string) ([]types.InstanceStateChange, error) {
			out, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids})
			if err != nil {
				return nil, err
			}
			return out.StartingInstances, nil
		}
	default:
		return "Terminate instances (their disks are deleted)", func(ctx context.Context, c *ec2.Client, ids []string) ([]types.InstanceStateChange, error) {
			out, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
			if err != nil {
				return nil, err
			}
			return out.TerminatingInstances, nil
		}
	}
}

// newInstanceStateCmd builds "instance stop|start|terminate ID...
// [--wait]", printing "ID PREVIOUS -> CURRENT" per instance.
func newInstanceStateCmd(g *globals, verb string) *cobra.Command {
	short, call := stateAction(verb)
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   verb + " ID... [--wait]",
		Short: short,
		Args:  rangeArgs(1, -1, "ID..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.ec2(cmd)
			if err != nil {
				return err
			}
			changes, err := call(cmd.Context(), c, args)
			if err != nil {
				return ec2OpError("instance "+verb, err)
			}
			for _, ch := range changes {
				var prev, cur types.InstanceStateName
				if ch.PreviousState != nil {
					prev = ch.PreviousState.Name
				}
				if ch.CurrentState != nil {
					cur = ch.CurrentState.Name
				}
				fmt.Fprintf(g.streams.Out, "%s %s -> %s\n", aws.ToString(ch.InstanceId), prev, cur)
			}
			if !wait {
				return nil
			}
			err = waitFor(verb)(cmd.Context(), c, &ec2.DescribeInstancesInput{InstanceIds: args}, timeout)
			return ec2OpError("instance "+verb+" --wait", err)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until every instance is "+endState(verb))
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	return cmd
}

// newInstanceConsoleCmd builds "instance console ID": the instance's
// serial console output (its last 64 KiB), decoded.
func newInstanceConsoleCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "console ID",
		Short: "Print an instance's console output (its last 64 KiB)",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.ec2(cmd)
			if err != nil {
				return err
			}
			out, err := c.GetConsoleOutput(cmd.Context(), &ec2.GetConsoleOutputInput{InstanceId: aws.String(args[0])})
			if err != nil {
				return ec2OpError("instance console", err)
			}
			b, err := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
			if err != nil {
				return fmt.Errorf("instance console: the output is not base64: %w", err)
			}
			_, err = g.streams.Out.Write(b)
			return err
		},
	}
}
