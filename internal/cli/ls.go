package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/spf13/cobra"
)

// lsTimeFormat is the date format of human listings (as "aws s3 ls").
const lsTimeFormat = "2006-01-02 15:04:05"

// bucketJSON is one line of "ls --json" without an argument.
type bucketJSON struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// entryJSON is one line of "ls --json s3://...": an object, or (with only
// Prefix set) a common prefix.
type entryJSON struct {
	Key          string     `json:"key,omitempty"`
	Prefix       string     `json:"prefix,omitempty"`
	Size         *int64     `json:"size,omitempty"`
	ETag         string     `json:"etag,omitempty"`
	LastModified *time.Time `json:"last_modified,omitempty"`
	StorageClass string     `json:"storage_class,omitempty"`
}

// newLsCmd builds "ls [s3://bucket[/prefix]] [--recursive] [--json]".
func newLsCmd(g *globals) *cobra.Command {
	var recursive, asJSON bool
	cmd := &cobra.Command{
		Use:   "ls [s3://BUCKET[/PREFIX]]",
		Short: "List buckets, or objects and prefixes",
		Long: `Without an argument, list buckets. Otherwise list the objects and
common prefixes ("PRE") under the prefix, one level deep (delimiter "/"),
or every object below it with --recursive.

--json prints one JSON object per line: {"name","created"} for buckets;
{"key","size","etag","last_modified","storage_class"} for objects and
{"prefix"} for common prefixes.`,
		Args: rangeArgs(0, 1, "at most one s3://BUCKET[/PREFIX]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var loc location
			if len(args) == 1 {
				l, err := parseS3(args[0])
				if err != nil {
					return usageError{cmd.CommandPath(), err}
				}
				loc = l
			}
			mc, _, err := g.s3(cmd)
			if err != nil {
				return err
			}
			out := g.streams.Out
			if len(args) == 0 {
				return opError("ls", "", listBuckets(cmd, mc, out, asJSON))
			}
			return opError("ls", args[0], listObjects(cmd, mc, out, loc, recursive, asJSON))
		},
	}
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "list every object under the prefix")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON lines")
	return cmd
}

func listBuckets(cmd *cobra.Command, mc *minio.Client, out io.Writer, asJSON bool) error {
	buckets, err := mc.ListBuckets(cmd.Context())
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	for _, b := range buckets {
		if asJSON {
			if err := enc.Encode(bucketJSON{Name: b.Name, Created: b.CreationDate.UTC()}); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintf(out, "%s %s\n", b.CreationDate.Local().Format(lsTimeFormat), b.Name); err != nil {
			return err
		}
	}
	return nil
}

// isCommonPrefix tells a delimiter roll-up from a real object: minio-go
// reports both as ObjectInfo, prefixes without ETag or date.
func isCommonPrefix(o minio.ObjectInfo) bool {
	return strings.HasSuffix(o.Key, "/") && o.ETag == "" && o.LastModified.IsZero()
}

func listObjects(cmd *cobra.Command, mc *minio.Client, out io.Writer, loc location, recursive, asJSON bool) error {
	// Non-recursive listings show names relative to the "directory" of
	// the prefix, as aws s3 ls does; recursive ones show full keys.
	base := ""
	if !recursive {
		if i := strings.LastIndex(loc.key, "/"); i >= 0 {
			base = loc.key[:i+1]
		}
	}
	enc := json.NewEncoder(out)
	opts := minio.ListObjectsOptions{Prefix: loc.key, Recursive: recursive}
	for o := range mc.ListObjects(cmd.Context(), loc.bucket, opts) {
		if o.Err != nil {
			return o.Err
		}
		var err error
		switch prefix := !recursive && isCommonPrefix(o); {
		case asJSON && prefix:
			err = enc.Encode(entryJSON{Prefix: o.Key})
		case asJSON:
			size, mod := o.Size, o.LastModified.UTC()
			err = enc.Encode(entryJSON{Key: o.Key, Size: &size, ETag: o.ETag, LastModified: &mod, StorageClass: o.StorageClass})
		case prefix:
			_, err = fmt.Fprintf(out, "%27s %s\n", "PRE", strings.TrimPrefix(o.Key, base))
		default:
			_, err = fmt.Fprintf(out, "%s %10d %s\n", o.LastModified.Local().Format(lsTimeFormat), o.Size, strings.TrimPrefix(o.Key, base))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
