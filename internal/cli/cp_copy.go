package cli

import (
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"
)

// maxCopyObjectSize is the largest object one CopyObject request may copy;
// larger objects are copied part by part (UploadPartCopy).
const maxCopyObjectSize = 5 << 30

// copyS3 copies objects server-side: the bytes never pass through the
// client.
func (c *copier) copyS3(src, dst location) error {
	if !c.recursive {
		key := dst.key
		if isDirLike(key) {
			key += keyBase(src.key)
		}
		return c.copyObject(src.bucket, src.key, -1, dst.bucket, key)
	}
	prefix, dprefix := asPrefix(src.key), asPrefix(dst.key)
	for o := range c.mc.ListObjects(c.ctx, src.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return o.Err
		}
		if err := c.copyObject(src.bucket, o.Key, o.Size, dst.bucket, dprefix+strings.TrimPrefix(o.Key, prefix)); err != nil {
			return fmt.Errorf("s3://%s/%s: %w", src.bucket, o.Key, describe(err))
		}
	}
	return nil
}

// copyObject copies one object (of the given size, or -1 to look it up)
// with its metadata: one CopyObject request up to 5 GiB, a multipart copy
// beyond.
func (c *copier) copyObject(srcBucket, srcKey string, size int64, dstBucket, dstKey string) error {
	if size < 0 {
		info, err := c.mc.StatObject(c.ctx, srcBucket, srcKey, minio.StatObjectOptions{})
		if err != nil {
			return err
		}
		size = info.Size
	}
	dst := minio.CopyDestOptions{Bucket: dstBucket, Object: dstKey}
	src := minio.CopySrcOptions{Bucket: srcBucket, Object: srcKey}
	if size <= maxCopyObjectSize {
		_, err := c.mc.CopyObject(c.ctx, dst, src)
		return err
	}
	src.MatchRange, src.Start, src.End = true, 0, size-1
	_, err := c.mc.ComposeObject(c.ctx, dst, src)
	return err
}
