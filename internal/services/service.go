package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Errors returned by a Manager.
var (
	ErrNoSuchService = errors.New("services: no such service")
	ErrExists        = errors.New("services: a service with that name exists")
	ErrInvalid       = errors.New("services: invalid service")
	ErrAccessDenied  = errors.New("services: access denied")
)

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Mount grants a service read access to the objects under a prefix,
// mounted below /in.
type Mount struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
	// Path below /in where the prefix appears ("" = /in itself).
	Path string `json:"path,omitempty"`
}

// Service is one route bound to an app.
type Service struct {
	Name    string            `json:"name"`
	Owner   string            `json:"owner"` // the owning account's id
	App     string            `json:"app"`   // pinned: owner/name:version
	Digest  string            `json:"digest"`
	Public  bool              `json:"public"`
	Env     map[string]string `json:"env,omitempty"`
	Timeout time.Duration     `json:"timeout"`
	Memory  int64             `json:"memory"`
	// MaxConcurrency caps requests served at once; over it, 503.
	MaxConcurrency int     `json:"max_concurrency"`
	Mounts         []Mount `json:"mounts,omitempty"`
	// Out, when set, stores the files a request leaves in /out as objects
	// under this prefix (only when the request's run exits 0): the one way
	// a service keeps state.
	Out     *Mount    `json:"out,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Spec creates or updates a service. Zero fields take defaults on create
// and keep the current value on update (except Env and Mounts, which are
// replaced when non-nil).
type Spec struct {
	App            string            `json:"app,omitempty"`
	Public         *bool             `json:"public,omitempty"`
	Env            map[string]string `json:"env,omitempty"`
	Timeout        string            `json:"timeout,omitempty"`
	Memory         string            `json:"memory,omitempty"`
	MaxConcurrency int               `json:"max_concurrency,omitempty"`
	Mounts         []Mount           `json:"mounts,omitempty"`
	Out            *Mount            `json:"out,omitempty"`
}

// Defaults for new services.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultMemory         = 64 << 20
	DefaultMaxConcurrency = 64
	// MaxMountedObjects bounds how many objects a service's mounts expose
	// to one request.
	MaxMountedObjects = 256
)

// Manager stores services and serves their requests.
type Manager struct {
	kv     meta.Store
	apps   *apps.Registry
	runs   *runs.Service
	engine store.Engine

	mu    sync.Mutex
	stats map[string]*stats  // by service name
	inUse map[string]int     // requests in flight by service name
	defs  map[string]Service // decoded definitions; writers below drop theirs
	gen   map[string]uint64  // writes by name, so a slow load never caches a stale copy

	direct     *directSet     // nil unless EnableDirect
	directHeld map[string]int // concurrency units held by direct workers, by service (under mu)
}

// NewManager returns a Manager.
func NewManager(kv meta.Store, registry *apps.Registry, rs *runs.Service, engine store.Engine) *Manager {
	return &Manager{kv: kv, apps: registry, runs: rs, engine: engine, stats: map[string]*stats{}, inUse: map[string]int{}, defs: map[string]Service{}, gen: map[string]uint64{}, directHeld: map[string]int{}}
}

func key(name string) string { return "services/" + name }

// Get returns a service. Definitions are cached in memory: Create, Update
// and Remove replace or drop the cached copy before they return, so a
// request that starts after an update sees it; in a cluster a watch
// calls Forget for writes made through other nodes.
func (m *Manager) Get(ctx context.Context, name string) (Service, error) {
	m.mu.Lock()
	s, ok := m.defs[name]
	gen := m.gen[name]
	m.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := m.load(ctx, name)
	if err == nil {
		m.mu.Lock()
		if m.gen[name] == gen { // no write since we read
			m.defs[name] = s
		}
		m.mu.Unlock()
	}
	return s, err
}

// Forget drops the cached definition of the meta key k ("services/NAME"),
// or every cached definition when k is "". A cluster calls it from a
// watch when another node writes a service.
func (m *Manager) Forget(k string) {
	if k != "" {
		m.forget(strings.TrimPrefix(k, "services/"))
		return
	}
	m.mu.Lock()
	for name := range m.defs {
		delete(m.defs, name)
		m.gen[name]++
	}
	m.mu.Unlock()
}

// forget drops name's cached definition after a write, and stops its
// direct worker: the next request starts one on the new definition.
func (m *Manager) forget(name string) {
	m.mu.Lock()
	delete(m.defs, name)
	m.gen[name]++
	m.mu.Unlock()
	if m.direct != nil {
		m.direct.retire(name)
	}
}

func (m *Manager) load(ctx context.Context, name string) (Service, error) {
	b, err := m.kv.Get(ctx, key(name))
	if errors.Is(err, meta.ErrNotFound) {
		return Service{}, ErrNoSuchService
	}
	if err != nil {
		return Service{}, err
	}
	var s Service
	if err := json.Unmarshal(b, &s); err != nil {
		return Service{}, fmt.Errorf("services: decode %s: %w", name, err)
	}
	return s, nil
}

// List returns account's services.
func (m *Manager) List(ctx context.Context, account string) ([]Service, error) {
	pairs, err := m.kv.List(ctx, "services/")
	if err != nil {
		return nil, err
	}
	out := []Service{}
	for _, p := range pairs {
		var s Service
		if json.Unmarshal(p.Value, &s) == nil && auth.Owns(account, s.Owner) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Create makes a service named name for account.
func (m *Manager) Create(ctx context.Context, account, name string, spec Spec) (Service, error) {
	if !nameRE.MatchString(name) {
		return Service{}, fmt.Errorf("%w: name %q: 1-63 of a-z 0-9 -, not starting or ending with -", ErrInvalid, name)
	}
	now := time.Now().UTC()
	s := Service{Name: name, Owner: account, Timeout: DefaultTimeout, Memory: DefaultMemory,
		MaxConcurrency: DefaultMaxConcurrency, Created: now, Updated: now}
	if spec.App == "" {
		return Service{}, fmt.Errorf("%w: an app is required", ErrInvalid)
	}
	if err := m.apply(ctx, &s, spec); err != nil {
		return Service{}, err
	}
	b, _ := json.Marshal(s)
	if err := m.kv.CompareAndSwap(ctx, key(name), nil, b); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return Service{}, ErrExists
		}
		return Service{}, err
	}
	m.forget(name)
	return s, nil
}

// Update changes account's service. The new definition takes effect for
// requests that start after Update returns.
func (m *Manager) Update(ctx context.Context, account, name string, spec Spec) (Service, error) {
	for {
		old, err := m.kv.Get(ctx, key(name))
		if errors.Is(err, meta.ErrNotFound) {
			return Service{}, ErrNoSuchService
		}
		if err != nil {
			return Service{}, err
		}
		var s Service
		if err := json.Unmarshal(old, &s); err != nil {
			return Service{}, err
		}
		if !auth.Owns(account, s.Owner) {
			return Service{}, ErrNoSuchService
		}
		if err := m.apply(ctx, &s, spec); err != nil {
			return Service{}, err
		}
		s.Updated = time.Now().UTC()
		b, _ := json.Marshal(s)
		err = m.kv.CompareAndSwap(ctx, key(name), old, b)
		if errors.Is(err, meta.ErrConflict) {
			continue // raced with another update; apply on top of it
		}
		m.forget(name)
		if err != nil {
			return Service{}, err
		}
		return s, nil
	}
}

// Remove deletes account's service.
func (m *Manager) Remove(ctx context.Context, account, name string) error {
	s, err := m.Get(ctx, name)
	if err != nil {
		return err
	}
	if !auth.Owns(account, s.Owner) {
		return ErrNoSuchService
	}
	if err := m.kv.Delete(ctx, key(name)); err != nil {
		return err
	}
	m.forget(name)
	m.mu.Lock()
	delete(m.stats, name)
	m.mu.Unlock()
	return nil
}

// apply validates spec and folds it into s, pinning the app version.
func (m *Manager) apply(ctx context.Context, s *Service, spec Spec) error {
	if spec.App != "" {
		a, err := m.apps.Resolve(ctx, s.Owner, spec.App)
		if err != nil {
			return err
		}
		s.App, s.Digest = a.Owner+"/"+a.Ref(), a.Digest
	}
	if spec.Public != nil {
		s.Public = *spec.Public
	}
	if spec.Env != nil {
		for k, v := range spec.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") {
				return fmt.Errorf("%w: environment variable %q", ErrInvalid, k)
			}
		}
		s.Env = spec.Env
	}
	if spec.Timeout != "" {
		d, err := time.ParseDuration(spec.Timeout)
		if err != nil || d <= 0 || d > 15*time.Minute {
			return fmt.Errorf("%w: timeout %q (want a duration up to 15m)", ErrInvalid, spec.Timeout)
		}
		s.Timeout = d
	}
	if spec.Memory != "" {
		n, err := apps.ParseSize(spec.Memory)
		if err != nil || n < 64<<10 || n > 1<<30 {
			return fmt.Errorf("%w: memory %q (want 64KiB to 1GiB)", ErrInvalid, spec.Memory)
		}
		s.Memory = n
	}
	if spec.MaxConcurrency < 0 || spec.MaxConcurrency > 10000 {
		return fmt.Errorf("%w: max concurrency %d", ErrInvalid, spec.MaxConcurrency)
	}
	if spec.MaxConcurrency > 0 {
		s.MaxConcurrency = spec.MaxConcurrency
	}
	if spec.Mounts != nil {
		for _, mt := range spec.Mounts {
			if err := m.ownsBucket(ctx, s.Owner, mt.Bucket); err != nil {
				return err
			}
		}
		s.Mounts = spec.Mounts
	}
	if spec.Out != nil {
		if err := m.ownsBucket(ctx, s.Owner, spec.Out.Bucket); err != nil {
			return err
		}
		s.Out = spec.Out
	}
	return nil
}

// ownsBucket refuses with ErrAccessDenied unless owner (an account id)
// owns bucket.
func (m *Manager) ownsBucket(ctx context.Context, owner, bucket string) error {
	err := auth.OwnsBucket(ctx, m.engine, owner, bucket)
	if errors.Is(err, auth.ErrNotOwner) {
		return fmt.Errorf("%w: bucket %s", ErrAccessDenied, bucket)
	}
	return err
}
