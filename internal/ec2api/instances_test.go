package ec2api

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// nilInstances answers every instance action with neither a response nor
// an error, as a buggy implementation could.
type nilInstances struct{}

func (nilInstances) RunInstances(context.Context, Caller, Params) (Response, error) { return nil, nil }
func (nilInstances) DescribeInstances(context.Context, Caller, Params) (Response, error) {
	return nil, nil
}
func (nilInstances) DescribeInstanceStatus(context.Context, Caller, Params) (Response, error) {
	return nil, nil
}
func (nilInstances) StopInstances(context.Context, Caller, Params) (Response, error) { return nil, nil }
func (nilInstances) StartInstances(context.Context, Caller, Params) (Response, error) {
	return nil, nil
}
func (nilInstances) RebootInstances(context.Context, Caller, Params) (Response, error) {
	return nil, nil
}
func (nilInstances) TerminateInstances(context.Context, Caller, Params) (Response, error) {
	return nil, nil
}
func (nilInstances) GetConsoleOutput(context.Context, Caller, Params) (Response, error) {
	return nil, nil
}
func (nilInstances) Exists(context.Context, string, string) error             { return nil }
func (nilInstances) GroupInUse(context.Context, string, string) (bool, error) { return false, nil }

// TestInstancesNilResponse: an implementation that answers nothing is an
// InternalError, not a panic writing a nil response.
func TestInstancesNilResponse(t *testing.T) {
	h := New(Config{Instances: nilInstances{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for a := range instanceActions {
		resp, err := h.dispatch(&call{ctx: context.Background(), action: a, account: "acct", p: Params{}})
		if err == nil || resp != nil {
			t.Fatalf("%s: %v %v", a, resp, err)
		}
		if e := toError(context.Background(), h.log, err); e.Code != "InternalError" || e.Status != 500 {
			t.Fatalf("%s: %+v", a, e)
		}
	}
}
