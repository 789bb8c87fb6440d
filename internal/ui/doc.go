// Package ui serves the dashboard at /ui/ on the node's listener:
// server-rendered pages (html/template) with embedded assets (go:embed)
// and a few lines of plain JavaScript for uploads; no build step.
//
// Sign-in exchanges an access key and its secret (checked by
// auth.Accounts.CheckSecret) for a server-side session named by a random
// cookie; the secret never reaches the browser again. Every request
// re-reads the session's key through auth.Accounts.Lookup, so a rotated or
// removed key ends its sessions at once. Every state-changing request
// carries the session's CSRF token and must not come from another site.
// Every ownership check goes through auth.Owns / auth.OwnsBucket.
//
// A Handler is safe for concurrent use; it starts no goroutines.
package ui
