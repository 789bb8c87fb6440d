package instances

import (
	"context"
	"net/http"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// DefaultAccountVCPUs is Config.AccountVCPUs' default: 16 t3.nano.
const DefaultAccountVCPUs = 32

// withinVCPULimit returns how many of the launch's instances (MaxCount
// down to MinCount) the account's vCPU limit leaves room for, counting
// its instances that are not stopped or terminated, or
// VcpuLimitExceeded when not even MinCount fit.
func (m *Manager) withinVCPULimit(ctx context.Context, account string, l launch) (int, error) {
	used, err := m.vcpusInUse(ctx, account)
	if err != nil {
		return 0, err
	}
	per := max(l.typ.VCPUs, 1)
	room := max(m.cfg.AccountVCPUs-used, 0) / per
	if room < l.min {
		return 0, m.errVCPULimit(used)
	}
	return min(room, l.max), nil
}

// startFits refuses a StartInstances whose stopped targets would take
// the account past its vCPU limit (all or nothing, as EC2 does).
func (m *Manager) startFits(ctx context.Context, account string, targets []Record) error {
	used, err := m.vcpusInUse(ctx, account)
	if err != nil {
		return err
	}
	more := 0
	for _, r := range targets {
		if r.State == Stopped {
			more += r.VCPUs
		}
	}
	if more > 0 && used+more > m.cfg.AccountVCPUs {
		return m.errVCPULimit(used)
	}
	return nil
}

// vcpusInUse sums the vCPUs of the account's instances that are not
// stopped or terminated.
func (m *Manager) vcpusInUse(ctx context.Context, account string) (int, error) {
	recs, err := listRecords(ctx, m.kv, recordsPrefix+account+"/")
	if err != nil {
		return 0, err
	}
	used := 0
	for _, r := range recs {
		if r.State != Stopped && r.State != Terminated {
			used += r.VCPUs
		}
	}
	return used, nil
}

// Live counts the account's instances that are not terminated: a stopped
// one keeps its disk and can start again. The account removal refuses
// while any is left.
func (m *Manager) Live(ctx context.Context, account string) (int, error) {
	recs, err := listRecords(ctx, m.kv, recordsPrefix+account+"/")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		if r.State != Terminated {
			n++
		}
	}
	return n, nil
}

func (m *Manager) errVCPULimit(used int) error {
	return ec2api.Errorf(http.StatusBadRequest, "VcpuLimitExceeded",
		"You have requested more vCPU capacity than your current vCPU limit of %d allows for the instance bucket that the specified instance type belongs to (%d in use).",
		m.cfg.AccountVCPUs, used)
}
