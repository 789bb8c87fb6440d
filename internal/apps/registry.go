package apps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// Errors returned by a Registry.
var (
	ErrNoSuchApp    = errors.New("apps: no such app")
	ErrAppExists    = errors.New("apps: that version exists with different content")
	ErrInvalidName  = errors.New("apps: invalid app name or version (name: 1-64 of a-z 0-9 - _ ., starting alphanumeric; version: 1-64 of A-Z a-z 0-9 - _ . +)")
	ErrInvalidWasm  = errors.New("apps: module refused")
	ErrTooLarge     = errors.New("apps: module too large")
	ErrAccessDenied = errors.New("apps: access denied")
)

// MaxModuleSize bounds a module's size (64 MiB).
const MaxModuleSize = 64 << 20

// validName reports whether s is an app or owner name:
// ^[a-z0-9][a-z0-9._-]{0,63}$ (checked by hand: it runs on every run and
// service request; FuzzNameRules holds it to the expression).
func validName(s string) bool { return validChars(s, false, "._-") }

// validVersion reports whether s is a version: ^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$.
func validVersion(s string) bool { return validChars(s, true, "._+-") }

// validChars reports whether s is 1 to 64 bytes of a-z and 0-9 (and A-Z
// when upper), with the bytes of punct allowed after the first.
func validChars(s string, upper bool, punct string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case upper && 'A' <= c && c <= 'Z':
		case i > 0 && strings.IndexByte(punct, c) >= 0:
		default:
			return false
		}
	}
	return true
}

// App is one version of an app.
type App struct {
	Owner string `json:"owner"` // the owning account's id

	Name     string    `json:"name"`
	Version  string    `json:"version"`
	Digest   string    `json:"digest"` // sha256 hex of the module
	Size     int64     `json:"size"`
	Manifest Manifest  `json:"manifest"`
	Public   bool      `json:"public"`
	Created  time.Time `json:"created"`
	Imports  []string  `json:"imports,omitempty"`
}

// Ref returns "name:version".
func (a App) Ref() string { return a.Name + ":" + a.Version }

// Registry stores apps.
type Registry struct {
	kv  meta.Store
	dir string // blobs directory
	now func() time.Time

	// cache holds decoded app records by "owner/name/version". A record
	// never changes once pushed (a version is immutable); Remove drops
	// its entries. Every writer is this process today; a cluster will
	// invalidate from a meta watch.
	mu    sync.RWMutex
	cache map[string]App
	gen   uint64 // bumped by Forget, so a load racing a removal caches nothing

	ownerID func(ctx context.Context, name string) (string, error)
	fetch   func(ctx context.Context, digest string) ([]byte, error)
}

// Option configures a Registry.
type Option func(*Registry)

// WithOwnerIDs resolves the account names in "owner/name" references to
// account ids (apps are stored under their owner's id); it returns an error
// wrapping auth.ErrNoSuchAccount for an unknown name. Without it a name in
// a reference is taken as the id itself.
func WithOwnerIDs(fn func(ctx context.Context, name string) (string, error)) Option {
	return func(r *Registry) { r.ownerID = fn }
}

// WithBlobFetcher gets module bytes this node does not keep (in a
// cluster: from the node that has them); fetched modules are kept.
func WithBlobFetcher(fn func(ctx context.Context, digest string) ([]byte, error)) Option {
	return func(r *Registry) { r.fetch = fn }
}

// New returns a registry keeping module bytes under dir/blobs.
func New(kv meta.Store, dir string, opts ...Option) (*Registry, error) {
	blobs := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return nil, fmt.Errorf("apps: %w", err)
	}
	r := &Registry{kv: kv, dir: blobs, now: time.Now, cache: map[string]App{}}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

func appKey(owner, name, version string) string { return "apps/" + owner + "/" + name + "/" + version }
func latestKey(owner, name string) string       { return "apps-latest/" + owner + "/" + name }

// Push validates wasm and stores it as owner's (an account id) app name:version (version
// defaults to the manifest's, then to "sha-" and 12 digits of the digest).
// Pushing identical bytes to an existing version is a no-op; different bytes
// get ErrAppExists.
func (r *Registry) Push(ctx context.Context, owner, name, version string, wasm []byte, m Manifest) (App, error) {
	if version == "" {
		version = m.Version
	}
	if len(wasm) > MaxModuleSize {
		return App{}, ErrTooLarge
	}
	sum := sha256.Sum256(wasm)
	digest := hex.EncodeToString(sum[:])
	if version == "" {
		version = "sha-" + digest[:12]
	}
	if !validName(name) || !validVersion(version) {
		return App{}, ErrInvalidName
	}
	if old, err := r.get(ctx, owner, name, version); err == nil {
		if old.Digest == digest {
			return old, nil // already here; validated when first pushed
		}
		return App{}, ErrAppExists
	}
	info, err := sandbox.Validate(ctx, wasm)
	if err != nil {
		return App{}, fmt.Errorf("%w: %v", ErrInvalidWasm, err)
	}
	if err := r.writeBlob(digest, wasm); err != nil {
		return App{}, err
	}
	m.Name, m.Version = name, version
	a := App{Owner: owner, Name: name, Version: version, Digest: digest, Size: int64(len(wasm)),
		Manifest: m, Public: m.Public, Created: r.now().UTC(), Imports: info.Imports}
	b, err := json.Marshal(a)
	if err != nil {
		return App{}, err
	}
	if err := r.kv.CompareAndSwap(ctx, appKey(owner, name, version), nil, b); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return App{}, ErrAppExists
		}
		return App{}, err
	}
	if err := r.kv.Put(ctx, latestKey(owner, name), []byte(version)); err != nil {
		return App{}, err
	}
	return a, nil
}

// writeBlob stores wasm under its digest, durably, unless it is there.
func (r *Registry) writeBlob(digest string, wasm []byte) error {
	path := filepath.Join(r.dir, digest+".wasm")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tmp, err := os.CreateTemp(r.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(wasm); err != nil {
		tmp.Close()
		return fmt.Errorf("apps: write module: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("apps: sync module: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	d, err := os.Open(r.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Module returns the bytes of a module by digest, checking them. A module
// this node does not keep is fetched (WithBlobFetcher) and kept.
func (r *Registry) Module(digest string) ([]byte, error) {
	b, err := r.LocalModule(digest)
	if errors.Is(err, os.ErrNotExist) && r.fetch != nil && hexRE.MatchString(digest) {
		if b, err = r.fetchBlob(digest); err != nil {
			return nil, fmt.Errorf("apps: module %s: %w", digest, err)
		}
	}
	return b, err
}

// LocalModule returns the module with digest from this node's disk only
// (an error wrapping os.ErrNotExist when it is not here), checked
// against its digest. It is what a node serves to other nodes: serving
// them through Module would fetch from the others in turn, and two
// nodes without the module would ask each other without end.
func (r *Registry) LocalModule(digest string) ([]byte, error) {
	if !hexRE.MatchString(digest) {
		return nil, fmt.Errorf("apps: module %q: %w", digest, os.ErrNotExist)
	}
	b, err := os.ReadFile(filepath.Join(r.dir, digest+".wasm"))
	if err != nil {
		return nil, fmt.Errorf("apps: module %s: %w", digest, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != digest {
		return nil, fmt.Errorf("apps: module %s is corrupted on disk", digest)
	}
	return b, nil
}

// fetchBlob gets a module from another node and keeps it, after checking
// its bytes against the digest.
func (r *Registry) fetchBlob(digest string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := r.fetch(ctx, digest)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != digest {
		return nil, fmt.Errorf("apps: module %s fetched with other bytes", digest)
	}
	return b, r.writeBlob(digest, b)
}

// hexRE matches a sha256 digest in hex.
var hexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (r *Registry) get(ctx context.Context, owner, name, version string) (App, error) {
	k := appKey(owner, name, version)
	r.mu.RLock()
	a, ok := r.cache[k]
	r.mu.RUnlock()
	if ok {
		return a, nil
	}
	r.mu.RLock()
	gen := r.gen
	r.mu.RUnlock()
	a, err := r.load(ctx, owner, name, version)
	if err == nil {
		r.mu.Lock()
		if r.gen == gen {
			r.cache[k] = a
		}
		r.mu.Unlock()
	}
	return a, err
}

// Forget drops the cached record of the meta key k (an "apps/..." key),
// or every cached record when k is "". A cluster calls it from a watch
// when another node removes a version.
func (r *Registry) Forget(k string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	if k == "" {
		clear(r.cache)
		return
	}
	delete(r.cache, k)
}

func (r *Registry) load(ctx context.Context, owner, name, version string) (App, error) {
	b, err := r.kv.Get(ctx, appKey(owner, name, version))
	if errors.Is(err, meta.ErrNotFound) {
		return App{}, ErrNoSuchApp
	}
	if err != nil {
		return App{}, err
	}
	var a App
	if err := json.Unmarshal(b, &a); err != nil {
		return App{}, fmt.Errorf("apps: decode %s/%s:%s: %w", owner, name, version, err)
	}
	return a, nil
}

// ParseRef splits "[owner/]name[:version]".
func ParseRef(ref string) (owner, name, version string) {
	rest := ref
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		owner, rest = rest[:i], rest[i+1:]
	}
	name, version, _ = strings.Cut(rest, ":")
	return owner, name, version
}

// SystemOwner's public apps (the examples a node seeds) are found by bare
// name when the caller has no app of that name. It is root's name and id.
const SystemOwner = "root"

// Resolve finds the app ref names for account (an id): its own app,
// another account's public app when ref is "owner/name[:version]" (owner
// an account name, or an id as in pinned references), or, for a bare name
// the account does not have, SystemOwner's public app.
func (r *Registry) Resolve(ctx context.Context, account, ref string) (App, error) {
	owner, _, _ := ParseRef(ref)
	a, err := r.resolve(ctx, account, ref)
	if errors.Is(err, ErrNoSuchApp) && owner == "" && account != SystemOwner {
		return r.resolve(ctx, account, SystemOwner+"/"+ref)
	}
	return a, err
}

func (r *Registry) resolve(ctx context.Context, account, ref string) (App, error) {
	owner, name, version := ParseRef(ref)
	if !validName(name) || (version != "" && !validVersion(version)) {
		return App{}, ErrInvalidName
	}
	owner, err := r.ownerOf(ctx, account, owner)
	if err != nil {
		return App{}, err
	}
	if version == "" {
		v, err := r.kv.Get(ctx, latestKey(owner, name))
		if errors.Is(err, meta.ErrNotFound) {
			return App{}, ErrNoSuchApp
		}
		if err != nil {
			return App{}, err
		}
		version = string(v)
	}
	a, err := r.get(ctx, owner, name, version)
	if err != nil {
		return App{}, err
	}
	if !auth.Owns(account, a.Owner) && !a.Public {
		return App{}, ErrNoSuchApp // do not reveal private apps
	}
	return a, nil
}

// ownerOf turns the owner part of a reference into an account id: the
// caller's own for "", an id as is, a name through WithOwnerIDs.
func (r *Registry) ownerOf(ctx context.Context, account, owner string) (string, error) {
	switch {
	case owner == "":
		return account, nil
	case auth.IsID(owner):
		return owner, nil
	case !validName(owner):
		return "", ErrInvalidName
	case r.ownerID == nil:
		return owner, nil
	}
	id, err := r.ownerID(ctx, owner)
	if errors.Is(err, auth.ErrNoSuchAccount) {
		return "", ErrNoSuchApp
	}
	return id, err
}

// List returns account's apps (every version) and, with public, other
// accounts' public apps, ordered by owner, name and creation.
func (r *Registry) List(ctx context.Context, account string, public bool) ([]App, error) {
	prefix := "apps/" + account + "/"
	if public {
		prefix = "apps/"
	}
	pairs, err := r.kv.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []App
	for _, p := range pairs {
		var a App
		if err := json.Unmarshal(p.Value, &a); err != nil {
			return nil, fmt.Errorf("apps: decode %s: %w", p.Key, err)
		}
		if auth.Owns(account, a.Owner) || a.Public {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Owner != out[j].Owner {
			return out[i].Owner < out[j].Owner
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Created.Before(out[j].Created)
	})
	return out, nil
}

// Remove deletes owner's app name:version, or every version when version is
// "". The module bytes stay while other versions or apps use them; blobs
// no record names are left for a later collection (they are small).
func (r *Registry) Remove(ctx context.Context, owner, name, version string) error {
	if !validName(name) {
		return ErrInvalidName
	}
	pairs, err := r.kv.List(ctx, "apps/"+owner+"/"+name+"/")
	if err != nil {
		return err
	}
	removed := 0
	for _, p := range pairs {
		if version != "" && p.Key != appKey(owner, name, version) {
			continue
		}
		if err := r.kv.Delete(ctx, p.Key); err != nil {
			return err
		}
		r.mu.Lock()
		delete(r.cache, p.Key)
		r.mu.Unlock()
		removed++
	}
	if removed == 0 {
		return ErrNoSuchApp
	}
	// Point "latest" at the newest remaining version, or drop it.
	rest, err := r.List(ctx, owner, false)
	if err != nil {
		return err
	}
	var newest *App
	for i := range rest {
		if rest[i].Name == name && (newest == nil || rest[i].Created.After(newest.Created)) {
			newest = &rest[i]
		}
	}
	if newest == nil {
		return r.kv.Delete(ctx, latestKey(owner, name))
	}
	return r.kv.Put(ctx, latestKey(owner, name), []byte(newest.Version))
}
