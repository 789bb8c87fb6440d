// Package e2e holds end-to-end tests of the built insitu binary: the server
// is started as a subprocess and driven by real S3 clients (the aws CLI,
// rclone, s3cmd and aws-sdk-go-v2), and by SIGKILL.
//
// The tests build ./cmd/insitu once per run. Tools that are not installed
// make their test skip, unless INSITU_REQUIRE_TOOLS=1 (CI) turns the skip
// into a failure.
package e2e
