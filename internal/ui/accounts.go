package ui

import (
	"net/http"

	"github.com/insitu-cloud/insitu/internal/auth"
)

// accountRow is one account as root sees it: never a secret.
type accountRow struct {
	Name, ID string
	Root     bool
	Created  string
	Keys     []string // access keys
	Capped   bool
}

// accounts lists the accounts to root, pageSize at a time after ?after=.
func (h *Handler) accounts(c *call) error {
	if !c.s.root() {
		return &userError{status: http.StatusForbidden, msg: "Only the root account sees the accounts."}
	}
	all, err := h.cfg.Accounts.List(c.ctx)
	if err != nil {
		return err
	}
	after := c.r.URL.Query().Get("after")
	var rows []accountRow
	next := ""
	for _, a := range all {
		if a.Name <= after {
			continue
		}
		if len(rows) == pageSize {
			next = rows[len(rows)-1].Name
			break
		}
		rows = append(rows, row(a))
	}
	data := struct {
		Accounts []accountRow
		Next     string
	}{rows, next}
	return h.render(c, http.StatusOK, "accounts", view{Title: "Accounts", Nav: "accounts", Data: data})
}

func row(a auth.Account) accountRow {
	r := accountRow{Name: a.Name, ID: a.ID, Root: a.Root, Created: a.Created.Format("2006-01-02 15:04"), Capped: a.Caps != nil}
	for _, k := range a.Keys {
		r.Keys = append(r.Keys, k.AccessKey)
	}
	return r
}
