package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/spf13/cobra"
)

// statJSON is the output of "stat --json".
type statJSON struct {
	Bucket       string            `json:"bucket"`
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"`
	ContentType  string            `json:"content_type"`
	LastModified time.Time         `json:"last_modified"`
	VersionID    string            `json:"version_id,omitempty"`
	StorageClass string            `json:"storage_class,omitempty"`
	Metadata     map[string]string `json:"metadata"`
	// Replicas names the nodes holding the object (clustered nodes only).
	Replicas []string `json:"replicas,omitempty"`
}

// newStatCmd builds "stat s3://bucket/key [--json]".
func newStatCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stat s3://BUCKET/KEY...",
		Short: "Show object metadata",
		Long: `Show each object's size, ETag, content type, last-modified time and user
metadata (x-amz-meta-*). --json prints one JSON object per line with keys
bucket, key, size, etag, content_type, last_modified, metadata.`,
		Args: rangeArgs(1, -1, "s3://BUCKET/KEY..."),
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
				info, err := mc.StatObject(cmd.Context(), l.bucket, l.key, minio.StatObjectOptions{})
				if err != nil {
					return opError("stat", args[i], err)
				}
				var replicas []string
				if asJSON {
					replicas = g.replicas(cmd, l)
				}
				if err := printStat(g.streams.Out, l, info, replicas, asJSON, i > 0); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// replicas names the nodes holding l, or nil when the node is not in a
// cluster (or cannot say).
func (g *globals) replicas(cmd *cobra.Command, l location) []string {
	c, err := g.api(cmd)
	if err != nil {
		return nil
	}
	names, err := c.Replicas(cmd.Context(), l.bucket, l.key)
	if err != nil {
		return nil
	}
	return names
}

func printStat(out io.Writer, l location, info minio.ObjectInfo, replicas []string, asJSON, sep bool) error {
	meta := map[string]string{}
	for k, v := range info.UserMetadata {
		meta[k] = v
	}
	if asJSON {
		return json.NewEncoder(out).Encode(statJSON{
			Bucket: l.bucket, Key: l.key, Size: info.Size, ETag: info.ETag,
			ContentType: info.ContentType, LastModified: info.LastModified.UTC(),
			VersionID: info.VersionID, StorageClass: info.StorageClass, Metadata: meta, Replicas: replicas,
		})
	}
	if sep {
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Name:          %s\n", l)
	fmt.Fprintf(out, "Size:          %d\n", info.Size)
	fmt.Fprintf(out, "ETag:          %s\n", info.ETag)
	fmt.Fprintf(out, "Content-Type:  %s\n", info.ContentType)
	fmt.Fprintf(out, "Last-Modified: %s\n", info.LastModified.UTC().Format(time.RFC3339))
	if info.VersionID != "" {
		fmt.Fprintf(out, "Version-Id:    %s\n", info.VersionID)
	}
	if len(meta) == 0 {
		return nil
	}
	_, err := fmt.Fprintln(out, "Metadata:")
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		_, err = fmt.Fprintf(out, "  %s: %s\n", k, meta[k])
	}
	return err
}
