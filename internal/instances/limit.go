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
	per := max(l.typ.VCPUs, 1)
	room := max(m.cfg.AccountVCPUs-used, 0) / per
	if room < l.min {
		return 0, ec2api.Errorf(http.StatusBadRequest, "VcpuLimitExceeded",
			"You have requested more vCPU capacity than your current vCPU limit of %d allows for the instance bucket that the specified instance type belongs to (%d in use).",
			m.cfg.AccountVCPUs, used)
	}
	return min(room, l.max), nil
}
