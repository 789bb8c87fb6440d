// Package runs executes apps over objects on behalf of an account and keeps
// the record of every run. It resolves the app in the registry, checks that
// the caller may read every input and write every output before anything
// starts, opens input objects in place (the program moves to the data: the
// sandbox worker reads the object's own file), runs the sandbox, stores
// /out files and object-bound stdout/stderr as objects, and writes a Record.
//
// In a cluster (Config.Remote), a run over an object this node does not
// hold executes on a holder through RunAt and the internal endpoint that
// ServeRemote serves (remote.go, remote_wire.go).
//
// Records live in the control-plane store under "runs/<account>/<id>"; ids
// are UUIDv7, so they list in start order. Every run has one, service
// requests included; they are group-committed (commit.go: many records per
// durable write, the caller answered once its batch is durable). A Service
// is safe for concurrent use; Close drains the record committer.
package runs
