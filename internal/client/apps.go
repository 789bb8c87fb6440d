package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// App is one version of an app in the registry.
type App struct {
	Owner    string         `json:"owner"`
	Name     string         `json:"name"`
	Version  string         `json:"version"`
	Digest   string         `json:"digest"`
	Size     int64          `json:"size"`
	Public   bool           `json:"public"`
	Created  time.Time      `json:"created"`
	Imports  []string       `json:"imports,omitempty"`
	Manifest map[string]any `json:"manifest"`
}

// PushApp uploads a module with its manifest (the JSON of app.json, or
// nil). version "" takes the manifest's, or a digest-derived one.
func (c *Client) PushApp(ctx context.Context, name, version string, wasm []byte, manifest map[string]any, public bool) (*App, error) {
	in := map[string]any{"name": name, "version": version, "wasm": wasm, "public": public}
	if manifest != nil {
		in["manifest"] = manifest
	}
	var a App
	if err := c.do(ctx, http.MethodPost, "/api/v1/apps", in, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// ListApps lists the caller's apps, and with public other accounts' public
// apps too.
func (c *Client) ListApps(ctx context.Context, public bool) ([]App, error) {
	p := "/api/v1/apps"
	if public {
		p += "?public=1"
	}
	var out struct {
		Apps []App `json:"apps"`
	}
	if err := c.do(ctx, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	return out.Apps, nil
}

// GetApp resolves [owner/]name[:version].
func (c *Client) GetApp(ctx context.Context, owner, name, version string) (*App, error) {
	p := "/api/v1/apps/" + url.PathEscape(name)
	if version != "" {
		p += "/" + url.PathEscape(version)
	}
	if owner != "" {
		p += "?owner=" + url.QueryEscape(owner)
	}
	var a App
	if err := c.do(ctx, http.MethodGet, p, nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// RemoveApp deletes one version, or every version when version is "".
func (c *Client) RemoveApp(ctx context.Context, name, version string) error {
	p := "/api/v1/apps/" + url.PathEscape(name)
	if version != "" {
		p += "/" + url.PathEscape(version)
	}
	return c.do(ctx, http.MethodDelete, p, nil, nil)
}

// OpenWith is a bucket's content-type -> app binding.
type OpenWith struct {
	Bucket      string `json:"bucket"`
	ContentType string `json:"content_type"`
	App         string `json:"app"`
}

// SetOpenWith registers app to open contentType objects of bucket
// (GET /BUCKET/KEY?open).
func (c *Client) SetOpenWith(ctx context.Context, bucket, contentType, app string) (*OpenWith, error) {
	var ow OpenWith
	err := c.do(ctx, http.MethodPut, "/api/v1/buckets/"+url.PathEscape(bucket)+"/open-with",
		map[string]string{"content_type": contentType, "app": app}, &ow)
	if err != nil {
		return nil, err
	}
	return &ow, nil
}

// ListOpenWith returns a bucket's bindings.
func (c *Client) ListOpenWith(ctx context.Context, bucket string) ([]OpenWith, error) {
	var out struct {
		OpenWith []OpenWith `json:"open_with"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/buckets/"+url.PathEscape(bucket)+"/open-with", nil, &out); err != nil {
		return nil, err
	}
	return out.OpenWith, nil
}
