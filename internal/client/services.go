package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Service is a route bound to an app; every request gets a fresh sandbox.
type Service struct {
	Name           string            `json:"name"`
	Owner          string            `json:"owner"`
	App            string            `json:"app"`
	Digest         string            `json:"digest"`
	Public         bool              `json:"public"`
	Env            map[string]string `json:"env,omitempty"`
	Timeout        time.Duration     `json:"timeout"`
	Memory         int64             `json:"memory"`
	MaxConcurrency int               `json:"max_concurrency"`
	Mounts         []ServiceMount    `json:"mounts,omitempty"`
	Out            *ServiceMount     `json:"out,omitempty"`
	Created        time.Time         `json:"created"`
	Updated        time.Time         `json:"updated"`
}

// ServiceMount exposes objects under a prefix below /in.
type ServiceMount struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
	Path   string `json:"path,omitempty"`
}

// ServiceSpec creates or updates a service; zero fields keep the current
// value (or take the default).
type ServiceSpec struct {
	App            string            `json:"app,omitempty"`
	Public         *bool             `json:"public,omitempty"`
	Env            map[string]string `json:"env,omitempty"`
	Timeout        string            `json:"timeout,omitempty"`
	Memory         string            `json:"memory,omitempty"`
	MaxConcurrency int               `json:"max_concurrency,omitempty"`
	Mounts         []ServiceMount    `json:"mounts,omitempty"`
	Out            *ServiceMount     `json:"out,omitempty"`
}

// ServiceStats are a service's live counters on the node.
type ServiceStats struct {
	Name      string             `json:"name"`
	Requests  int64              `json:"requests"`
	InFlight  int                `json:"in_flight"`
	ByStatus  map[string]int64   `json:"by_status"`
	LatencyMS map[string]float64 `json:"latency_ms"`
	RunMS     map[string]float64 `json:"run_ms"`
}

// CreateService creates the service name.
func (c *Client) CreateService(ctx context.Context, name string, spec ServiceSpec) (*Service, error) {
	in := struct {
		Name string `json:"name"`
		ServiceSpec
	}{name, spec}
	var s Service
	if err := c.do(ctx, http.MethodPost, "/api/v1/services", in, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// UpdateService changes a service; requests in flight finish on the old
// definition.
func (c *Client) UpdateService(ctx context.Context, name string, spec ServiceSpec) (*Service, error) {
	var s Service
	if err := c.do(ctx, http.MethodPatch, "/api/v1/services/"+url.PathEscape(name), spec, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// GetService returns one of the caller's services.
func (c *Client) GetService(ctx context.Context, name string) (*Service, error) {
	var s Service
	if err := c.do(ctx, http.MethodGet, "/api/v1/services/"+url.PathEscape(name), nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ListServices returns the caller's services.
func (c *Client) ListServices(ctx context.Context) ([]Service, error) {
	var out struct {
		Services []Service `json:"services"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/services", nil, &out); err != nil {
		return nil, err
	}
	return out.Services, nil
}

// RemoveService deletes a service.
func (c *Client) RemoveService(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/services/"+url.PathEscape(name), nil, nil)
}

// ServiceStats returns a service's counters.
func (c *Client) ServiceStats(ctx context.Context, name string) (*ServiceStats, error) {
	var st ServiceStats
	if err := c.do(ctx, http.MethodGet, "/api/v1/services/"+url.PathEscape(name)+"/stats", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
