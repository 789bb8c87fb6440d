package cli

import (
	"fmt"
	"path"
	"strings"

	"github.com/spf13/cobra"
)

// location is a cp/ls/rm operand: an S3 object or prefix (s3://bucket/key),
// a local path, or "-" for stdin/stdout.
type location struct {
	s3     bool
	bucket string // when s3
	key    string // when s3; may be empty or end in "/"
	path   string // when local; "-" is stdio
}

// isStdio reports whether l is "-".
func (l location) isStdio() bool { return !l.s3 && l.path == "-" }

// String formats l as the user would write it.
func (l location) String() string {
	if l.s3 {
		return "s3://" + l.bucket + "/" + l.key
	}
	return l.path
}

// isDirLike reports whether an S3 key names a prefix ("" or ending in "/").
func isDirLike(key string) bool { return key == "" || strings.HasSuffix(key, "/") }

// keyBase is the last element of an S3 key, ignoring a trailing slash.
func keyBase(key string) string { return path.Base(strings.TrimSuffix(key, "/")) }

// asPrefix makes a non-empty key a "directory" prefix by adding "/".
func asPrefix(key string) string {
	if key == "" || strings.HasSuffix(key, "/") {
		return key
	}
	return key + "/"
}

// parseLocation parses a cp operand: "s3://bucket[/key]" (scheme
// case-insensitive, key taken verbatim, not URL-decoded), "-", or a local
// path.
func parseLocation(arg string) (location, error) {
	if len(arg) >= 5 && strings.EqualFold(arg[:5], "s3://") {
		rest := arg[5:]
		bucket, key, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return location{}, fmt.Errorf("%q: missing bucket name", arg)
		}
		return location{s3: true, bucket: bucket, key: key}, nil
	}
	if arg == "" {
		return location{}, fmt.Errorf("empty path")
	}
	return location{path: arg}, nil
}

// parseS3 parses an operand that must be s3://bucket[/key].
func parseS3(arg string) (location, error) {
	l, err := parseLocation(arg)
	if err != nil {
		return l, err
	}
	if !l.s3 {
		return l, fmt.Errorf("%q: expected s3://bucket[/key]", arg)
	}
	return l, nil
}

// parseBucket parses an operand that must be s3://bucket (a trailing "/" is
// allowed).
func parseBucket(arg string) (string, error) {
	l, err := parseS3(arg)
	if err != nil {
		return "", err
	}
	if l.key != "" {
		return "", fmt.Errorf("%q: expected s3://bucket without a key", arg)
	}
	return l.bucket, nil
}

// parseObject parses an operand that must name an object: s3://bucket/key
// with a non-empty key.
func parseObject(arg string) (location, error) {
	l, err := parseS3(arg)
	if err != nil {
		return l, err
	}
	if l.key == "" {
		return l, fmt.Errorf("%q: expected s3://bucket/key", arg)
	}
	return l, nil
}

// parseArgs parses every operand with parse; the first bad one is a usage
// error of cmd.
func parseArgs[T any](cmd *cobra.Command, args []string, parse func(string) (T, error)) ([]T, error) {
	out := make([]T, len(args))
	for i, a := range args {
		v, err := parse(a)
		if err != nil {
			return nil, usageError{cmd.CommandPath(), err}
		}
		out[i] = v
	}
	return out, nil
}
