package instances

import (
	"context"
	"errors"

	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/meta"
)

// targets parses InstanceId.N (at least one) and reads each record of
// the caller; another account's instance is not found (a DryRun naming
// it is UnauthorizedOperation).
func (m *Manager) targets(ctx context.Context, c ec2api.Caller, p ec2api.Params) ([]Record, error) {
	ids, err := instanceIDs(p)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, ec2api.ErrMissing("InstanceId")
	}
	var out []Record
	for _, id := range ids {
		r, err := m.record(ctx, c, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// record reads one of the caller's instances.
func (m *Manager) record(ctx context.Context, c ec2api.Caller, id string) (Record, error) {
	r, _, err := getRecord(ctx, m.kv, c.AccountID, id)
	if errors.Is(err, meta.ErrNotFound) || (err == nil && m.expired(r)) {
		if c.DryRun {
			if owner, oerr := m.cfg.Face.OwnerOf(ctx, id); oerr == nil && owner != "" && owner != c.AccountID {
				return r, ec2api.ErrUnauthorized()
			}
		}
		return r, errNotFound(id)
	}
	return r, err
}

// change is one instance's move: the states it may leave, the state it
// enters, and the states it is left in as they are (answered as is).
type change struct {
	verb      string   // for IncorrectInstanceState: "stopped", "started", ...
	from      []string // moved from these...
	to        string   // ...to this
	keep      []string // left as they are
	reason    string
	reasonMsg string
	force     bool // a stop that kills at once (StopInstances Force)
}

// move makes one instance's change, if its state is one of ch.from.
func (m *Manager) move(ctx context.Context, r Record, ch change) (Record, bool, error) {
	moved := false
	next, err := update(ctx, m.kv, r.Account, r.ID, func(x *Record) error {
		moved = contains(ch.from, x.State)
		if !moved {
			return errNoChange
		}
		x.State, x.Reason, x.ReasonMsg, x.Force = ch.to, ch.reason, ch.reasonMsg, ch.force
		return nil
	})
	return next, moved, err
}

// apply checks every target's state first (all or nothing, as EC2), then
// moves each, kicks its node, and answers the changes.
func (m *Manager) apply(ctx context.Context, c ec2api.Caller, p ec2api.Params, ch change) (ec2api.Response, error) {
	recs, err := m.targets(ctx, c, p)
	if err != nil {
		return nil, err
	}
	return m.applyTo(ctx, c, recs, ch)
}

// applyTo is apply on targets already read.
func (m *Manager) applyTo(ctx context.Context, c ec2api.Caller, recs []Record, ch change) (ec2api.Response, error) {
	for _, r := range recs {
		if !contains(ch.from, r.State) && !contains(ch.keep, r.State) {
			return nil, errIncorrectState(r.ID, r.State, ch.verb)
		}
	}
	if c.DryRun {
		return nil, ec2api.DryRunError()
	}
	resp := &changeResp{}
	for _, r := range recs {
		prev := r.State
		next, moved, err := m.move(ctx, r, ch)
		if err != nil {
			return nil, err
		}
		if moved {
			m.kick(ctx, next)
		}
		resp.Instances = append(resp.Instances, changeXML{InstanceID: r.ID, Current: stateOf(next.State), Previous: stateOf(prev)})
	}
	return resp, nil
}

// StopInstances powers instances down (ACPI, then a hard stop after
// StopGrace; at once with Force); their disks and addresses are kept.
func (m *Manager) StopInstances(ctx context.Context, c ec2api.Caller, p ec2api.Params) (ec2api.Response, error) {
	force, err := p.Bool("Force")
	if err != nil {
		return nil, err
	}
	return m.apply(ctx, c, p, change{verb: "stopped", from: []string{Pending, Running}, to: Stopping, force: force,
		keep: []string{Stopping, Stopped}, reason: reasonUser, reasonMsg: "Client.UserInitiatedShutdown: User initiated shutdown"})
}

// StartInstances boots stopped instances again from their disks; a
// pending or running one is answered as it is.
func (m *Manager) StartInstances(ctx context.Context, c ec2api.Caller, p ec2api.Params) (ec2api.Response, error) {
	recs, err := m.targets(ctx, c, p)
	if err != nil {
		return nil, err
	}
	if err := m.startFits(ctx, c.AccountID, recs); err != nil {
		return nil, err
	}
	return m.applyTo(ctx, c, recs, change{verb: "started", from: []string{Stopped}, to: Pending, keep: []string{Pending, Running}})
}

// TerminateInstances kills instances, deletes their disks and frees their
// addresses; the records stay visible for TerminatedTTL.
func (m *Manager) TerminateInstances(ctx context.Context, c ec2api.Caller, p ec2api.Params) (ec2api.Response, error) {
	return m.apply(ctx, c, p, change{verb: "terminated", from: []string{Pending, Running, Stopping, Stopped},
		to: ShuttingDown, keep: []string{ShuttingDown, Terminated},
		reason: reasonUser, reasonMsg: "Client.UserInitiatedShutdown: User initiated shutdown"})
}

// RebootInstances resets running instances (a pending one is left to
// boot; any other state is IncorrectInstanceState).
func (m *Manager) RebootInstances(ctx context.Context, c ec2api.Caller, p ec2api.Params) (ec2api.Response, error) {
	recs, err := m.targets(ctx, c, p)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.State != Running && r.State != Pending {
			return nil, errIncorrectState(r.ID, r.State, "rebooted")
		}
	}
	if c.DryRun {
		return nil, ec2api.DryRunError()
	}
	for _, r := range recs {
		if r.State == Running {
			if err := m.reboot(ctx, r); err != nil {
				return nil, err
			}
		}
	}
	return &returnResp{Return: true}, nil
}

// reboot resets the instance's machine, here or on its node.
func (m *Manager) reboot(ctx context.Context, r Record) error {
	if r.Node != m.cfg.Node {
		return m.remoteOp(ctx, r, "reboot", nil)
	}
	return m.resetLocal(ctx, r.ID)
}

func (m *Manager) resetLocal(ctx context.Context, id string) error {
	m.mu.Lock()
	l := m.local[id]
	m.mu.Unlock()
	if l == nil {
		return nil // not running here (any more)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		return nil
	}
	return l.m.Reset(ctx)
}

// Exists reports whether account has instance id (CreateTags, DeleteTags).
func (m *Manager) Exists(ctx context.Context, account, id string) error {
	_, err := m.record(ctx, ec2api.Caller{AccountID: account}, id)
	return err
}

// GroupInUse reports whether an instance of account that is not
// terminated uses group id.
func (m *Manager) GroupInUse(ctx context.Context, account, groupID string) (bool, error) {
	recs, err := listRecords(ctx, m.kv, recordsPrefix+account+"/")
	if err != nil {
		return false, err
	}
	for _, r := range recs {
		if r.State != Terminated && contains(r.Groups, groupID) {
			return true, nil
		}
	}
	return false, nil
}
