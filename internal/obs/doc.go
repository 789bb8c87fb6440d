// Package obs is request-scoped observability shared by every face of a
// node: request ids, a per-request logger, and Prometheus metrics
// (requests by API, operation and status; latency; bytes in and out).
//
// Middleware assigns each request an id, sets the x-amz-request-id header,
// and stores an *Info in the request context. Handlers name the operation
// with SetOp so metrics and logs carry it.
//
// BodyDeadlines bounds how long a peer may take to send a request body or
// take a response body, per 64 KiB of progress (ErrBodyTimeout).
package obs
