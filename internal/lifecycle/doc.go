// Package lifecycle applies S3 bucket lifecycle rules: expiring current
// objects by prefix, size and age (or a date), expiring noncurrent
// versions, removing expired delete markers, and aborting multipart
// uploads left incomplete. The rules' model and their evaluation are here
// (Rule, Due); the S3 face parses and stores them (internal/s3api), and a
// Runner owned by the node applies them in the background, resumably.
package lifecycle
