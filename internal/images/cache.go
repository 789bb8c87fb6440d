package images

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/store"
)

// ErrChanged means an image file in the object store is no longer what
// was registered: its size or SHA-256 differs, or it is gone. Register
// the image again to use the new bytes.
var ErrChanged = errors.New("image file changed since registration")

// Files are the local paths of an image's files, ready to boot.
type Files struct {
	Kernel, Initrd string
	Root           string // "" when the image has no root disk
	Cmdline        string // the image's kernel command line (not a path)
}

// Cache keeps image files under its directory by SHA-256. It is safe for
// concurrent use: concurrent Fetches of one file download it once, and
// the others wait for that download. Cached files are read-only (0444);
// a root disk is meant to be the backing file of per-instance overlays.
type Cache struct {
	dir    string
	engine store.Engine
	log    *slog.Logger

	mu      sync.Mutex
	flights map[string]*flight // by SHA-256: downloads in progress
}

// flight is one download in progress; done is closed when err is set.
type flight struct {
	done chan struct{}
	err  error
}

// New returns a cache of files under dir (made absolute; created on the
// first download) read from engine. It removes what an interrupted
// download left in dir/tmp. log may be nil (slog.Default).
func New(dir string, engine store.Engine, log *slog.Logger) *Cache {
	if log == nil {
		log = slog.Default()
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if err := os.RemoveAll(filepath.Join(dir, "tmp")); err != nil {
		log.Warn("images: cannot clear leftover downloads", "dir", dir, "err", err)
	}
	return &Cache{dir: dir, engine: engine, log: log, flights: map[string]*flight{}}
}

// Fetch returns the local files of img, downloading those not cached yet
// (the kernel, the initrd, then the root disk when the image has one).
// Each is checked against the size and SHA-256 registered with the image;
// a mismatch is ErrChanged and keeps nothing.
func (c *Cache) Fetch(ctx context.Context, img ec2api.Image) (Files, error) {
	out := Files{Cmdline: img.Cmdline}
	var err error
	if out.Kernel, err = c.file(ctx, img.Kernel); err != nil {
		return Files{}, err
	}
	if out.Initrd, err = c.file(ctx, img.Initrd); err != nil {
		return Files{}, err
	}
	if img.Root.Key != "" {
		if out.Root, err = c.file(ctx, img.Root); err != nil {
			return Files{}, err
		}
	}
	return out, nil
}

// file returns the local path of f, downloading it unless cached. When
// the download this call waited on was given up by its own caller's
// context, this call tries again itself.
func (c *Cache) file(ctx context.Context, f ec2api.ImageFile) (string, error) {
	if !validSHA256(f.SHA256) {
		return "", fmt.Errorf("images: %s/%s: invalid SHA-256 %q", f.Bucket, f.Key, f.SHA256)
	}
	path := filepath.Join(c.dir, f.SHA256)
	for {
		if ok, err := c.cached(path, f.Size); ok || err != nil {
			return path, err
		}
		fl, leader := c.join(f.SHA256)
		if leader {
			err := c.download(ctx, f, path)
			c.finish(f.SHA256, fl, err)
			if err != nil {
				return "", err
			}
			return path, nil
		}
		select {
		case <-fl.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		gaveUp := errors.Is(fl.err, context.Canceled) || errors.Is(fl.err, context.DeadlineExceeded)
		if fl.err != nil && !gaveUp {
			return "", fl.err
		}
	}
}

// cached reports whether path holds a file of size; a file of another
// size (damaged by hand) is removed so it is downloaded again.
func (c *Cache) cached(path string, size int64) (bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if st.Size() == size {
		return true, nil
	}
	c.log.Warn("images: cached file has the wrong size; fetching it again", "path", path, "size", st.Size(), "want", size)
	return false, os.Remove(path)
}

// join returns the download of sha in progress, or starts one whose
// leader the caller is.
func (c *Cache) join(sha string) (*flight, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fl, ok := c.flights[sha]; ok {
		return fl, false
	}
	fl := &flight{done: make(chan struct{})}
	c.flights[sha] = fl
	return fl, true
}

// finish ends the download of sha with err and wakes its waiters.
func (c *Cache) finish(sha string, fl *flight, err error) {
	c.mu.Lock()
	delete(c.flights, sha)
	c.mu.Unlock()
	fl.err = err
	close(fl.done)
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
