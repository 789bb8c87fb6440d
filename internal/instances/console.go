package instances

import (
	"context"
	"encoding/base64"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// consoleMax is how much of the console GetConsoleOutput returns: the
// last 64 KiB, as EC2.
const consoleMax = 64 << 10

// GetConsoleOutput returns the last 64 KiB of the instance's serial
// console (base64), read on its node.
func (m *Manager) GetConsoleOutput(ctx context.Context, c ec2api.Caller, p ec2api.Params) (ec2api.Response, error) {
	id, err := p.Required("InstanceId")
	if err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, errMalformed(id)
	}
	if _, err := p.Bool("Latest"); err != nil {
		return nil, err
	}
	r, err := m.record(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if c.DryRun {
		return nil, ec2api.DryRunError()
	}
	var out []byte
	if r.Node == m.cfg.Node {
		out, err = m.cfg.Hypervisor.ConsoleTail(m.dir(id), consoleMax)
	} else {
		err = m.remoteOp(ctx, r, "console", &out)
	}
	if err != nil {
		return nil, err
	}
	return &consoleResp{InstanceID: id, Timestamp: timeXML(m.cfg.Now()), Output: base64.StdEncoding.EncodeToString(out)}, nil
}
