package instances

import (
	"context"
	"encoding/base64"
	"errors"
	"sort"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// DefaultType is the instance type of a RunInstances that names none.
const DefaultType = "t3.micro"

// maxUserData caps the user data (16 KiB decoded, as EC2).
const maxUserData = 16 << 10

// launch is a validated RunInstances request.
type launch struct {
	image, keyName, publicKey, userData, zone, token string
	typ                                              ec2api.InstanceType
	groups                                           []string
	tags                                             []ec2api.Tag
	min, max                                         int
}

// RunInstances launches MaxCount instances when there is room for them,
// else as many as there is room for if that is at least MinCount
// (InsufficientInstanceCapacity otherwise). It answers at once, with the
// instances pending; each boots on its node in the background.
func (m *Manager) RunInstances(ctx context.Context, c ec2api.Caller, p ec2api.Params) (ec2api.Response, error) {
	l, err := m.parseLaunch(ctx, c.AccountID, p)
	if err != nil {
		return nil, err
	}
	if c.DryRun {
		return nil, ec2api.DryRunError()
	}
	if l.token != "" {
		if resp, err := m.replayWhenWritten(ctx, c.AccountID, l.token, p); resp != nil || err != nil {
			return resp, err
		}
	}
	// One launch at a time through this node places and writes, so two
	// cannot both count the same free memory (launches through other
	// nodes at the same moment still can: placement is by what records
	// say).
	m.launchMu.Lock()
	defer m.launchMu.Unlock()
	count, err := m.withinVCPULimit(ctx, c.AccountID, l)
	if err != nil {
		return nil, err
	}
	targets, err := m.place(ctx, l.zone, count, l.typ.MemoryMiB)
	if err != nil {
		return nil, err
	}
	if len(targets) < l.min {
		return nil, ec2api.ErrInsufficientCapacity("We currently do not have sufficient %s capacity%s to launch %d instances.",
			l.typ.Name, inZone(l.zone), l.min)
	}
	resID := newID("r-")
	ids := make([]string, len(targets))
	for i := range ids {
		ids[i] = newID("i-")
	}
	if l.token != "" {
		if resp, err := m.claimToken(ctx, c.AccountID, l.token, p, resID, ids); resp != nil || err != nil {
			return resp, err
		}
	}
	recs, err := m.create(ctx, c.AccountID, l, resID, ids, targets)
	if err != nil {
		if l.token != "" { // the launch failed: a retry may launch afresh
			_ = m.kv.Delete(ctx, tokenKey(c.AccountID, l.token))
		}
		return nil, err
	}
	resp, err := m.runResponse(ctx, c.AccountID, resID, l.groups, recs)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func inZone(zone string) string {
	if zone == "" {
		return ""
	}
	return " in the Availability Zone you requested (" + zone + ")"
}

// parseLaunch validates a RunInstances request: the image, type, key
// pair, groups, zone, counts, user data and tags.
func (m *Manager) parseLaunch(ctx context.Context, account string, p ec2api.Params) (launch, error) {
	var l launch
	var err error
	if l.image, err = p.Required("ImageId"); err != nil {
		return l, err
	}
	if l.min, err = p.Int("MinCount", 1, 1, 1000); err != nil {
		return l, err
	}
	if l.max, err = p.Int("MaxCount", l.min, 1, 1000); err != nil {
		return l, err
	}
	if l.min > l.max {
		return l, ec2api.ErrInvalid("MinCount (%d) must not be greater than MaxCount (%d).", l.min, l.max)
	}
	name := p["InstanceType"]
	if name == "" {
		name = DefaultType
	}
	var ok bool
	if l.typ, ok = ec2api.LookupInstanceType(name); !ok {
		return l, ec2api.ErrInvalid("The instance type '%s' is not supported. Valid types: %s", name, typeNames())
	}
	if err := m.cfg.Images.Check(ctx, account, l.image); err != nil {
		return l, err
	}
	if err := m.parseAccess(ctx, account, p, &l); err != nil {
		return l, err
	}
	if l.zone, err = m.checkZone(ctx, p["Placement.AvailabilityZone"]); err != nil {
		return l, err
	}
	if l.userData, err = parseUserData(p["UserData"]); err != nil {
		return l, err
	}
	if l.tags, err = p.SpecTags("instance"); err != nil {
		return l, err
	}
	l.token = p["ClientToken"]
	if len(l.token) > 64 {
		return l, ec2api.ErrInvalid("The client token must be at most 64 characters.")
	}
	return l, nil
}

// parseAccess checks the key pair and the security groups.
func (m *Manager) parseAccess(ctx context.Context, account string, p ec2api.Params, l *launch) error {
	if l.keyName = p["KeyName"]; l.keyName != "" {
		key, err := m.cfg.Face.PublicKey(ctx, account, l.keyName)
		if err != nil {
			return err
		}
		l.publicKey = key
	}
	groups, err := p.List("SecurityGroupId")
	if err != nil {
		return err
	}
	if names, _ := p.List("SecurityGroup"); len(names) > 0 {
		return ec2api.ErrInvalid("Security groups are named by id here: use SecurityGroupId.N.")
	}
	seen := map[string]bool{}
	for _, g := range groups {
		if seen[g] {
			continue
		}
		seen[g] = true
		if _, err := m.cfg.Face.IngressRules(ctx, account, g); err != nil {
			return err
		}
		l.groups = append(l.groups, g)
	}
	return nil
}

func typeNames() string {
	s := ""
	for i, t := range ec2api.InstanceTypes() {
		if i > 0 {
			s += ", "
		}
		s += t.Name
	}
	return s
}

// checkZone returns the asked zone ("" for any) or InvalidParameterValue
// when the cloud has no such zone.
func (m *Manager) checkZone(ctx context.Context, zone string) (string, error) {
	if zone == "" {
		return "", nil
	}
	zones, err := m.cfg.Zones(ctx)
	if err != nil {
		return "", err
	}
	for _, z := range zones {
		if z == zone {
			return zone, nil
		}
	}
	return "", ec2api.ErrInvalid("Invalid availability zone: [%s]", zone)
}

// parseUserData checks base64 user data (at most 16 KiB decoded).
func parseUserData(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", ec2api.ErrInvalid("Invalid BASE64 encoding of user data.")
	}
	if len(b) > maxUserData {
		return "", ec2api.ErrInvalid("User data is limited to %d bytes.", maxUserData)
	}
	return s, nil
}

// create allocates an address and writes a pending record for each
// instance, tags it, and kicks its node. On a failure, the instances
// already created are terminated.
func (m *Manager) create(ctx context.Context, account string, l launch, resID string, ids []string, targets []target) ([]Record, error) {
	now := m.cfg.Now().UTC()
	var recs []Record
	for i, id := range ids {
		r := Record{ID: id, Reservation: resID, Account: account, ImageID: l.image, Type: l.typ.Name,
			KeyName: l.keyName, PublicKey: l.publicKey, Groups: l.groups, UserData: l.userData,
			Zone: targets[i].zone, Node: targets[i].node, State: Pending, LaunchTime: now,
			ClientToken: l.token, LaunchIndex: i, VCPUs: l.typ.VCPUs, MemoryMiB: l.typ.MemoryMiB}
		err := m.createOne(ctx, &r, l.tags)
		if err != nil {
			m.abandon(ctx, recs)
			return nil, err
		}
		recs = append(recs, r)
	}
	for _, r := range recs {
		m.kick(ctx, r)
	}
	return recs, nil
}

func (m *Manager) createOne(ctx context.Context, r *Record, tags []ec2api.Tag) error {
	ip, err := m.pool.allocate(ctx, r.ID)
	if errors.Is(err, errPoolFull) {
		return ec2api.ErrInsufficientCapacity("No instance address is free in %s.", m.cfg.Net)
	}
	if err != nil {
		return err
	}
	r.IP = ip
	if err := createRecord(ctx, m.kv, r); err != nil {
		_ = m.pool.release(ctx, ip, r.ID)
		return err
	}
	if err := m.cfg.Face.SetOwner(ctx, r.ID, r.Account); err != nil {
		return err
	}
	return m.cfg.Face.SetTags(ctx, r.Account, r.ID, tags)
}

// abandon terminates instances of a launch that failed half way.
func (m *Manager) abandon(ctx context.Context, recs []Record) {
	for _, r := range recs {
		if _, _, err := transition(ctx, m.kv, r.Account, r.ID, ShuttingDown, reasonInternal,
			"Server.InternalError: the launch failed", Pending); err == nil {
			m.kick(ctx, r)
		}
	}
}

// runResponse answers RunInstances with the reservation's instances.
func (m *Manager) runResponse(ctx context.Context, account, resID string, groups []string, recs []Record) (*runResp, error) {
	sort.Slice(recs, func(i, j int) bool { return recs[i].LaunchIndex < recs[j].LaunchIndex })
	resp := &runResp{}
	resp.ReservationID, resp.OwnerID = resID, account
	for _, g := range groups {
		resp.Groups = append(resp.Groups, groupXML{GroupID: g})
	}
	for _, r := range recs {
		tags, err := m.cfg.Face.TagMap(ctx, account, r.ID)
		if err != nil {
			return nil, err
		}
		resp.Instances = append(resp.Instances, instanceOf(r, tags, nil))
	}
	return resp, nil
}
