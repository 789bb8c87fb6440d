package ui

import (
	"errors"
	"net/http"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/obs"
)

// loginForm shows the sign-in form, or the overview to a signed-in browser.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	obs.SetOp(r.Context(), "ui", "login")
	if _, err := h.session(r); err == nil {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	c := &call{w: w, r: r, ctx: r.Context()}
	if err := h.render(c, http.StatusOK, "login", view{Title: "Sign in"}); err != nil {
		h.fail(c, err)
	}
}

// login exchanges access_key and secret_key for a session cookie. A
// cross-site post is refused like every other change.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	obs.SetOp(r.Context(), "ui", "login")
	w.Header().Set("Cache-Control", "no-store")
	c := &call{w: w, r: r, ctx: r.Context()}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := h.cross.Check(r); err != nil {
		h.forbidden(w, r, "This request came from another site and was refused.")
		return
	}
	ak, secret := r.PostFormValue("access_key"), r.PostFormValue("secret_key")
	if !h.loginAllowed(w, r, ak) {
		return
	}
	cred, err := h.cfg.Accounts.CheckSecret(r.Context(), ak, secret)
	if errors.Is(err, auth.ErrBadCredentials) || err == nil && ak == "" {
		obs.FromContext(r.Context()).Logger.Info("ui: sign-in refused", "access_key", ak)
		if rerr := h.render(c, http.StatusUnauthorized, "login", view{Title: "Sign in", Error: "Wrong access key or secret key."}); rerr != nil {
			h.fail(c, rerr)
		}
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	s, err := h.sessions.create(r.Context(), cred.AccessKey, cred.Secret, cred.Account, cred.AccountID)
	if errors.Is(err, errFull) {
		err = &userError{status: http.StatusServiceUnavailable, msg: "Too many people are signed in to this node. Try again later."}
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.setCookie(w, r, s)
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// logout revokes the session: its cookie is useless from now on.
func (h *Handler) logout(c *call) error {
	if err := h.sessions.revoke(c.ctx, c.s.id); err != nil {
		return err
	}
	h.setCookie(c.w, c.r, nil)
	http.Redirect(c.w, c.r, "/ui/login", http.StatusSeeOther)
	return nil
}
