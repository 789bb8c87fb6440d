// Package storetest is the conformance suite every store.Engine passes.
//
// A backend's test calls Run with a constructor that returns a fresh, empty
// engine (closed by the constructor's t.Cleanup). Each subtest gets its own
// engine, and subtests run in parallel.
package storetest
