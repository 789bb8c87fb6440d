package cli

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/spf13/cobra"
)

// newImageCmd builds "image register|ls|rm", over the node's EC2 face.
func newImageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Register, list and deregister machine images (kept as objects)",
		Long: `Machine images are objects: a manifest.json naming a kernel, an initrd and
optionally a raw root disk (relative to the manifest), plus a kernel command
line. "image register" records one from a bucket you own; instances boot it.`,
	}
	cmd.AddCommand(newImageRegisterCmd(g), newImageLsCmd(g), newImageRmCmd(g), newImagePublicCmd(g))
	return cmd
}

func newImageRegisterCmd(g *globals) *cobra.Command {
	var name, description string
	cmd := &cobra.Command{
		Use:   "register BUCKET/PREFIX/manifest.json --name NAME",
		Short: "Register the image whose manifest is an object in a bucket you own; print its id",
		Args:  exactArgs(1, "BUCKET/PREFIX/manifest.json"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usageError{cmd.CommandPath(), fmt.Errorf("--name is required")}
			}
			c, err := g.ec2(cmd)
			if err != nil {
				return err
			}
			in := &ec2.RegisterImageInput{Name: aws.String(name), ImageLocation: aws.String(strings.TrimPrefix(args[0], "s3://"))}
			if description != "" {
				in.Description = aws.String(description)
			}
			out, err := c.RegisterImage(cmd.Context(), in)
			if err != nil {
				return ec2OpError("image register", err)
			}
			_, err = fmt.Fprintln(g.streams.Out, aws.ToString(out.ImageId))
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "image name, unique in your account (3-128 characters; required)")
	cmd.Flags().StringVar(&description, "description", "", "image description")
	return cmd
}

// imageJSON is one image in "image ls --json".
type imageJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Owner       string `json:"owner"`
	State       string `json:"state"`
	Public      bool   `json:"public"`
	Created     string `json:"created"`
	Location    string `json:"location"`
	Description string `json:"description,omitempty"`
}

func newImageLsCmd(g *globals) *cobra.Command {
	var asJSON, mine bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the images you can launch: yours and public ones",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.ec2(cmd)
			if err != nil {
				return err
			}
			in := &ec2.DescribeImagesInput{}
			if mine {
				in.Owners = []string{"self"}
			}
			var items []imageJSON
			p := ec2.NewDescribeImagesPaginator(c, in)
			for p.HasMorePages() {
				page, err := p.NextPage(cmd.Context())
				if err != nil {
					return ec2OpError("image ls", err)
				}
				for _, im := range page.Images {
					items = append(items, imageItem(im))
				}
			}
			return printList(g.streams.Out, asJSON, "images", items, "ID\tNAME\tOWNER\tSTATE\tPUBLIC\tCREATED\tLOCATION",
				func(i imageJSON) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%t\t%s\t%s", i.ID, i.Name, i.Owner, i.State, i.Public, i.Created, i.Location)
				})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&mine, "mine", false, "only your own images")
	return cmd
}

func imageItem(im types.Image) imageJSON {
	return imageJSON{ID: aws.ToString(im.ImageId), Name: aws.ToString(im.Name), Owner: aws.ToString(im.OwnerId),
		State: string(im.State), Public: aws.ToBool(im.Public), Created: aws.ToString(im.CreationDate),
		Location: aws.ToString(im.ImageLocation), Description: aws.ToString(im.Description)}
}

func newImageRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm AMI...",
		Short: "Deregister images (their objects and running instances stay)",
		Args:  rangeArgs(1, -1, "AMI..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.ec2(cmd)
			if err != nil {
				return err
			}
			for _, id := range args {
				if _, err := c.DeregisterImage(cmd.Context(), &ec2.DeregisterImageInput{ImageId: aws.String(id)}); err != nil {
					return ec2OpError("image rm "+id, err)
				}
			}
			return nil
		},
	}
}

// newImagePublicCmd builds "image public AMI... [--off]": every account
// may see and launch a public image (EC2's launch permission group all).
func newImagePublicCmd(g *globals) *cobra.Command {
	var off bool
	cmd := &cobra.Command{
		Use:   "public AMI... [--off]",
		Short: "Let every account see and launch your images (--off: only you again)",
		Args:  rangeArgs(1, -1, "AMI..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.ec2(cmd)
			if err != nil {
				return err
			}
			perm := []types.LaunchPermission{{Group: types.PermissionGroupAll}}
			mod := &types.LaunchPermissionModifications{Add: perm}
			if off {
				mod = &types.LaunchPermissionModifications{Remove: perm}
			}
			for _, id := range args {
				_, err := c.ModifyImageAttribute(cmd.Context(), &ec2.ModifyImageAttributeInput{ImageId: aws.String(id), LaunchPermission: mod})
				if err != nil {
					return ec2OpError("image public "+id, err)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&off, "off", false, "make the images private again")
	return cmd
}
