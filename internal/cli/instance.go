package cli

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/spf13/cobra"
)

// newInstanceCmd builds "instance ls|run|stop|start|terminate|console",
// over the node's EC2 face.
func newInstanceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "instance",
		Short: "Run and manage virtual machine instances",
		Long: `Instances are virtual machines booted from a registered image ("insitu image"),
driven through the node's EC2 API at ENDPOINT/services/compute (the aws CLI
and SDKs work there too).`,
	}
	cmd.AddCommand(newInstanceLsCmd(g), newInstanceRunCmd(g), newInstanceConsoleCmd(g),
		newInstanceStateCmd(g, "stop"), newInstanceStateCmd(g, "start"), newInstanceStateCmd(g, "terminate"))
	return cmd
}

// instanceJSON is one instance in "instance ls --json".
type instanceJSON struct {
	ID        string            `json:"id"`
	State     string            `json:"state"`
	Type      string            `json:"type"`
	Zone      string            `json:"zone"`
	PublicIP  string            `json:"public_ip,omitempty"`
	PrivateIP string            `json:"private_ip,omitempty"`
	Image     string            `json:"image"`
	Key       string            `json:"key,omitempty"`
	Launched  string            `json:"launched,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
}

func instanceItem(in types.Instance) instanceJSON {
	it := instanceJSON{ID: aws.ToString(in.InstanceId), Type: string(in.InstanceType), Image: aws.ToString(in.ImageId),
		PublicIP: aws.ToString(in.PublicIpAddress), PrivateIP: aws.ToString(in.PrivateIpAddress), Key: aws.ToString(in.KeyName)}
	if in.State != nil {
		it.State = string(in.State.Name)
	}
	if in.Placement != nil {
		it.Zone = aws.ToString(in.Placement.AvailabilityZone)
	}
	if in.LaunchTime != nil {
		it.Launched = in.LaunchTime.UTC().Format(time.RFC3339)
	}
	for _, t := range in.Tags {
		if it.Tags == nil {
			it.Tags = map[string]string{}
		}
		it.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return it
}

func newInstanceLsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls [ID...]",
		Short: "List your instances (or the ones named)",
		Args:  rangeArgs(0, -1, "[ID...]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.ec2(cmd)
			if err != nil {
				return err
			}
			var items []instanceJSON
			p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{InstanceIds: args})
			for p.HasMorePages() {
				page, err := p.NextPage(cmd.Context())
				if err != nil {
					return ec2OpError("instance ls", err)
				}
				for _, r := range page.Reservations {
					for _, in := range r.Instances {
						items = append(items, instanceItem(in))
					}
				}
			}
			return printList(g.streams.Out, asJSON, "instances", items, "ID\tSTATE\tTYPE\tZONE\tPUBLIC IP\tIMAGE\tLAUNCHED",
				func(i instanceJSON) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", i.ID, i.State, i.Type, i.Zone, dash(i.PublicIP), i.Image, i.Launched)
				})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runFlags are the flags of "instance run".
type runFlags struct {
	image, typ, key, zone, userData, name string
	groups                                []string
	count                                 int32
	wait                                  bool
	timeout                               time.Duration
}

func newInstanceRunCmd(g *globals) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run --image AMI [--type t3.micro] [--key NAME] [--group SG]... [--zone Z] [--user-data FILE] [--count N] [--wait]",
		Short: "Launch instances of an image; print their ids",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := f.input(g.streams.In)
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			c, err := g.ec2(cmd)
			if err != nil {
				return err
			}
			out, err := c.RunInstances(cmd.Context(), in)
			if err != nil {
				return ec2OpError("instance run", err)
			}
			ids := make([]string, 0, len(out.Instances))
			for _, i := range out.Instances {
				ids = append(ids, aws.ToString(i.InstanceId))
				fmt.Fprintln(g.streams.Out, aws.ToString(i.InstanceId))
			}
			if !f.wait {
				return nil
			}
			w := ec2.NewInstanceRunningWaiter(c, func(o *ec2.InstanceRunningWaiterOptions) { o.MinDelay, o.MaxDelay = time.Second, 5*time.Second })
			return ec2OpError("instance run --wait", w.Wait(cmd.Context(), &ec2.DescribeInstancesInput{InstanceIds: ids}, f.timeout))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.image, "image", "", "image id (ami-...; required)")
	fl.StringVar(&f.typ, "type", "t3.micro", "instance type (see the EC2 API's DescribeInstanceTypes)")
	fl.StringVar(&f.key, "key", "", "key pair name, whose public key root's SSH accepts")
	fl.StringArrayVar(&f.groups, "group", nil, "security group id (sg-...) or name; repeatable")
	fl.StringVar(&f.zone, "zone", "", "availability zone (default: the node's choice)")
	fl.StringVar(&f.userData, "user-data", "", "`file` of user data (- for stdin); run at boot when it starts with #!")
	fl.StringVar(&f.name, "name", "", "a Name tag")
	fl.Int32Var(&f.count, "count", 1, "number of instances")
	fl.BoolVar(&f.wait, "wait", false, "wait until every instance is running")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long --wait waits")
	return cmd
}

// input builds the RunInstances request of the flags (stdin: --user-data -).
func (f *runFlags) input(stdin io.Reader) (*ec2.RunInstancesInput, error) {
	if f.image == "" {
		return nil, fmt.Errorf("--image is required")
	}
	if f.count < 1 {
		return nil, fmt.Errorf("--count must be at least 1")
	}
	in := &ec2.RunInstancesInput{ImageId: aws.String(f.image), InstanceType: types.InstanceType(f.typ),
		MinCount: aws.Int32(f.count), MaxCount: aws.Int32(f.count)}
	if f.key != "" {
		in.KeyName = aws.String(f.key)
	}
	for _, sg := range f.groups {
		if strings.HasPrefix(sg, "sg-") {
			in.SecurityGroupIds = append(in.SecurityGroupIds, sg)
		} else {
			in.SecurityGroups = append(in.SecurityGroups, sg)
		}
	}
	if f.zone != "" {
		in.Placement = &types.Placement{AvailabilityZone: aws.String(f.zone)}
	}
	if f.name != "" {
		in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeInstance,
			Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String(f.name)}}}}
	}
	if f.userData != "" {
		b, err := readUserData(f.userData, stdin)
		if err != nil {
			return nil, err
		}
		in.UserData = aws.String(base64.StdEncoding.EncodeToString(b))
	}
	return in, nil
}

// maxUserData is EC2's limit on user data (before base64).
const maxUserData = 16 << 10

func readUserData(path string, stdin io.Reader) ([]byte, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, maxUserData+1))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--user-data: %w", err)
	}
	if len(b) > maxUserData {
		return nil, fmt.Errorf("--user-data: more than %d bytes", maxUserData)
	}
	return b, nil
}
