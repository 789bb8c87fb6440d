package cli

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
	"github.com/spf13/cobra"
)

// newRmCmd builds "rm s3://bucket/key... [--recursive]".
func newRmCmd(g *globals) *cobra.Command {
	var recursive bool
	cmd := &cobra.Command{
		Use:   "rm s3://BUCKET/KEY...",
		Short: "Remove objects",
		Long: `Remove objects. With --recursive, remove every object under each prefix
("s3://b/dir" means the prefix "dir/"; "s3://b" the whole bucket), in
batches of up to 1,000 keys per request.`,
		Args: rangeArgs(1, -1, "s3://BUCKET/KEY..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			locs := make([]location, len(args))
			for i, a := range args {
				l, err := parseS3(a)
				if err == nil && !recursive && l.key == "" {
					err = fmt.Errorf("%q names a bucket: use --recursive to empty it, or rb to remove it", a)
				}
				if err != nil {
					return usageError{cmd.CommandPath(), err}
				}
				locs[i] = l
			}
			mc, _, err := g.s3(cmd)
			if err != nil {
				return err
			}
			for i, l := range locs {
				if recursive {
					err = removePrefix(cmd.Context(), mc, l.bucket, asPrefix(l.key))
				} else {
					err = mc.RemoveObject(cmd.Context(), l.bucket, l.key, minio.RemoveObjectOptions{})
				}
				if err != nil {
					return opError("rm", args[i], err)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "remove every object under the prefix")
	return cmd
}

// removePrefix deletes every object whose key starts with prefix, streaming
// the listing into batched DeleteObjects requests (up to 1,000 keys each).
// It stops at the first error.
func removePrefix(ctx context.Context, mc *minio.Client, bucket, prefix string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	keys := make(chan minio.ObjectInfo, 1000)
	listErr := make(chan error, 1)
	go func() {
		defer close(keys)
		for obj := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if obj.Err != nil {
				listErr <- obj.Err
				return
			}
			select {
			case keys <- obj:
			case <-ctx.Done():
				return
			}
		}
	}()
	var firstErr error
	for rerr := range mc.RemoveObjects(ctx, bucket, keys, minio.RemoveObjectsOptions{}) {
		if firstErr == nil && rerr.Err != nil {
			firstErr = fmt.Errorf("%s: %w", rerr.ObjectName, describe(rerr.Err))
			cancel()
		}
	}
	if firstErr != nil {
		return firstErr
	}
	select {
	case err := <-listErr:
		return err
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}
