package ui

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/store"
)

// pageSize is the length of every list page.
const pageSize = 100

// buckets lists the caller's buckets, pageSize at a time after ?after=.
func (h *Handler) buckets(c *call) error {
	all, err := h.cfg.Engine.ListBuckets(c.ctx)
	if err != nil {
		return err
	}
	after := c.r.URL.Query().Get("after")
	var own []store.BucketInfo
	next := ""
	for _, b := range all {
		if !auth.Owns(c.s.accountID, b.Owner) || b.Name <= after {
			continue
		}
		if len(own) == pageSize {
			next = own[len(own)-1].Name
			break
		}
		own = append(own, b)
	}
	data := struct {
		Buckets []store.BucketInfo
		Next    string
	}{own, next}
	return h.render(c, http.StatusOK, "buckets", view{Title: "Buckets", Nav: "buckets", Data: data, Notice: c.r.URL.Query().Get("done")})
}

// createBucket creates the bucket named by the form's name field.
func (h *Handler) createBucket(c *call) error {
	name := strings.TrimSpace(c.r.PostFormValue("name"))
	if h.cfg.ValidBucketName != nil && !h.cfg.ValidBucketName(name) {
		return &userError{status: http.StatusBadRequest, msg: "A bucket name is 3 to 63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit."}
	}
	err := h.cfg.Engine.CreateBucket(c.ctx, store.BucketInfo{Name: name, Owner: c.s.accountID, Region: h.cfg.Region, Created: time.Now().UTC()})
	if err != nil {
		return err
	}
	http.Redirect(c.w, c.r, "/ui/b/"+url.PathEscape(name)+"/", http.StatusSeeOther)
	return nil
}

// deleteBucket deletes an empty bucket the caller owns.
func (h *Handler) deleteBucket(c *call) error {
	name := c.r.PathValue("bucket")
	if err := auth.OwnsBucket(c.ctx, h.cfg.Engine, c.s.accountID, name); err != nil {
		return err
	}
	if err := h.cfg.Engine.DeleteBucket(c.ctx, name); err != nil {
		return err
	}
	if h.cfg.BucketDeleted != nil {
		h.cfg.BucketDeleted(c.ctx, name)
	}
	http.Redirect(c.w, c.r, "/ui/buckets?done="+url.QueryEscape("Deleted bucket "+name+"."), http.StatusSeeOther)
	return nil
}
