// Package api serves insitu's native JSON API under /api/v1/, used by the
// CLI and the dashboard. Every request is authenticated with AWS SigV4 (any
// service name in the scope); /api/v1/admin/* is for the root account only.
// Errors are {"error":{"code":"...","message":"..."}} with an HTTP status.
//
// A Handler is safe for concurrent use.
package api
