package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/insitu-cloud/insitu/internal/auth"
)

// errNoRemoval answers a removal when the node gave the dashboard no way
// to remove accounts (Config.RemoveAccount nil).
var errNoRemoval = &userError{status: http.StatusNotFound, msg: "This node does not remove accounts from the dashboard; use insitu admin user rm."}

// errRootStays refuses to remove the root account, as the CLI does.
var errRootStays = &userError{status: http.StatusBadRequest, msg: "The root account cannot be removed."}

// confirmRemoveAccount is the confirmation step: it names the account,
// says what removal does and what refuses it, and holds the form that
// removes it. Root only.
func (h *Handler) confirmRemoveAccount(c *call) error {
	if !c.s.root() {
		return errRootOnly
	}
	if h.cfg.RemoveAccount == nil {
		return errNoRemoval
	}
	a, err := h.cfg.Accounts.Get(c.ctx, c.r.PathValue("name"))
	if err != nil {
		return h.accountError(c, err)
	}
	if a.Root {
		return errRootStays
	}
	return h.render(c, http.StatusOK, "account_remove", view{Title: "Remove " + a.Name, Nav: "accounts", Data: row(a)})
}

// removeAccount removes the named account through Config.RemoveAccount
// (the function `insitu admin user rm` reaches, with its refusals). Its
// keys stop working at once, and so do its sessions: the guard checks the
// key of every session on every request. Root only.
func (h *Handler) removeAccount(c *call) error {
	if !c.s.root() {
		return errRootOnly
	}
	if h.cfg.RemoveAccount == nil {
		return errNoRemoval
	}
	name := c.r.PathValue("name")
	err := h.cfg.RemoveAccount(c.ctx, name)
	switch {
	case err == nil:
		return h.renderAccountsNotice(c, "Removed "+name+": its keys no longer work and its sessions have ended.")
	case errors.Is(err, auth.ErrRootImmutable):
		return errRootStays
	case errors.Is(err, auth.ErrAccountInUse):
		why := strings.TrimPrefix(err.Error(), auth.ErrAccountInUse.Error()+": ")
		return h.renderAccounts(c, http.StatusConflict, name+" was not removed: "+why+" (the CLI refuses the same way).", nil)
	}
	return h.accountError(c, err)
}
