package cli

import (
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"

	"github.com/minio/minio-go/v7"
)

// contentType guesses a Content-Type from the key's extension; "" lets the
// server default to application/octet-stream.
func contentType(key string) string {
	return mime.TypeByExtension(path.Ext(key))
}

// upload copies a local file, directory (recursive) or stdin to S3.
func (c *copier) upload(src, dst location) error {
	if src.isStdio() {
		p := newProgress(c.streams.Err, -1, 0)
		_, err := c.mc.PutObject(c.ctx, dst.bucket, dst.key, c.streams.In, -1, minio.PutObjectOptions{
			ContentType: contentType(dst.key),
			PartSize:    s3PartSize,
			Progress:    p.reader(),
		})
		p.finish()
		return err
	}
	fi, err := os.Stat(src.path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		if !c.recursive {
			return fmt.Errorf("%s is a directory (use --recursive)", src.path)
		}
		return c.uploadDir(src.path, dst)
	}
	key := dst.key
	if isDirLike(key) {
		key += filepath.Base(src.path)
	}
	p := newProgress(c.streams.Err, fi.Size(), 0)
	err = c.putFile(src.path, dst.bucket, key, p)
	p.finish()
	return err
}

// localFile is a file found under a directory being uploaded.
type localFile struct {
	path, rel string
	size      int64
}

// uploadDir uploads every regular file below dir to dst's prefix, keyed by
// its slash-separated path relative to dir. Symbolic links to files are
// followed; other special files are skipped with a warning.
func (c *copier) uploadDir(dir string, dst location) error {
	var files []localFile
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := os.Stat(p) // follows symlinks
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			fmt.Fprintf(c.streams.Err, "insitu: skipping %s: not a regular file\n", p)
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, localFile{path: p, rel: filepath.ToSlash(rel), size: fi.Size()})
		total += fi.Size()
		return nil
	})
	if err != nil {
		return err
	}
	prefix := asPrefix(dst.key)
	p := newProgress(c.streams.Err, total, int64(len(files)))
	defer p.finish()
	for _, f := range files {
		if err := c.putFile(f.path, dst.bucket, prefix+f.rel, p); err != nil {
			return fmt.Errorf("%s: %w", f.path, describe(err))
		}
		p.fileDone()
	}
	return nil
}

// putFile uploads one local file; minio-go switches to a parallel multipart
// upload for large files.
func (c *copier) putFile(name, bucket, key string, p *progress) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = c.mc.PutObject(c.ctx, bucket, key, f, fi.Size(), minio.PutObjectOptions{
		ContentType: contentType(key),
		Progress:    p.reader(),
	})
	return err
}
