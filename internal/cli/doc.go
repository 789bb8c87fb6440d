// Package cli implements the insitu command-line tool: the cobra command
// tree (server, S3 commands such as ls/cp/mb, admin, configure, version),
// connection settings (flags, INSITU_* environment, profile file) and the
// output formats.
//
// Commands run in-process: NewRoot builds a fresh command tree bound to the
// given Streams, and Main runs it the way the binary does (one "insitu: ..."
// line on failure, an exit status). The package has no package-level mutable
// state, so tests may run many command trees concurrently.
package cli
