package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/freeport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// MaxVoters is how many nodes run an etcd member; later nodes are clients.
const MaxVoters = 3

// Prefix is where a cloud keeps its keys in etcd.
const Prefix = "/insitu/"

// state is what a node remembers of its place in the cluster, in
// DATA/cluster/state.json.
type state struct {
	Name      string   `json:"name"`
	PeerURL   string   `json:"peer_url,omitempty"`
	ClientURL string   `json:"client_url,omitempty"`
	Voter     bool     `json:"voter"`
	Endpoints []string `json:"endpoints,omitempty"` // etcd client URLs last known
	Peers     []string `json:"peers,omitempty"`     // other nodes' endpoints last known
}

func statePath(dataDir string) string { return filepath.Join(dataDir, "cluster", "state.json") }

func loadState(dataDir string) (state, error) {
	var st state
	b, err := os.ReadFile(statePath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

func saveState(dataDir string, st state) error {
	if err := os.MkdirAll(filepath.Dir(statePath(dataDir)), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := statePath(dataDir) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, statePath(dataDir))
}

// freeURL returns http://host:PORT for a port that was free a moment ago.
// The port comes from below the kernel's ephemeral range (freeport), so
// no outgoing connection can take it before etcd binds it.
func freeURL(host string) (string, error) {
	port, err := freeport.Pick(host)
	if err != nil {
		return "", err
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// etcdMember is a running embedded etcd member.
type etcdMember struct {
	e *embed.Etcd
}

// startMember starts (or restarts, when dir holds data) the embedded etcd
// member of st. initial is the initial-cluster string ("" for a new
// one-member cluster); existing joins a running cluster.
func startMember(ctx context.Context, dir string, st state, initial string, existing bool, log *slog.Logger) (*etcdMember, error) {
	cfg := embed.NewConfig()
	cfg.Name = st.Name
	cfg.Dir = dir
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop()) // insitu logs what matters itself
	peer, err := url.Parse(st.PeerURL)
	if err != nil {
		return nil, err
	}
	client, err := url.Parse(st.ClientURL)
	if err != nil {
		return nil, err
	}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
	cfg.InitialCluster = cmp.Or(initial, st.Name+"="+st.PeerURL)
	if existing {
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	e, err := startEtcd(ctx, cfg, existing)
	if err != nil {
		return nil, fmt.Errorf("cluster: start etcd member: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("cluster: etcd member: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	case <-time.After(2 * time.Minute):
		e.Close()
		return nil, errors.New("cluster: etcd member did not become ready in 2m")
	}
	log.Info("etcd member ready", "name", st.Name, "peer", st.PeerURL, "client", st.ClientURL)
	return &etcdMember{e: e}, nil
}

// joinTries bounds startEtcd's attempts to join a running cluster, a
// quarter second apart.
const joinTries = 40

// startEtcd starts the member of cfg. A member joining a running cluster
// (existing) checks the initial cluster it was given against the
// members a peer reports; a peer that has not yet applied this member's
// addition answers one member short ("member count is unequal"), so that
// check is retried for up to ten seconds. It fails before any WAL is
// written, so the retry starts from the same empty directory.
func startEtcd(ctx context.Context, cfg *embed.Config, existing bool) (*embed.Etcd, error) {
	for try := 1; ; try++ {
		e, err := embed.StartEtcd(cfg)
		if err == nil || !existing || try == joinTries || !peerViewLags(err) {
			return e, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// peerViewLags reports whether err is etcd's join check failing on a
// peer's view of the members, or on reaching one.
func peerViewLags(err error) bool {
	s := err.Error()
	return strings.Contains(s, "error validating peerURLs") || strings.Contains(s, "cannot fetch cluster info from peer urls")
}

func (m *etcdMember) Close() {
	if m != nil {
		m.e.Close()
	}
}

// newClient connects to etcd at endpoints, keeping the endpoint list in
// sync with the cluster's members.
func newClient(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          5 * time.Second,
		AutoSyncInterval:     30 * time.Second,
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		Logger:               zap.NewNop(),
	})
}

// initialCluster renders the members as name=peerURL, comma separated.
func initialCluster(members []memberURL) string {
	parts := make([]string, 0, len(members))
	for _, m := range members {
		parts = append(parts, m.Name+"="+m.PeerURL)
	}
	return strings.Join(parts, ",")
}

type memberURL struct{ Name, PeerURL string }
