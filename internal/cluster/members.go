package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// LeaseTTL is the lease of a node's liveness key: a node that stops
// renewing it is down within LeaseTTL plus one view refresh.
const LeaseTTL = 5 // seconds

// viewEvery is how often a node re-reads the membership.
const viewEvery = time.Second

// Usage is a node's capacity and use, published in its membership.
type Usage struct {
	Slots       int   `json:"slots"`
	SlotsUsed   int   `json:"slots_used"`
	Memory      int64 `json:"memory"`
	MemoryUsed  int64 `json:"memory_used"`
	Disk        int64 `json:"disk"`
	DiskUsed    int64 `json:"disk_used"`
	RunsWaiting int   `json:"runs_waiting"`
}

// RepairStats is a node's repair progress, published in its membership.
type RepairStats struct {
	Passes          int64     `json:"passes"`
	LastPass        time.Time `json:"last_pass"`
	Objects         int64     `json:"objects"`          // held at the last pass
	UnderReplicated int64     `json:"under_replicated"` // reported by this node, not yet repaired
	Copied          int64     `json:"copied"`           // replicas written since start
	Dropped         int64     `json:"dropped"`          // local copies dropped since start
	// Asked changes whenever this node asks every node for a repair pass
	// (a write missed a replica, a corrupt copy was dropped, a suspect
	// peer answers again); it starts at the node's start time in
	// nanoseconds, so a restart asks too.
	Asked int64 `json:"asked"`
}

// Member states.
const (
	StateUp       = "up"
	StateDown     = "down"
	StateDraining = "draining"
)

// NodeRecord is a node's permanent record, nodes/NAME.
type NodeRecord struct {
	Name     string    `json:"name"`
	Zone     string    `json:"zone"`
	Endpoint string    `json:"endpoint"`
	EtcdPeer string    `json:"etcd_peer,omitempty"`
	EtcdURL  string    `json:"etcd_client,omitempty"`
	Draining bool      `json:"draining,omitempty"`
	Joined   time.Time `json:"joined"`
}

// Alive is a node's leased heartbeat, alive/NAME.
type Alive struct {
	Usage  Usage       `json:"usage"`
	Repair RepairStats `json:"repair"`
	At     time.Time   `json:"at"`
}

// NodeStatus is one node as the view sees it.
type NodeStatus struct {
	NodeRecord
	State  string      `json:"state"`
	Usage  Usage       `json:"usage"`
	Repair RepairStats `json:"repair"`
}

// view is this node's picture of the membership, refreshed every
// viewEvery. Readers take a snapshot; it is safe for concurrent use.
type view struct {
	c       *Cluster
	mu      sync.RWMutex
	nodes   []NodeStatus  // by name
	changed chan struct{} // closed and replaced when the live set changes
	asked   chan struct{} // closed and replaced when a node asks for repair
	repair  RepairStats
}

func newView(c *Cluster) *view {
	return &view{c: c, changed: make(chan struct{}), asked: make(chan struct{}),
		repair: RepairStats{Asked: time.Now().UnixNano()}}
}

// register writes this node's record, then keeps its leased heartbeat
// and the view fresh until Close.
func (c *Cluster) register(ctx context.Context) error {
	rec := NodeRecord{Name: c.st.Name, Zone: c.cfg.Zone, Endpoint: c.cfg.Endpoint, EtcdPeer: c.st.PeerURL, Joined: time.Now().UTC()}
	if c.st.Voter {
		rec.EtcdURL = c.st.ClientURL
	}
	if old, err := c.Node(ctx, c.st.Name); err == nil {
		rec.Joined, rec.Draining = old.Joined, old.Draining
	}
	if err := c.putNode(ctx, rec); err != nil {
		return err
	}
	if err := c.heartbeat(ctx); err != nil {
		return err
	}
	if err := c.view.refresh(ctx); err != nil {
		return err
	}
	c.wg.Add(2)
	go c.liveLoop()
	go c.autopilot()
	return nil
}

// putNode writes a node's record.
func (c *Cluster) putNode(ctx context.Context, rec NodeRecord) error {
	b, _ := json.Marshal(rec)
	return c.kv.Put(ctx, "nodes/"+rec.Name, b)
}

// Node reads one node's record.
func (c *Cluster) Node(ctx context.Context, name string) (NodeRecord, error) {
	var rec NodeRecord
	b, err := c.kv.Get(ctx, "nodes/"+name)
	if err != nil {
		return rec, err
	}
	return rec, json.Unmarshal(b, &rec)
}

// liveLoop renews the heartbeat and refreshes the view until Close.
func (c *Cluster) liveLoop() {
	defer c.wg.Done()
	t := time.NewTicker(viewEvery)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.beat:
		}
		ctx, cancel := context.WithTimeout(c.ctx, 3*time.Second)
		if err := c.heartbeat(ctx); err != nil {
			c.log.Warn("heartbeat failed", "err", err)
		}
		if err := c.view.refresh(ctx); err != nil {
			c.log.Warn("membership refresh failed", "err", err)
		}
		cancel()
		c.sus.expire()
		c.rememberPeers()
	}
}

// Beat asks for a heartbeat (with Config.Usage read afresh) and a view
// refresh now rather than at the next tick: a node calls it once its
// capacity is known, so it is not advertised with none for a second. It
// never blocks; requests made while one is pending are merged.
func (c *Cluster) Beat() {
	select {
	case c.beat <- struct{}{}:
	default:
	}
}

// heartbeat renews this node's lease and writes alive/NAME when it says
// something new (see beatDue); a node that lost its lease (paused,
// partitioned) comes back with a new one and writes it again.
func (c *Cluster) heartbeat(ctx context.Context) error {
	a := Alive{At: time.Now().UTC(), Repair: c.view.repairStats()}
	if c.cfg.Usage != nil {
		a.Usage = c.cfg.Usage()
	}
	c.replMu.Lock()
	defer c.replMu.Unlock()
	if c.lease != 0 {
		if _, err := c.etcd.KeepAliveOnce(ctx, c.lease); err == nil {
			if !beatDue(c.lastBeat, a) {
				return nil
			}
			return c.putAlive(ctx, a)
		}
	}
	g, err := c.etcd.Grant(ctx, LeaseTTL)
	if err != nil {
		return err
	}
	c.lease = g.ID
	return c.putAlive(ctx, a)
}

// putAlive writes a under the lease; c.replMu is held.
func (c *Cluster) putAlive(ctx context.Context, a Alive) error {
	b, _ := json.Marshal(a)
	_, err := c.etcd.Put(ctx, Prefix+"alive/"+c.st.Name, string(b), clientv3.WithLease(c.lease))
	if err == nil {
		c.lastBeat = a
	}
	return err
}

// beatRefresh is the longest an unchanged heartbeat record goes without
// being written again (its machine-wide memory and disk use drift).
const beatRefresh = 10 * time.Second

// beatDue reports whether a is worth a write (a raft round and an fsync
// on every etcd member) after last: the repair stats, the slots or the
// capacity changed, memory or disk use moved by 1% of the total, or
// beatRefresh passed. Renewing the lease alone keeps the node up.
func beatDue(last, a Alive) bool {
	lu, u := last.Usage, a.Usage
	moved := func(was, is, total int64) bool { d := is - was; return d*100 > total || -d*100 > total }
	switch {
	case a.At.Sub(last.At) >= beatRefresh, a.Repair != last.Repair:
		return true
	case lu.Slots != u.Slots || lu.SlotsUsed != u.SlotsUsed || lu.RunsWaiting != u.RunsWaiting:
		return true
	case lu.Memory != u.Memory || lu.Disk != u.Disk:
		return true
	}
	return moved(lu.MemoryUsed, u.MemoryUsed, u.Memory) || moved(lu.DiskUsed, u.DiskUsed, u.Disk)
}

// refresh re-reads every node record and heartbeat and installs them.
func (v *view) refresh(ctx context.Context) error {
	nodes, err := v.read(ctx)
	if err != nil {
		return err
	}
	v.set(nodes)
	return nil
}

// read reads every node record and heartbeat from etcd: the nodes by
// name with their states. It does not change the view.
func (v *view) read(ctx context.Context) ([]NodeStatus, error) {
	recs, err := v.c.kv.List(ctx, "nodes/")
	if err != nil {
		return nil, err
	}
	alive, err := v.c.kv.List(ctx, "alive/")
	if err != nil {
		return nil, err
	}
	beats := map[string]Alive{}
	for _, p := range alive {
		var a Alive
		if json.Unmarshal(p.Value, &a) == nil {
			beats[p.Key[len("alive/"):]] = a
		}
	}
	nodes := make([]NodeStatus, 0, len(recs))
	for _, p := range recs {
		var ns NodeStatus
		if json.Unmarshal(p.Value, &ns.NodeRecord) != nil {
			continue
		}
		ns.State = StateDown
		if a, ok := beats[ns.Name]; ok {
			ns.State, ns.Usage, ns.Repair = StateUp, a.Usage, a.Repair
			if ns.Draining {
				ns.State = StateDraining
			}
		}
		nodes = append(nodes, ns)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes, nil
}

// set installs nodes and signals a change of the live set, and of any
// node's request for repair.
func (v *view) set(nodes []NodeStatus) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if liveKey(v.nodes) != liveKey(nodes) {
		close(v.changed)
		v.changed = make(chan struct{})
	}
	if askKey(v.nodes) != askKey(nodes) {
		close(v.asked)
		v.asked = make(chan struct{})
	}
	v.nodes = nodes
}

func askKey(nodes []NodeStatus) string {
	k := ""
	for _, n := range nodes {
		k += n.Name + "=" + strconv.FormatInt(n.Repair.Asked, 36) + ";"
	}
	return k
}

func liveKey(nodes []NodeStatus) string {
	k := ""
	for _, n := range nodes {
		k += n.Name + "=" + n.State + ";"
	}
	return k
}

// Nodes returns the view: every known node with its state.
func (c *Cluster) Nodes() []NodeStatus {
	c.view.mu.RLock()
	defer c.view.mu.RUnlock()
	return append([]NodeStatus(nil), c.view.nodes...)
}

// Asked returns a channel closed when the view next shows a node (this
// one included) asking for a repair pass.
func (c *Cluster) Asked() <-chan struct{} {
	c.view.mu.RLock()
	defer c.view.mu.RUnlock()
	return c.view.asked
}

// Changed returns a channel closed at the next change of the live set.
func (c *Cluster) Changed() <-chan struct{} {
	c.view.mu.RLock()
	defer c.view.mu.RUnlock()
	return c.view.changed
}

func (v *view) repairStats() RepairStats {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.repair
}

func (v *view) setRepair(fn func(*RepairStats)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fn(&v.repair)
}

// ErrNoSuchNode is returned for a node name the cluster does not know.
var ErrNoSuchNode = errors.New("cluster: no such node")

// Drain marks node as draining (or back up with on false): placement no
// longer chooses it, and its repair pass moves its objects away.
func (c *Cluster) Drain(ctx context.Context, node string, on bool) error {
	for {
		old, err := c.kv.Get(ctx, "nodes/"+node)
		if err != nil {
			return ErrNoSuchNode
		}
		var rec NodeRecord
		if err := json.Unmarshal(old, &rec); err != nil {
			return err
		}
		rec.Draining = on
		b, _ := json.Marshal(rec)
		err = c.kv.CompareAndSwap(ctx, "nodes/"+node, old, b)
		if err == nil {
			return c.view.refresh(ctx)
		}
		if !errors.Is(err, meta.ErrConflict) {
			return err
		}
	}
}

// rememberPeers keeps the other nodes' endpoints in the node's state, so
// a restart without --join can still ask the cluster about its place.
func (c *Cluster) rememberPeers() {
	var peers []string
	for _, n := range c.Nodes() {
		if n.Name != c.st.Name {
			peers = append(peers, n.Endpoint)
		}
	}
	c.joinMu.Lock()
	defer c.joinMu.Unlock()
	if slices.Equal(peers, c.st.Peers) {
		return
	}
	c.st.Peers = peers
	if err := saveState(c.cfg.DataDir, c.st); err != nil {
		c.log.Warn("saving the cluster state", "err", err)
	}
}
