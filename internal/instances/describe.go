package instances

import (
	"context"
	"sort"
	"strconv"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// visible is one of an account's instances as listings show it.
type visible struct {
	r    Record
	tags map[string]string
}

// instanceIDs parses InstanceId.N, refusing malformed ids.
func instanceIDs(p ec2api.Params) ([]string, error) {
	ids, err := p.List("InstanceId")
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !validID(id) {
			return nil, errMalformed(id)
		}
	}
	return ids, nil
}

// listVisible returns account's instances in id order, those named by
// ids only (each must exist: InvalidInstanceID.NotFound), that pass the
// filters. Terminated instances older than TerminatedTTL are not shown.
func (m *Manager) listVisible(ctx context.Context, account string, ids []string, filters []ec2api.Filter, f func(Record) ec2api.Fields) ([]visible, error) {
	recs, err := listRecords(ctx, m.kv, recordsPrefix+account+"/")
	if err != nil {
		return nil, err
	}
	byID := map[string]Record{}
	for _, r := range recs {
		if !m.expired(r) {
			byID[r.ID] = r
		}
	}
	for _, id := range ids {
		if _, ok := byID[id]; !ok {
			return nil, errNotFound(id)
		}
	}
	var out []visible
	for _, r := range recs {
		if _, ok := byID[r.ID]; !ok || (len(ids) > 0 && !contains(ids, r.ID)) {
			continue
		}
		tags, err := m.cfg.Face.TagMap(ctx, account, r.ID)
		if err != nil {
			return nil, err
		}
		ok, err := ec2api.Applies(filters, f(r), tags)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, visible{r, tags})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].r.ID < out[j].r.ID })
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// expired reports whether a terminated record is past TerminatedTTL.
func (m *Manager) expired(r Record) bool {
	return r.State == Terminated && !r.Terminated.IsZero() && m.cfg.Now().Sub(r.Terminated) > m.cfg.TerminatedTTL
}

// instanceFields are the DescribeInstances filters.
func instanceFields(r Record) ec2api.Fields {
	return func(name string) ([]string, bool) {
		switch name {
		case "instance-id":
			return []string{r.ID}, true
		case "instance-state-name":
			return []string{r.State}, true
		case "instance-state-code":
			return []string{strconv.Itoa(stateCodes[r.State])}, true
		case "image-id":
			return []string{r.ImageID}, true
		case "instance-type":
			return []string{r.Type}, true
		case "availability-zone":
			return []string{r.Zone}, true
		case "key-name":
			return []string{r.KeyName}, true
		case "reservation-id":
			return []string{r.Reservation}, true
		case "private-ip-address", "ip-address":
			return []string{r.IP}, true
		case "instance.group-id", "group-id":
			return r.Groups, true
		case "client-token":
			return []string{r.ClientToken}, true
		}
		return nil, false
	}
}

// DescribeInstances lists the caller's instances grouped by reservation
// (InstanceId.N, Filter.N, MaxResults 5..1000 with NextToken; InstanceId
// and MaxResults do not go together, as on EC2).
func (m *Manager) DescribeInstances(ctx context.Context, c ec2api.Caller, p ec2api.Params) (ec2api.Response, error) {
	ids, filters, pg, err := listArgs(p, instanceFields(Record{}))
	if err != nil {
		return nil, err
	}
	if c.DryRun {
		return nil, ec2api.DryRunError()
	}
	vis, err := m.listVisible(ctx, c.AccountID, ids, filters, instanceFields)
	if err != nil {
		return nil, err
	}
	page, next := ec2api.PageOf(vis, pg, func(v visible) string { return v.r.ID })
	resp := &describeResp{NextToken: next}
	at := map[string]int{}
	for _, v := range page {
		i, ok := at[v.r.Reservation]
		if !ok {
			i = len(resp.Reservations)
			at[v.r.Reservation] = i
			res := reservationXML{ReservationID: v.r.Reservation, OwnerID: v.r.Account}
			for _, g := range v.r.Groups {
				res.Groups = append(res.Groups, groupXML{GroupID: g})
			}
			resp.Reservations = append(resp.Reservations, res)
		}
		resp.Reservations[i].Instances = append(resp.Reservations[i].Instances, instanceOf(v.r, v.tags, m.lostReason(v.r)))
	}
	return resp, nil
}

// listArgs parses InstanceId.N, Filter.N (checked against f) and paging.
func listArgs(p ec2api.Params, f ec2api.Fields) ([]string, []ec2api.Filter, ec2api.Paging, error) {
	var pg ec2api.Paging
	ids, err := instanceIDs(p)
	if err != nil {
		return nil, nil, pg, err
	}
	filters, err := p.Filters()
	if err != nil {
		return nil, nil, pg, err
	}
	if err := ec2api.KnownFilters(filters, f); err != nil {
		return nil, nil, pg, err
	}
	if _, ok := p["MaxResults"]; ok && len(ids) > 0 {
		return nil, nil, pg, ec2api.ErrInvalid("The parameter instancesSet cannot be used with the parameter maxResults")
	}
	pg, err = p.Page(5, 1000)
	return ids, filters, pg, err
}

// lostReason is the state reason of an instance whose node is down: it
// keeps its last known state, with this reason.
func (m *Manager) lostReason(r Record) *reasonXML {
	if r.State == Terminated || r.State == Stopped || !m.nodeDown(r.Node) {
		return nil
	}
	return &reasonXML{Code: reasonInternal, Message: "Server.InternalError: the instance's node " + r.Node + " is unreachable"}
}

// statusFields are the DescribeInstanceStatus filters.
func (m *Manager) statusFields(r Record) ec2api.Fields {
	return func(name string) ([]string, bool) {
		switch name {
		case "availability-zone", "instance-state-name", "instance-state-code", "instance-id":
			return instanceFields(r)(name)
		case "system-status.status", "instance-status.status":
			return []string{m.health(r)}, true
		}
		return nil, false
	}
}

// health is an instance's status check: ok when running on a live node,
// impaired when its node is down, not-applicable when not running.
func (m *Manager) health(r Record) string {
	switch {
	case r.State != Running && r.State != Pending:
		return "not-applicable"
	case m.nodeDown(r.Node):
		return "impaired"
	case r.State == Pending:
		return "initializing"
	}
	return "ok"
}

// DescribeInstanceStatus reports the status checks of the caller's
// running instances (all of them with IncludeAllInstances=true).
func (m *Manager) DescribeInstanceStatus(ctx context.Context, c ec2api.Caller, p ec2api.Params) (ec2api.Response, error) {
	ids, filters, pg, err := listArgs(p, m.statusFields(Record{}))
	if err != nil {
		return nil, err
	}
	all, err := p.Bool("IncludeAllInstances")
	if err != nil {
		return nil, err
	}
	if c.DryRun {
		return nil, ec2api.DryRunError()
	}
	vis, err := m.listVisible(ctx, c.AccountID, ids, filters, m.statusFields)
	if err != nil {
		return nil, err
	}
	var items []instanceStatusXML
	for _, v := range vis {
		if !all && v.r.State != Running {
			continue
		}
		h := m.health(v.r)
		reach := "failed"
		if h == "ok" {
			reach = "passed"
		}
		check := statusXML{Status: h, Details: []detailXML{{Name: "reachability", Status: reach}}}
		items = append(items, instanceStatusXML{InstanceID: v.r.ID, Zone: v.r.Zone, State: stateOf(v.r.State), SystemStatus: check, InstanceStatus: check})
	}
	resp := &statusResp{}
	resp.Statuses, resp.NextToken = ec2api.PageOf(items, pg, func(s instanceStatusXML) string { return s.InstanceID })
	return resp, nil
}
