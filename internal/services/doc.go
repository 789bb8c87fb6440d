// Package services serves HTTP routes bound to apps, with a fresh sandbox
// for every request (the Zerg idea): /svc/NAME/... on the node's listener
// and Host NAME.svc.DOMAIN. The guest speaks CGI (RFC 3875): the request's
// meta-variables and headers in its environment, the body on stdin, a CGI
// response (headers, optional Status:, blank line, body) on stdout. Bodies
// stream both ways under quotas; nothing survives from one request to the
// next because every request is a new instance in a new sandbox.
//
// Service definitions live in the control-plane store under
// "services/<name>"; the app is pinned to a version when a service is
// created or updated, so an update switches atomically: a request reads
// the definition once, when it starts, and finishes on that version.
//
// A Manager is safe for concurrent use.
package services
