package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// newKey is a key just made, shown once on the accounts page (never
// stored by the dashboard).
type newKey struct {
	Account, AccessKey, Secret string
	Self                       bool // root rotated its own key: this session ends
}

// errRootOnly refuses the account pages and actions to other accounts.
var errRootOnly = &userError{status: http.StatusForbidden, msg: "Only the root account sees the accounts."}

// addAccount creates the form's account and shows its first key once.
func (h *Handler) addAccount(c *call) error {
	if !c.s.root() {
		return errRootOnly
	}
	a, err := h.cfg.Accounts.Add(c.ctx, strings.TrimSpace(c.r.PostFormValue("name")))
	if err != nil {
		return h.accountError(c, err)
	}
	k := a.Keys[0]
	return h.renderAccounts(c, http.StatusCreated, "", &newKey{Account: a.Name, AccessKey: k.AccessKey, Secret: k.Secret})
}

// rotateKey gives an account a new key (its old ones stop working) and
// shows it once.
func (h *Handler) rotateKey(c *call) error {
	if !c.s.root() {
		return errRootOnly
	}
	name := c.r.PathValue("name")
	k, err := h.cfg.Accounts.Rotate(c.ctx, name)
	if err != nil {
		return h.accountError(c, err)
	}
	return h.renderAccounts(c, http.StatusOK, "", &newKey{Account: name, AccessKey: k.AccessKey, Secret: k.Secret, Self: name == c.s.account})
}

// setCaps sets an account's ceilings on run limits from the form (sizes
// like 256MiB, durations like 1m); all fields empty clears them.
func (h *Handler) setCaps(c *call) error {
	if !c.s.root() {
		return errRootOnly
	}
	f := c.r.PostFormValue
	spec := apps.LimitSpec{Memory: strings.TrimSpace(f("memory")), Timeout: strings.TrimSpace(f("timeout")), OutBytes: strings.TrimSpace(f("out"))}
	var caps *auth.Caps
	if spec != (apps.LimitSpec{}) {
		l, err := spec.Apply(sandbox.Limits{})
		if err != nil {
			return &userError{status: http.StatusBadRequest, msg: "The caps were refused: " + err.Error()}
		}
		ac := auth.Caps(l)
		caps = &ac
	}
	name := c.r.PathValue("name")
	if _, err := h.cfg.Accounts.SetCaps(c.ctx, name, caps); err != nil {
		return h.accountError(c, err)
	}
	done := "Cleared the caps of " + name + "."
	if caps != nil {
		done = "Set the caps of " + name + "."
	}
	return h.renderAccountsNotice(c, done)
}

// accountError words the account store's refusals.
func (h *Handler) accountError(c *call, err error) error {
	switch {
	case errors.Is(err, auth.ErrInvalidName):
		return h.renderAccounts(c, http.StatusBadRequest, "Name the account with 1-64 of a-z 0-9 . _ - (starting with a letter or digit).", nil)
	case errors.Is(err, auth.ErrAccountExists):
		return h.renderAccounts(c, http.StatusConflict, "There is already an account of that name.", nil)
	case errors.Is(err, auth.ErrNoSuchAccount):
		return &userError{status: http.StatusNotFound, msg: "There is no account of that name."}
	}
	return err
}
