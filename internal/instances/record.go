package instances

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// Instance states (EC2's names and codes).
const (
	Pending      = "pending"
	Running      = "running"
	ShuttingDown = "shutting-down"
	Terminated   = "terminated"
	Stopping     = "stopping"
	Stopped      = "stopped"
)

// stateCodes are EC2's instanceState codes.
var stateCodes = map[string]int{Pending: 0, Running: 16, ShuttingDown: 32, Terminated: 48, Stopping: 64, Stopped: 80}

// Record is one instance, kept at ec2/instances/ACCOUNT/ID. It is
// changed only by compare-and-swap (update).
type Record struct {
	ID          string    `json:"id"`
	Reservation string    `json:"reservation"`
	Account     string    `json:"account"`
	ImageID     string    `json:"image"`
	Type        string    `json:"type"`
	KeyName     string    `json:"key,omitempty"`
	PublicKey   string    `json:"pubkey,omitempty"` // the key pair's key at launch
	Groups      []string  `json:"groups,omitempty"`
	UserData    string    `json:"user_data,omitempty"` // base64, as given
	Zone        string    `json:"zone"`
	Node        string    `json:"node"`
	IP          string    `json:"ip"` // private and public address
	State       string    `json:"state"`
	Reason      string    `json:"reason,omitempty"` // stateReason code
	ReasonMsg   string    `json:"reason_msg,omitempty"`
	Force       bool      `json:"force,omitempty"` // stopping: kill, no ACPI grace
	LaunchTime  time.Time `json:"launch"`
	Terminated  time.Time `json:"terminated,omitzero"`
	ClientToken string    `json:"token,omitempty"`
	LaunchIndex int       `json:"index"`
	VCPUs       int       `json:"vcpus"`
	MemoryMiB   int       `json:"memory"`
}

// recordsPrefix holds every instance record; recordKey one.
const recordsPrefix = "ec2/instances/"

func recordKey(account, id string) string { return recordsPrefix + account + "/" + id }

// active reports whether the instance holds memory on its node.
func (r *Record) active() bool {
	return r.State == Pending || r.State == Running || r.State == Stopping || r.State == ShuttingDown
}

// getRecord reads one record; meta.ErrNotFound when absent.
func getRecord(ctx context.Context, kv meta.Store, account, id string) (Record, []byte, error) {
	var r Record
	b, err := kv.Get(ctx, recordKey(account, id))
	if err != nil {
		return r, nil, err
	}
	return r, b, json.Unmarshal(b, &r)
}

// createRecord writes a new record (meta.ErrConflict when it exists).
func createRecord(ctx context.Context, kv meta.Store, r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return kv.CompareAndSwap(ctx, recordKey(r.Account, r.ID), nil, b)
}

// errNoChange stops an update without writing.
var errNoChange = errors.New("instances: no change")

// update applies fn to the record with compare-and-swap, retrying on
// conflict, and returns the record as written (or as read when fn
// returned errNoChange, which is then not an error). fn may be called
// more than once.
func update(ctx context.Context, kv meta.Store, account, id string, fn func(*Record) error) (Record, error) {
	for {
		r, old, err := getRecord(ctx, kv, account, id)
		if err != nil {
			return r, err
		}
		if err := fn(&r); err != nil {
			if errors.Is(err, errNoChange) {
				return r, nil
			}
			return r, err
		}
		b, err := json.Marshal(&r)
		if err != nil {
			return r, err
		}
		if bytes.Equal(b, old) {
			return r, nil
		}
		err = kv.CompareAndSwap(ctx, recordKey(account, id), old, b)
		if !errors.Is(err, meta.ErrConflict) {
			return r, err
		}
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
}

// transition moves the record from one of states from to state to (with
// a reason), and reports whether it did; a record in another state is
// left as it is.
func transition(ctx context.Context, kv meta.Store, account, id string, to, reason, msg string, from ...string) (Record, bool, error) {
	moved := false
	r, err := update(ctx, kv, account, id, func(r *Record) error {
		moved = false
		for _, f := range from {
			if r.State == f {
				r.State, r.Reason, r.ReasonMsg = to, reason, msg
				moved = true
				return nil
			}
		}
		return errNoChange
	})
	return r, moved, err
}

// listRecords returns every record under prefix (an account's, or all).
func listRecords(ctx context.Context, kv meta.Store, prefix string) ([]Record, error) {
	pairs, err := kv.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(pairs))
	for _, p := range pairs {
		var r Record
		if err := json.Unmarshal(p.Value, &r); err != nil {
			return nil, err
		}
		if strings.Count(strings.TrimPrefix(p.Key, recordsPrefix), "/") == 1 {
			out = append(out, r)
		}
	}
	return out, nil
}
