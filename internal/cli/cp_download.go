package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
)

// download copies an object (or, recursively, a prefix) to a local path or
// standard output.
func (c *copier) download(src, dst location) error {
	if c.recursive {
		return c.downloadPrefix(src, dst)
	}
	if dst.isStdio() {
		// No progress bar: standard output may be the same terminal.
		return catObject(c.ctx, c.mc, src, c.streams.Out)
	}
	p := newProgress(c.streams.Err, 0, 0)
	defer p.finish()
	target := dst.path
	if isLocalDir(target) {
		base := keyBase(src.key)
		if base == "." || base == ".." || base == "/" {
			return fmt.Errorf("%s: cannot derive a file name from the key", src)
		}
		target = filepath.Join(target, base)
	}
	return c.getFile(src.bucket, src.key, target, p)
}

// isLocalDir reports whether p ends in a path separator or is an existing
// directory.
func isLocalDir(p string) bool {
	if strings.HasSuffix(p, "/") || strings.HasSuffix(p, string(os.PathSeparator)) {
		return true
	}
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// downloadPrefix copies every object below src's prefix into the directory
// dst.path, refusing keys that would land outside it.
func (c *copier) downloadPrefix(src, dst location) error {
	prefix := asPrefix(src.key)
	p := newProgress(c.streams.Err, -1, 0)
	defer p.finish()
	for o := range c.mc.ListObjects(c.ctx, src.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return o.Err
		}
		if strings.HasSuffix(o.Key, "/") {
			continue // a "directory" marker
		}
		rel := filepath.FromSlash(strings.TrimPrefix(o.Key, prefix))
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("key %q would be written outside %s", o.Key, dst.path)
		}
		if err := c.getFile(src.bucket, o.Key, filepath.Join(dst.path, rel), p); err != nil {
			return fmt.Errorf("s3://%s/%s: %w", src.bucket, o.Key, describe(err))
		}
		p.fileDone()
	}
	return nil
}

// getFile downloads one object to target through a temporary file in the
// same directory, renamed into place when complete: an interrupted copy
// never leaves a partial file under the final name.
func (c *copier) getFile(bucket, key, target string, p *progress) (err error) {
	obj, err := c.mc.GetObject(c.ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer obj.Close()
	st, err := obj.Stat()
	if err != nil {
		return err
	}
	p.addTotal(st.Size)
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".insitu-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, p.wrap(obj)); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}
