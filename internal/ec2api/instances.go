package ec2api

import (
	"context"
	"fmt"
	"net/http"
)

// Caller is who makes an instance call: the account id every record is
// kept under, and whether the call is a DryRun (the implementation
// answers DryRunError() where the call would succeed, before changing
// anything).
type Caller struct {
	AccountID string
	DryRun    bool
}

// Instances serves the instance actions (the lifecycle slice implements
// it). Each method gets the request's parameters (parse them with Params'
// methods: List("InstanceId"), Filters(), TagSpecs(), Int, Bool, ...) and
// returns a Response or an error; an *Error is sent as it is, anything
// else as InternalError. Implementations must be safe for concurrent use
// and must show each account only its own instances.
type Instances interface {
	RunInstances(ctx context.Context, c Caller, p Params) (Response, error)
	DescribeInstances(ctx context.Context, c Caller, p Params) (Response, error)
	DescribeInstanceStatus(ctx context.Context, c Caller, p Params) (Response, error)
	StopInstances(ctx context.Context, c Caller, p Params) (Response, error)
	StartInstances(ctx context.Context, c Caller, p Params) (Response, error)
	RebootInstances(ctx context.Context, c Caller, p Params) (Response, error)
	TerminateInstances(ctx context.Context, c Caller, p Params) (Response, error)
	GetConsoleOutput(ctx context.Context, c Caller, p Params) (Response, error)

	// Exists returns nil when account has instance id, else an *Error
	// (InvalidInstanceID.NotFound); CreateTags and DeleteTags use it.
	Exists(ctx context.Context, account, id string) error
	// GroupInUse reports whether any of account's instances that is not
	// terminated uses security group id (DeleteSecurityGroup refuses then).
	GroupInUse(ctx context.Context, account, groupID string) (bool, error)
}

// instanceActions are the actions Config.Instances serves.
var instanceActions = map[string]bool{
	"RunInstances": true, "DescribeInstances": true, "DescribeInstanceStatus": true,
	"StopInstances": true, "StartInstances": true, "RebootInstances": true,
	"TerminateInstances": true, "GetConsoleOutput": true,
}

// DryRunError is the answer of a DryRun call that would have succeeded.
func DryRunError() error { return errDryRun() }

func (h *Handler) instanceAction(c *call) (Response, error) {
	in := h.cfg.Instances
	if in == nil {
		return nil, errorf(http.StatusBadRequest, "UnsupportedOperation",
			"The action %s is not supported by this node: it runs no virtual machines.", c.action)
	}
	resp, err := callInstances(c, in)
	if err == nil && resp == nil {
		err = fmt.Errorf("ec2api: %s answered no response", c.action)
	}
	return resp, err
}

func callInstances(c *call, in Instances) (Response, error) {
	caller := Caller{AccountID: c.account, DryRun: c.dryRun}
	switch c.action {
	case "RunInstances":
		return in.RunInstances(c.ctx, caller, c.p)
	case "DescribeInstances":
		return in.DescribeInstances(c.ctx, caller, c.p)
	case "DescribeInstanceStatus":
		return in.DescribeInstanceStatus(c.ctx, caller, c.p)
	case "StopInstances":
		return in.StopInstances(c.ctx, caller, c.p)
	case "StartInstances":
		return in.StartInstances(c.ctx, caller, c.p)
	case "RebootInstances":
		return in.RebootInstances(c.ctx, caller, c.p)
	case "TerminateInstances":
		return in.TerminateInstances(c.ctx, caller, c.p)
	default:
		return in.GetConsoleOutput(c.ctx, caller, c.p)
	}
}

// The accessors below let the instance lifecycle read what this face
// keeps: a key pair's public key, a group's rules, a resource's tags.

// PublicKey returns the OpenSSH public key line of account's key pair
// name, or InvalidKeyPair.NotFound.
func (h *Handler) PublicKey(ctx context.Context, account, name string) (string, error) {
	kp, err := h.keyPairByName(&call{ctx: ctx, account: account}, name)
	return kp.PublicKey, err
}

// IngressRules returns the ingress rules of account's group id, or
// InvalidGroup.NotFound.
func (h *Handler) IngressRules(ctx context.Context, account, id string) ([]Rule, error) {
	g, err := h.groupByID(&call{ctx: ctx, account: account}, id)
	return g.Ingress, err
}

// Tags returns the tags of account's resource id, in key order.
func (h *Handler) Tags(ctx context.Context, account, id string) ([]Tag, error) {
	tags, err := h.tagsOf(&call{ctx: ctx, account: account}, id)
	return tagSet(tags), err
}

// SetTags adds tags to account's resource id (validated as CreateTags
// does); DropTags forgets them all (the resource is gone).
func (h *Handler) SetTags(ctx context.Context, account, id string, tags []Tag) error {
	if err := validTags(tags); err != nil {
		return err
	}
	return h.addTags(&call{ctx: ctx, account: account}, id, tags)
}

// DropTags forgets every tag of account's resource id.
func (h *Handler) DropTags(ctx context.Context, account, id string) error {
	return h.dropTags(&call{ctx: ctx, account: account}, id)
}
