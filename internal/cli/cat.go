package cli

import (
	"context"
	"io"

	"github.com/minio/minio-go/v7"
	"github.com/spf13/cobra"
)

// newCatCmd builds "cat s3://bucket/key...".
func newCatCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cat s3://BUCKET/KEY...",
		Short: "Write objects to standard output",
		Args:  rangeArgs(1, -1, "s3://BUCKET/KEY..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			locs, err := parseArgs(cmd, args, parseObject)
			if err != nil {
				return err
			}
			mc, _, err := g.s3(cmd)
			if err != nil {
				return err
			}
			for i, l := range locs {
				if err := catObject(cmd.Context(), mc, l, g.streams.Out); err != nil {
					return opError("cat", args[i], err)
				}
			}
			return nil
		},
	}
}

// catObject copies one object to out.
func catObject(ctx context.Context, mc *minio.Client, l location, out io.Writer) error {
	obj, err := mc.GetObject(ctx, l.bucket, l.key, minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer obj.Close()
	_, err = io.Copy(out, obj)
	return err
}
