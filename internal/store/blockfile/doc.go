// Package blockfile is the block-checksummed data file format of insitu's
// object store. A data file holds the object bytes from offset 0, then a
// CRC32C per block (64 KiB) and a 24-byte trailer:
//
//	[0, n)                 the object bytes
//	[n, n+4*blocks)        CRC32C of each block of the bytes (the last block
//	                       may be short)
//	[.., +24)              trailer: magic "insitub1", uint32 block size,
//	                       uint64 n, uint32 CRC32C of the CRC table
//
// All integers are little-endian. Writers (Writer) compute the table while
// streaming; readers (Reader, OpenReaderAt) read and verify whole blocks
// before returning a byte of them, so damaged bytes are never served: they
// fail with an error wrapping store.ErrCorrupt.
//
// The package is shared by store/local (which writes and serves objects)
// and the sandbox workers (which read object files in place, zero copy
// through the parent process).
package blockfile
