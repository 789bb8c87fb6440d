package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Key is a newly issued access key pair. The secret is shown only once, in
// the answer that created it.
type Key struct {
	Name      string    `json:"name"`
	AccessKey string    `json:"access_key"`
	SecretKey string    `json:"secret_key"`
	Created   time.Time `json:"created"`
}

// User is an account as listed by the admin API.
type User struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"` // stable, never reused; owners are recorded by it
	Root       bool      `json:"root"`
	AccessKeys []string  `json:"access_keys"`
	Created    time.Time `json:"created"`
}

// Identity is the account the caller's keys belong to.
type Identity struct {
	Account string `json:"account"`
	ID      string `json:"id"`
	Root    bool   `json:"root"`
}

// CreateUser creates the account name and returns its first key pair. An
// existing name gives an *Error with code "UserExists". Root only.
func (c *Client) CreateUser(ctx context.Context, name string) (*Key, error) {
	var k Key
	err := c.do(ctx, http.MethodPost, "/api/v1/admin/users", map[string]string{"name": name}, &k)
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// ListUsers returns every account, the root account included. Root only.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var out struct {
		Users []User `json:"users"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/admin/users", nil, &out); err != nil {
		return nil, err
	}
	return out.Users, nil
}

// DeleteUser removes the account name and revokes its keys. A missing name
// gives code "NoSuchUser"; the root account cannot be removed. Root only.
func (c *Client) DeleteUser(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/admin/users/"+url.PathEscape(name), nil, nil)
}

// RotateKey issues a new key pair for name and revokes its previous keys.
// Root only.
func (c *Client) RotateKey(ctx context.Context, name string) (*Key, error) {
	var k Key
	if err := c.do(ctx, http.MethodPost, "/api/v1/admin/users/"+url.PathEscape(name)+"/keys", nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// WhoAmI returns the account the client's keys belong to.
func (c *Client) WhoAmI(ctx context.Context) (*Identity, error) {
	var id Identity
	if err := c.do(ctx, http.MethodGet, "/api/v1/whoami", nil, &id); err != nil {
		return nil, err
	}
	return &id, nil
}

// SetCaps sets an account's ceilings on run limits: keys "memory",
// "timeout", "stdout", "stderr", "out", "tmp" (sizes like "256MiB",
// durations like "1m"). An empty map clears them. Root only.
func (c *Client) SetCaps(ctx context.Context, name string, caps map[string]string) error {
	return c.do(ctx, http.MethodPut, "/api/v1/admin/users/"+url.PathEscape(name)+"/caps", caps, nil)
}
