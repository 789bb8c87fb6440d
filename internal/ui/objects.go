package ui

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// crumb is one step of the prefix path above a listing.
type crumb struct{ Name, Prefix string }

func crumbs(prefix string) []crumb {
	var out []crumb
	for i := 0; i < len(prefix); {
		j := strings.IndexByte(prefix[i:], '/')
		if j < 0 {
			break
		}
		out = append(out, crumb{Name: prefix[i : i+j+1], Prefix: prefix[:i+j+1]})
		i += j + 1
	}
	return out
}

// encodeToken and decodeToken carry a listing's continuation point in a
// URL; the token is the last key or prefix shown, base64url-encoded.
func encodeToken(after string) string { return base64.RawURLEncoding.EncodeToString([]byte(after)) }

func decodeToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", &userError{status: http.StatusBadRequest, msg: "The page link is damaged; start again from the first page."}
	}
	return string(b), nil
}

// objects lists one level of a bucket the caller owns: the common
// prefixes and objects under ?prefix= with delimiter '/', pageSize at a
// time from the continuation ?token=.
func (h *Handler) objects(c *call) error {
	bucket := c.r.PathValue("bucket")
	if err := auth.OwnsBucket(c.ctx, h.cfg.Engine, c.s.accountID, bucket); err != nil {
		return err
	}
	q := c.r.URL.Query()
	after, err := decodeToken(q.Get("token"))
	if err != nil {
		return err
	}
	prefix := q.Get("prefix")
	res, err := h.cfg.Engine.ListObjects(c.ctx, bucket, store.ListOptions{Prefix: prefix, Delimiter: "/", After: after, MaxKeys: pageSize})
	if err != nil {
		return err
	}
	bindings, err := h.bindings(c, bucket)
	if err != nil {
		return err
	}
	data := struct {
		Bucket, Prefix string
		Crumbs         []crumb
		Prefixes       []string
		Objects        []store.ObjectInfo
		Next           string
		OpenWith       []runs.OpenWith
		CanOpenWith    bool
	}{Bucket: bucket, Prefix: prefix, Crumbs: crumbs(prefix), Prefixes: res.CommonPrefixes, Objects: res.Objects,
		OpenWith: bindings, CanOpenWith: h.openWith() != nil}
	if res.IsTruncated {
		data.Next = encodeToken(res.NextAfter)
	}
	return h.render(c, http.StatusOK, "objects", view{Title: bucket, Nav: "buckets", Data: data, Notice: q.Get("done")})
}
