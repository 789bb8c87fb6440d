package ui

import (
	"net/http"
	"strings"

	"github.com/insitu-cloud/insitu/internal/auth"
)

// accountRow is one account as root sees it: never a secret.
type accountRow struct {
	Name, ID string
	Root     bool
	Created  string
	Keys     []string // access keys
	Capped   bool
	Caps     string // the ceilings in words, "" without
}

// accounts lists the accounts to root, pageSize at a time after ?after=.
func (h *Handler) accounts(c *call) error {
	return h.renderAccounts(c, http.StatusOK, "", nil)
}

// renderAccountsNotice shows the accounts page with a notice.
func (h *Handler) renderAccountsNotice(c *call, notice string) error {
	return h.renderPage(c, http.StatusOK, "", notice, nil)
}

// renderAccounts shows the accounts page with an error and a key just
// made (nil: none).
func (h *Handler) renderAccounts(c *call, status int, msg string, key *newKey) error {
	return h.renderPage(c, status, msg, "", key)
}

func (h *Handler) renderPage(c *call, status int, msg, notice string, key *newKey) error {
	if !c.s.root() {
		return errRootOnly
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
		Accounts  []accountRow
		Next      string
		Key       *newKey
		CanRemove bool // Config.RemoveAccount is set
	}{rows, next, key, h.cfg.RemoveAccount != nil}
	return h.render(c, status, "accounts", view{Title: "Accounts", Nav: "accounts", Data: data, Error: msg, Notice: notice})
}

func row(a auth.Account) accountRow {
	r := accountRow{Name: a.Name, ID: a.ID, Root: a.Root, Created: a.Created.Format("2006-01-02 15:04"), Capped: a.Caps != nil}
	for _, k := range a.Keys {
		r.Keys = append(r.Keys, k.AccessKey)
	}
	if c := a.Caps; c != nil {
		var parts []string
		if c.Memory > 0 {
			parts = append(parts, "memory "+humanBytes(c.Memory))
		}
		if c.Timeout > 0 {
			parts = append(parts, "timeout "+c.Timeout.String())
		}
		if c.OutBytes > 0 {
			parts = append(parts, "out "+humanBytes(c.OutBytes))
		}
		r.Caps = strings.Join(parts, ", ")
	}
	return r
}
