// Package client is the Go client for insitu's native JSON API
// (/api/v1/...). It signs every request with AWS Signature Version 4 (header
// signing, service "s3") using the account's access keys, exactly as the S3
// API expects, and decodes the API's JSON error bodies into *Error.
//
// A Client is safe for concurrent use by multiple goroutines.
package client
