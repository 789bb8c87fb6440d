package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"
	"github.com/spf13/cobra"
)

// newCpCmd builds "cp SRC DST [--recursive]".
func newCpCmd(g *globals) *cobra.Command {
	var recursive bool
	cmd := &cobra.Command{
		Use:   "cp SRC DST",
		Short: "Copy files and objects",
		Long: `Copy a local file to S3, an object to a local file, or an object to another
object (a server-side copy). "-" as SRC reads standard input; "-" as DST
writes standard output. A DST that ends in "/" (or names an existing local
directory) means "into it, under the source's base name".

With --recursive, SRC is a local directory or an S3 prefix ("s3://b/dir"
means "dir/"), and everything below it is copied below DST.

Large files are uploaded in parts automatically. A progress bar is drawn on
standard error when it is a terminal.`,
		Example: `  insitu cp photo.jpg s3://pics/2024/
  insitu cp s3://pics/2024/photo.jpg .
  insitu cp -r ./site s3://www/
  insitu cp s3://logs/today.log - | grep ERROR
  tar c dir | insitu cp - s3://backups/dir.tar`,
		Args: exactArgs(2, "SRC DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := parseLocation(args[0])
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			dst, err := parseLocation(args[1])
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			if err := checkCpOperands(src, dst, recursive); err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			mc, _, err := g.s3(cmd)
			if err != nil {
				return err
			}
			c := &copier{ctx: cmd.Context(), mc: mc, streams: g.streams, recursive: recursive}
			switch {
			case src.s3 && dst.s3:
				err = c.copyS3(src, dst)
			case src.s3:
				err = c.download(src, dst)
			default:
				err = c.upload(src, dst)
			}
			if err != nil {
				return fmt.Errorf("cp %s %s: %w", args[0], args[1], describe(err))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "copy a directory or prefix and everything below it")
	return cmd
}

// checkCpOperands rejects combinations cp cannot do, before any I/O.
func checkCpOperands(src, dst location, recursive bool) error {
	switch {
	case !src.s3 && !dst.s3:
		return errors.New("one of SRC and DST must be s3://...")
	case src.isStdio() && recursive, dst.isStdio() && recursive:
		return errors.New(`"-" cannot be used with --recursive`)
	case src.isStdio() && isDirLike(dst.key):
		return errors.New("reading standard input needs a destination key (s3://BUCKET/KEY)")
	case src.s3 && !recursive && isDirLike(src.key):
		return fmt.Errorf("%s is not an object (use --recursive for a prefix)", src)
	}
	return nil
}

// copier carries what one cp invocation needs.
type copier struct {
	ctx       context.Context
	mc        *minio.Client
	streams   Streams
	recursive bool
}
