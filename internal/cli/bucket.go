package cli

import (
	"github.com/minio/minio-go/v7"
	"github.com/spf13/cobra"
)

// newMbCmd builds "mb s3://bucket...".
func newMbCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "mb s3://BUCKET...",
		Short: "Make buckets",
		Args:  rangeArgs(1, -1, "s3://BUCKET..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			buckets, err := parseArgs(cmd, args, parseBucket)
			if err != nil {
				return err
			}
			mc, st, err := g.s3(cmd)
			if err != nil {
				return err
			}
			for i, b := range buckets {
				err := mc.MakeBucket(cmd.Context(), b, minio.MakeBucketOptions{Region: st.Region})
				if err != nil {
					return opError("mb", args[i], err)
				}
			}
			return nil
		},
	}
}

// newRbCmd builds "rb s3://bucket... [--force]".
func newRbCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rb s3://BUCKET...",
		Short: "Remove buckets",
		Long:  "Remove empty buckets. With --force, first delete every object and incomplete multipart upload in them.",
		Args:  rangeArgs(1, -1, "s3://BUCKET..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			buckets, err := parseArgs(cmd, args, parseBucket)
			if err != nil {
				return err
			}
			mc, _, err := g.s3(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			for i, b := range buckets {
				if force {
					if err := removePrefix(ctx, mc, b, ""); err != nil {
						return opError("rb", args[i], err)
					}
					for u := range mc.ListIncompleteUploads(ctx, b, "", true) {
						if u.Err != nil {
							return opError("rb", args[i], u.Err)
						}
						if err := mc.RemoveIncompleteUpload(ctx, b, u.Key); err != nil {
							return opError("rb", args[i], err)
						}
					}
				}
				if err := mc.RemoveBucket(ctx, b); err != nil {
					return opError("rb", args[i], err)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete all objects and incomplete uploads first")
	return cmd
}
