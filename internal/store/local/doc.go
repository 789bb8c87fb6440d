// Package local is insitu's single-node storage backend: it implements
// store.Engine with object bytes in plain files and metadata in one Pebble
// database.
//
// # Layout
//
// Under the data directory given to Open:
//
//	tmp/                     files being written; emptied at Open
//	objects/<xx>/<fileid>    data files of objects and of multipart parts,
//	                         fanned out by the first two hex digits of the id
//	index/                   the Pebble database
//
// Index keys are ordered so that every listing is one ordered scan:
//
//	b/<bucket>                          BucketInfo (JSON)
//	o/<bucket>\x00<key>                 object record, delete marker or tombstone (JSON)
//	w/<bucket>\x00<key>\x00<sort>        noncurrent version (versioning; see version.go)
//	x/<bucket>\x00<key>\x00<versionID>   tombstone of a version removed by id (a cluster's;
//	                                    see version_tomb.go)
//	u/<bucket>\x00<key>\x00<uploadID>   upload record (JSON)
//	i/<uploadID>                        upload id -> bucket and key
//	p/<uploadID>/<%05d part>            part record (JSON)
//	f/<fileid>                          reverse index: the o/ or w/ key that owns a data file
//	n/<fileid>                          an inline body: the blockfile image of an object
//	                                    of at most Options.InlineMax bytes (no data file)
//
// Upload ids are UUIDv7, so ordering uploads of one key by id orders them by
// initiation time.
//
// # Replicas
//
// For a cluster the engine implements store.Replicas. An object record may
// carry a store.Stamp (field "v"; records without it decode with the zero
// stamp), and a tombstone is an object record with "d" set and no data
// file, so a deleted key remembers the stamp that deleted it. A stamped
// write (PutOptions.Stamp, PutReplica, DeleteReplica,
// CompleteMultipartUploadAt) compares its stamp with the one held under
// the key's commit lock, in the same step as its commit, so writes of one
// key converge on the newest stamp in any order of arrival. Plain reads,
// listings (unless ListOptions.Tombstones), If-None-Match and DeleteBucket's
// emptiness check skip tombstones; DeleteBucket drops them with the bucket.
//
// # Durability
//
// A write is durable before it is acknowledged: the bytes go to tmp/<uuid>,
// the file is fsynced, renamed into objects/, the fan-out directory is
// fsynced, then one synced Pebble batch publishes the record and its f/ key.
// Every directory Open creates (the store's own, tmp/, objects/<xx>/,
// index/) has its parent fsynced. Data files go through an FS and the index
// through a Pebble vfs.FS (Options; the OS by default); TestPowerLoss runs
// the same code on in-memory filesystems that drop whatever was not synced
// when the power is cut before any operation of a workload. A body of at
// most Options.InlineMax bytes skips the file: its image goes into the same
// synced batch as its record, so that batch is its only durable step.
// A crash at any point leaves the old object or the new one. Data files no
// f/ key references (a crash between rename and commit, or between commit
// and unlinking a replaced file) are removed by a sweep that Open starts in
// the background.
//
// # Integrity
//
// A data file holds the object bytes from offset 0, then a CRC32C per 64 KiB
// block, then a 24-byte trailer (magic, block size, data length, CRC of the
// table); see blockfile.go. Reads always read whole blocks and verify them
// before returning any byte; a mismatch surfaces as store.ErrCorrupt.
// Reads and writes stream through one block buffer, so memory per request
// is bounded (plus 4 bytes per 64 KiB block of table while writing).
//
// # Concurrency
//
// An Engine is safe for concurrent use. Data is written without locks;
// only the metadata commit is serialized per key (striped mutexes), per
// upload, and against DeleteBucket (a striped RWMutex per bucket). Commits
// of different keys run concurrently so Pebble can group their syncs.
package local
