// Package app wires a node together: the control-plane store, the storage
// engine, accounts, and the HTTP faces (S3, native API, operations) behind
// one listener. New builds a node, Run serves it until its context ends,
// Close releases it. There is no package-level state, so several nodes can
// live in one process (tests do this).
package app
