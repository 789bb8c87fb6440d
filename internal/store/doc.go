// Package store is insitu's object storage engine: buckets, objects,
// multipart uploads and ordered listing, in insitu's own types.
//
// The S3 layer (internal/s3api) and, later, the cluster layer talk to storage
// only through the Engine interface in this package, so a backend can be
// swapped or wrapped (placed, replicated) without the protocol knowing.
// Storage errors are the sentinel errors declared here; internal/s3api maps
// them to S3 error codes in exactly one place.
//
// The local backend (package store/local, local.Open) keeps object bytes in files under a data
// directory and metadata in an embedded Pebble store. A write is durable
// before it is acknowledged: temp file, fsync, rename, fsync of the
// directory, then a synced metadata commit. Every data file carries a CRC32C
// per block, verified on every read, so corruption surfaces as ErrCorrupt
// instead of wrong bytes.
package store
