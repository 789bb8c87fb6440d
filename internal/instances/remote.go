package instances

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// RemotePath is the internal endpoint (under the cluster's signed
// /_cluster/v1/) through which a node asks an instance's node to act on
// it: POST RemotePath + OP, OP one of kick, reboot, console.
const RemotePath = "/_cluster/v1/instances/"

// kickTimeout bounds a kick, which a launch or an action waits for.
const kickTimeout = 2 * time.Second

type remoteArgs struct {
	Account string `json:"account"`
	ID      string `json:"id"`
}

// remoteReply carries an answer, or an EC2 error as it was.
type remoteReply struct {
	Console []byte        `json:"console,omitempty"`
	Error   *ec2api.Error `json:"error,omitempty"`
}

// kickRemote asks the instance's node to converge it now (best effort:
// its loop does within ReconcileEvery).
func (m *Manager) kickRemote(ctx context.Context, r Record) {
	ctx, cancel := context.WithTimeout(ctx, kickTimeout)
	defer cancel()
	if err := m.remoteOp(ctx, r, "kick", nil); err != nil {
		m.log.Debug("instance: kick node", "instance", r.ID, "node", r.Node, "err", err)
	}
}

// remoteOp runs op on the instance's node; console bytes go to *out.
func (m *Manager) remoteOp(ctx context.Context, r Record, op string, out *[]byte) error {
	if m.cfg.Cluster == nil {
		return errors.New("instances: the instance's node " + r.Node + " is not this one and there is no cluster")
	}
	var rep remoteReply
	if err := m.cfg.Cluster.Call(ctx, r.Node, http.MethodPost, RemotePath+op, remoteArgs{r.Account, r.ID}, &rep); err != nil {
		return ec2api.Errorf(http.StatusServiceUnavailable, "Unavailable",
			"The instance's node %s cannot be reached: %v", r.Node, err)
	}
	if rep.Error != nil {
		return rep.Error
	}
	if out != nil {
		*out = rep.Console
	}
	return nil
}

// ServeRemote serves RemotePath+"{op}" for other nodes; the cluster's
// handler has checked the member signature.
func (m *Manager) ServeRemote(w http.ResponseWriter, r *http.Request) {
	var a remoteArgs
	var rep remoteReply
	err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&a)
	if err == nil && !validID(a.ID) {
		err = errMalformed(a.ID)
	}
	if err == nil {
		switch r.PathValue("op") {
		case "kick":
			m.converge(a.Account, a.ID)
		case "reboot":
			err = m.resetLocal(r.Context(), a.ID)
		case "console":
			rep.Console, err = m.cfg.Hypervisor.ConsoleTail(m.dir(a.ID), consoleMax)
		default:
			err = ec2api.ErrInvalid("unknown instance operation %q", r.PathValue("op"))
		}
	}
	if err != nil {
		var e *ec2api.Error
		if !errors.As(err, &e) {
			m.log.Warn("instance: remote operation", "op", r.PathValue("op"), "instance", a.ID, "err", err)
			e = ec2api.Errorf(http.StatusInternalServerError, "InternalError", "An internal error has occurred.")
		}
		rep.Error = e
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rep)
}
