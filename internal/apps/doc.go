// Package apps is the app registry: WebAssembly modules (WASI preview1
// commands) with a manifest, owned by an account, referred to as
// NAME[:VERSION] (the latest pushed version when VERSION is omitted) or
// OWNER/NAME[:VERSION] for another account's public app.
//
// Module bytes are stored content-addressed (by SHA-256) under the data
// directory: blobs/<hex>.wasm, written durably (temp file, fsync, rename)
// before the record that names them. Records live in the control-plane
// store (internal/meta) under "apps/<owner>/<name>/<version>", with the
// latest version of each name at "apps-latest/<owner>/<name>". Modules are
// validated (sandbox.Validate) before anything is stored, so a module that
// is not a WASI command, or imports anything else, never enters the
// registry.
//
// A Registry is safe for concurrent use.
package apps
