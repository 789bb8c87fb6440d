package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/store"
)

// download reads f from the engine into dir/tmp, hashing as it writes,
// checks its size and SHA-256, makes it durable and read-only, and
// renames it to path. On any failure nothing is left behind.
func (c *Cache) download(ctx context.Context, f ec2api.ImageFile, path string) (err error) {
	start := time.Now()
	tmpDir := filepath.Join(c.dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(tmpDir, f.SHA256+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, sum, err := c.copyObject(ctx, f, tmp)
	if err != nil {
		return err
	}
	if n != f.Size || sum != f.SHA256 {
		return fmt.Errorf("images: %s/%s: %w (now %d bytes, SHA-256 %s; registered %d bytes, SHA-256 %s)",
			f.Bucket, f.Key, ErrChanged, n, sum, f.Size, f.SHA256)
	}
	if err := tmp.Chmod(0o444); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	c.log.InfoContext(ctx, "images: file cached", "bucket", f.Bucket, "key", f.Key, "sha256", f.SHA256,
		"bytes", n, "took", time.Since(start))
	return syncDir(c.dir)
}

// copyObject copies f's object to w, returning its length and SHA-256.
func (c *Cache) copyObject(ctx context.Context, f ec2api.ImageFile, w io.Writer) (int64, string, error) {
	_, rc, err := c.engine.GetObject(ctx, f.Bucket, f.Key, nil)
	if errors.Is(err, store.ErrNoSuchKey) || errors.Is(err, store.ErrNoSuchBucket) {
		return 0, "", fmt.Errorf("images: %s/%s: %w (it no longer exists)", f.Bucket, f.Key, ErrChanged)
	}
	if err != nil {
		return 0, "", fmt.Errorf("images: read %s/%s: %w", f.Bucket, f.Key, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), rc)
	if err != nil {
		return 0, "", fmt.Errorf("images: read %s/%s: %w", f.Bucket, f.Key, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
