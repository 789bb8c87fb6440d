package cluster

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// Config starts a node's part of a cluster.
type Config struct {
	// DataDir is the node's data directory (etcd data under DataDir/etcd,
	// the node's place under DataDir/cluster).
	DataDir string
	// Name is the node's unique name. Default: the name kept from the first
	// start, else HOSTNAME-PORT of the endpoint.
	Name string
	// Zone is the node's failure domain. Default "default".
	Zone string
	// Endpoint is the base URL other nodes and clients reach this node at.
	Endpoint string
	// Join is the base URL of any member; empty starts a new cluster.
	Join string
	// Etcd lists the client URLs of an existing etcd cluster to use
	// instead of the embedded one.
	Etcd []string
	// Secret authenticates node-to-node calls (LoadSecret).
	Secret string
	// Replicas is the wanted copies of each object; the first node's value
	// is the cluster's. Default 3.
	Replicas int
	// Usage reports the node's capacity and use for its membership record.
	Usage  func() Usage
	Logger *slog.Logger
}

// Cluster is one node's membership in a cluster. It is safe for
// concurrent use; Close stops what Start began.
type Cluster struct {
	cfg    Config
	log    *slog.Logger
	signer *Signer
	http   *http.Client
	st     state
	member atomic.Pointer[etcdMember] // nil for an etcd client node
	etcd   *clientv3.Client
	kv     meta.Store
	clock  *Clock
	sus    *suspects // peers that lately refused a connection

	view     *view
	beat     chan struct{} // Beat's request for a heartbeat now (capacity 1)
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	joinMu   sync.Mutex
	replMu   sync.Mutex
	replica  int              // cluster-wide replicas, read at start
	lease    clientv3.LeaseID // the heartbeat's, under replMu
	lastBeat Alive            // the last heartbeat written, under replMu
	once     sync.Once

	local  Local                               // set by NewEngine before the node serves
	engine *Engine                             // likewise
	blobs  func(digest string) ([]byte, error) // set by SetBlobs before the node serves
	repair *repairer

	extra       []extraRoute // Handle, before serving
	handlerOnce sync.Once
	handler     http.Handler
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Start joins (or starts) the cluster: it brings up the embedded etcd
// member or connects as a client, registers this node under a lease and
// starts keeping the live view of the members.
func Start(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Zone = cmp.Or(cfg.Zone, "default")
	st, err := loadState(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("cluster: state: %w", err)
	}
	st.Name = cmp.Or(cfg.Name, cmp.Or(st.Name, defaultName(cfg.Endpoint)))
	if !nameRE.MatchString(st.Name) {
		return nil, fmt.Errorf("cluster: node name %q: use a-z, 0-9 and '-'", st.Name)
	}
	sus := newSuspects()
	c := &Cluster{cfg: cfg, log: cfg.Logger, signer: NewSigner(cfg.Secret, st.Name), st: st, clock: NewClock(nil), sus: sus,
		http: &http.Client{Transport: sus.wrap(&http.Transport{
			DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 15 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second, // after the request (body included) is sent
		})}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.beat = make(chan struct{}, 1)
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	c.kv = meta.NewEtcd(c.etcd, Prefix, false)
	if err := c.settleReplicas(ctx); err != nil {
		return nil, err
	}
	c.view = newView(c)
	sus.onClear(c.repairSoon)
	if err := c.register(ctx); err != nil {
		return nil, err
	}
	if m := c.member.Load(); m != nil {
		c.wg.Add(1)
		go c.watchMember(m)
	}
	return c, nil
}

// defaultName is HOSTNAME-PORT of endpoint, lower-cased and cleaned.
func defaultName(endpoint string) string {
	host, _ := os.Hostname()
	port := endpoint[strings.LastIndex(endpoint, ":")+1:]
	n := strings.ToLower(host + "-" + port)
	n = regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(n, "-")
	return strings.Trim(n, "-")
}

// connect brings up etcd: an external cluster, this node's member
// (restarted from its data, or new), or a join through another node.
func (c *Cluster) connect(ctx context.Context) error {
	if len(c.cfg.Etcd) > 0 {
		return c.dial(c.cfg.Etcd)
	}
	etcdDir := filepath.Join(c.cfg.DataDir, "etcd")
	if _, err := os.Stat(filepath.Join(etcdDir, "member")); err == nil && c.st.Voter {
		return c.restartVoter(ctx, etcdDir)
	}
	if c.cfg.Join == "" {
		if len(c.st.Endpoints) > 0 && !c.st.Voter {
			return c.dial(c.st.Endpoints)
		}
		return c.startVoter(ctx, etcdDir, "", false)
	}
	return c.join(ctx, etcdDir)
}

// restartVoter restarts this node's member from its data, unless the
// cluster (asked through --join or a node it knew) replaced it while it
// was away: then it starts over as a new member or a client.
func (c *Cluster) restartVoter(ctx context.Context, etcdDir string) error {
	for _, target := range append([]string{c.cfg.Join}, c.st.Peers...) {
		if target == "" || target == c.cfg.Endpoint {
			continue
		}
		var reply joinReply
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.call(actx, target, "POST", "/_cluster/v1/join", joinRequest{Name: c.st.Name, PeerURL: c.st.PeerURL}, &reply)
		cancel()
		if err != nil {
			continue
		}
		if reply.Voter && reply.Existing {
			break
		}
		c.log.Warn("this node's etcd member was replaced while it was away; starting over", "voter", reply.Voter)
		if err := os.RemoveAll(etcdDir); err != nil {
			return err
		}
		if reply.Voter {
			return c.startVoter(ctx, etcdDir, reply.InitialCluster, true)
		}
		c.st.Voter, c.st.Endpoints = false, reply.Endpoints
		if err := saveState(c.cfg.DataDir, c.st); err != nil {
			return err
		}
		return c.dial(reply.Endpoints)
	}
	return c.startVoter(ctx, etcdDir, "", false)
}

// startVoter runs this node's etcd member and connects to it.
func (c *Cluster) startVoter(ctx context.Context, dir, initial string, existing bool) error {
	if err := c.ensureURLs(); err != nil {
		return err
	}
	c.st.Voter = true
	if err := saveState(c.cfg.DataDir, c.st); err != nil {
		return err
	}
	m, err := startMember(ctx, dir, c.st, initial, existing, c.log)
	if err != nil {
		return err
	}
	c.member.Store(m)
	return c.dial([]string{c.st.ClientURL})
}

func (c *Cluster) dial(endpoints []string) (err error) {
	c.etcd, err = newClient(endpoints)
	if err != nil {
		return fmt.Errorf("cluster: etcd client: %w", err)
	}
	return nil
}

// ensureURLs picks this node's etcd peer and client URLs (free ports on
// its advertised host) once; they are kept in its state from then on.
func (c *Cluster) ensureURLs() (err error) {
	if c.st.PeerURL != "" {
		return nil
	}
	host := hostOf(c.cfg.Endpoint)
	if c.st.PeerURL, err = freeURL(host); err != nil {
		return err
	}
	c.st.ClientURL, err = freeURL(host)
	return err
}

// hostOf returns the host of a base URL.
func hostOf(endpoint string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://")
	if i := strings.LastIndex(h, ":"); i >= 0 {
		h = h[:i]
	}
	return strings.Trim(h, "[]")
}

// joinRequest and joinReply are the body of POST /_cluster/v1/join.
type joinRequest struct {
	Name    string `json:"name"`
	PeerURL string `json:"peer_url"`
}

type joinReply struct {
	Voter          bool     `json:"voter"`
	Existing       bool     `json:"existing,omitempty"` // the member was there already
	InitialCluster string   `json:"initial_cluster,omitempty"`
	Endpoints      []string `json:"endpoints"`
}

// join asks the node at cfg.Join for a place: a new etcd member while the
// cluster has fewer than MaxVoters, else a client of the members.
func (c *Cluster) join(ctx context.Context, etcdDir string) error {
	if err := c.ensureURLs(); err != nil {
		return err
	}
	var reply joinReply
	err := retry(ctx, 10, func() error {
		return c.call(ctx, c.cfg.Join, "POST", "/_cluster/v1/join", joinRequest{Name: c.st.Name, PeerURL: c.st.PeerURL}, &reply)
	})
	if err != nil {
		return fmt.Errorf("cluster: join %s: %w", c.cfg.Join, err)
	}
	if reply.Voter {
		return c.startVoter(ctx, etcdDir, reply.InitialCluster, true)
	}
	c.st.Voter, c.st.Endpoints = false, reply.Endpoints
	if err := saveState(c.cfg.DataDir, c.st); err != nil {
		return err
	}
	return c.dial(reply.Endpoints)
}

// retry calls fn up to n times, a second apart, until it succeeds.
func retry(ctx context.Context, n int, fn func() error) (err error) {
	for i := 0; i < n; i++ {
		if err = fn(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return err
}

// CallTimeout bounds one internal JSON call (a lookup, a listing page, a
// delete), so a paused or partitioned node cannot hold a request.
const CallTimeout = 10 * time.Second

// call sends a signed JSON request to the node at base and decodes the
// JSON answer into out (when non-nil).
func (c *Cluster) call(ctx context.Context, base, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base, "/")+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c.signer.Sign(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return remoteError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// settleReplicas keeps the cluster-wide replica count: the first node's.
func (c *Cluster) settleReplicas(ctx context.Context) error {
	want := c.cfg.Replicas
	if want <= 0 {
		want = 3
	}
	err := c.kv.CompareAndSwap(ctx, "cluster/replicas", nil, []byte(strconv.Itoa(want)))
	if err != nil && !errors.Is(err, meta.ErrConflict) {
		return fmt.Errorf("cluster: %w", err)
	}
	b, err := c.kv.Get(ctx, "cluster/replicas")
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.replica, _ = strconv.Atoi(string(b))
	if c.replica != want && c.cfg.Replicas > 0 {
		c.log.Warn("--replicas differs from the cluster's; the cluster's value holds", "flag", want, "cluster", c.replica)
	}
	return nil
}

// KV is the cluster's control-plane store (etcd).
func (c *Cluster) KV() meta.Store { return c.kv }

// Name is this node's name.
func (c *Cluster) Name() string { return c.st.Name }

// Signer signs and verifies node-to-node calls.
func (c *Cluster) Signer() *Signer { return c.signer }

// Close leaves the view and stops etcd; it is idempotent.
func (c *Cluster) Close() {
	c.once.Do(func() {
		c.cancel()
		c.wg.Wait()
		if c.etcd != nil {
			c.etcd.Close()
		}
		c.member.Load().Close()
	})
}

// SetBlobs gives the internal API the app modules this node keeps on its
// own disk, by digest, so other nodes can fetch a module they do not
// have; fn must not fetch from other nodes itself (os.ErrNotExist when
// it does not keep one: answered 404).
func (c *Cluster) SetBlobs(fn func(digest string) ([]byte, error)) { c.blobs = fn }

// FetchBlob gets an app module by digest from any other reachable node:
// those of the view, then, when none of them has it, those a fresh read
// of the membership shows besides (the view is re-read every second, so
// a node that just started may not show the node an app was pushed
// through yet).
func (c *Cluster) FetchBlob(ctx context.Context, digest string) ([]byte, error) {
	tried := map[string]bool{c.Name(): true}
	b, err := c.fetchBlobFrom(ctx, c.Nodes(), digest, tried)
	if b != nil {
		return b, nil
	}
	fresh, ferr := c.view.read(ctx)
	if ferr != nil {
		return nil, cmp.Or(err, ferr)
	}
	b, ferr = c.fetchBlobFrom(ctx, fresh, digest, tried)
	if b != nil {
		return b, nil
	}
	return nil, cmp.Or(ferr, err, ErrNoSuchNode)
}

// fetchBlobFrom asks the nodes of ns not in tried (up, or draining) for
// the blob, adding each to tried, and returns the first answer, or the
// last error (nil when there was no node to ask).
func (c *Cluster) fetchBlobFrom(ctx context.Context, ns []NodeStatus, digest string, tried map[string]bool) ([]byte, error) {
	var last error
	for _, n := range ns {
		if tried[n.Name] || n.State == StateDown {
			continue
		}
		tried[n.Name] = true
		req, err := http.NewRequestWithContext(ctx, "GET", n.Endpoint+internalPrefix+"blob/"+digest, nil)
		if err != nil {
			return nil, err
		}
		c.signer.Sign(req)
		resp, err := c.http.Do(req)
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && err == nil {
			return b, nil
		}
		last = fmt.Errorf("cluster: blob %s from %s: %s", digest, n.Name, resp.Status)
	}
	return nil, last
}
