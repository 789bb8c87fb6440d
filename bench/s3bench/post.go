package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
)

// postForm is one server's signed browser-upload form: the URL to POST
// to and the fields (a SigV4 POST policy from minio-go allowing any key
// under "post/" and sizes up to 1 GiB).
type postForm struct {
	url    string
	fields map[string]string
	client *http.Client
}

func signPostForm(ctx context.Context, t *target) (*postForm, error) {
	u, err := url.Parse(t.endpoint)
	if err != nil {
		return nil, err
	}
	mc, err := minio.New(u.Host, &minio.Options{Creds: miniocreds.NewStaticV4(accessKey, secretKey, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		return nil, err
	}
	p := minio.NewPostPolicy()
	if err := p.SetBucket(bucket); err != nil {
		return nil, err
	}
	_ = p.SetKeyStartsWith("post/")
	_ = p.SetExpires(time.Now().Add(24 * time.Hour))
	_ = p.SetContentLengthRange(0, 1<<30)
	pu, fields, err := mc.PresignedPostPolicy(ctx, p)
	if err != nil {
		return nil, err
	}
	return &postForm{url: pu.String(), fields: fields, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}, nil
}

// post uploads payload under key with the form, as a browser does (with
// a Content-Length), streaming the payload rather than copying it.
func (f *postForm) post(ctx context.Context, key string, payload []byte) error {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	for k, v := range f.fields {
		if k == "key" {
			v = key
		}
		_ = mw.WriteField(k, v)
	}
	if _, err := mw.CreateFormFile("file", "payload"); err != nil {
		return err
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	body := io.MultiReader(bytes.NewReader(head.Bytes()), bytes.NewReader(payload), strings.NewReader(tail))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, body)
	if err != nil {
		return err
	}
	req.ContentLength = int64(head.Len() + len(payload) + len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("POST: %s %s", resp.Status, msg)
	}
	return nil
}

// postRows measures browser-form uploads (POST Object) of size bytes at
// each concurrency, next to the PUT rows of the same size.
func postRows(ctx context.Context, cfg *config, targets []*target, size int64, measure func(name, kind string, conc int, op func(t *target) s3load.OpFunc)) error {
	forms := map[string]*postForm{}
	for _, t := range targets {
		f, err := signPostForm(ctx, t)
		if err != nil {
			return fmt.Errorf("%s: sign a POST policy: %w", t.name, err)
		}
		forms[t.name] = f
	}
	payload := s3load.RandomBytes(size)
	label := s3load.SizeLabel(size)
	for _, c := range cfg.concs {
		measure(fmt.Sprintf("POST %s c%d", label, c), "PUT", c, func(t *target) s3load.OpFunc {
			return func(ctx context.Context, w, seq int) (int64, int64, error) {
				key := fmt.Sprintf("post/%s/c%d/w%d-%d", label, c, w, seq)
				if err := forms[t.name].post(ctx, key, payload); err != nil {
					return 0, 0, err
				}
				return size, 0, nil
			}
		})
	}
	return nil
}
