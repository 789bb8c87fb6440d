// Package auth owns accounts and their access keys. Accounts live in the
// control-plane store (internal/meta) under "accounts/<name>", with an index
// "keys/<access key>" -> name. Request signatures are verified by the
// sigv4 sub-package, which looks keys up through Accounts.Lookup.
//
// Accounts is safe for concurrent use.
package auth
