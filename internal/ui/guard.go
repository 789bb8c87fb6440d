package ui

import (
	"context"
	"errors"
	"net/http"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/obs"
)

// cookieName names the session cookie (Path /ui/, HttpOnly,
// SameSite=Strict, Secure over TLS).
const cookieName = "insitu_session"

// csrfField is the form field, and csrfHeader the header, that carry a
// session's CSRF token.
const (
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

// maxFormBytes bounds a dashboard form or JSON body.
const maxFormBytes = 64 << 10

// call is one request from a signed-in browser.
type call struct {
	w   http.ResponseWriter
	r   *http.Request
	ctx context.Context
	s   session
}

type callFunc func(c *call) error

// errSignedOut means the request has no live session.
var errSignedOut = errors.New("ui: signed out")

// session returns the request's live session. The key it signed in with
// must still exist, belong to the same account and have the same secret;
// otherwise the session is revoked.
func (h *Handler) session(r *http.Request) (session, error) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, errSignedOut
	}
	s, ok, err := h.sessions.get(r.Context(), ck.Value)
	if err != nil {
		return session{}, err
	}
	if !ok {
		return session{}, errSignedOut
	}
	cred, err := h.cfg.Accounts.Lookup(r.Context(), s.accessKey)
	if errors.Is(err, sigv4.ErrUnknownKey) || err == nil && (cred.AccountID != s.accountID || !s.sameSecret(cred.Secret)) {
		if err := h.sessions.revoke(r.Context(), s.id); err != nil {
			return session{}, err
		}
		return session{}, errSignedOut
	}
	if err != nil {
		return session{}, err
	}
	return s, nil
}

// page wraps a GET handler: no session sends the browser to sign in.
func (h *Handler) page(fn callFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		obs.SetOp(r.Context(), "ui", "page")
		w.Header().Set("Cache-Control", "no-store")
		s, err := h.session(r)
		if errors.Is(err, errSignedOut) {
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		h.serve(w, r, s, err, fn)
	}
}

// live wraps a GET of a live stream: no session is 403 (an EventSource
// cannot follow a redirect to the sign-in page usefully).
func (h *Handler) live(fn callFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		obs.SetOp(r.Context(), "ui", "stream")
		obs.FromContext(r.Context()).Stream = true
		w.Header().Set("Cache-Control", "no-store")
		s, err := h.session(r)
		if errors.Is(err, errSignedOut) {
			h.forbidden(w, r, "You are signed out. Sign in again.")
			return
		}
		h.serve(w, r, s, err, fn)
	}
}

// change wraps a state-changing POST: it needs a live session, its CSRF
// token, and a same-origin request (Sec-Fetch-Site / Origin); anything
// else is 403. The body is at most maxFormBytes.
func (h *Handler) change(fn callFunc) http.HandlerFunc { return h.changeUpTo(maxFormBytes, fn) }

// changeUpTo is change with a body of at most limit bytes.
func (h *Handler) changeUpTo(limit int64, fn callFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		obs.SetOp(r.Context(), "ui", "change")
		w.Header().Set("Cache-Control", "no-store")
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := h.cross.Check(r); err != nil {
			h.forbidden(w, r, "This request came from another site and was refused.")
			return
		}
		s, err := h.session(r)
		if errors.Is(err, errSignedOut) {
			h.forbidden(w, r, "You are signed out. Sign in again.")
			return
		}
		if err == nil {
			token := r.Header.Get(csrfHeader)
			if token == "" {
				if tooLarge(r) {
					h.fail(&call{w: w, r: r, ctx: r.Context()}, &userError{status: http.StatusRequestEntityTooLarge,
						msg: "The form is larger than this page accepts (" + humanBytes(limit) + ")."})
					return
				}
				token = r.PostFormValue(csrfField)
			}
			if !s.csrfOK(token) {
				h.forbidden(w, r, "This form has expired or was not sent from this dashboard. Reload the page and try again.")
				return
			}
		}
		h.serve(w, r, s, err, fn)
	}
}

// serve runs fn and shows its error in the page.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, s session, err error, fn callFunc) {
	c := &call{w: w, r: r, ctx: r.Context(), s: s}
	if err == nil {
		info := obs.FromContext(c.ctx)
		info.Account, info.AccountID = s.account, s.accountID
		err = fn(c)
	}
	if err != nil {
		h.fail(c, err)
	}
}

func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, msg string) {
	h.fail(&call{w: w, r: r, ctx: r.Context()}, &userError{status: http.StatusForbidden, msg: msg})
}

// setCookie sets (or, with an empty s, clears) the session cookie.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, s *session) {
	ck := &http.Cookie{Name: cookieName, Path: "/ui/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
	if s == nil {
		ck.MaxAge = -1
	} else {
		ck.Value = s.id
		ck.Expires = h.sessions.expires(s)
	}
	http.SetCookie(w, ck)
}

// tooLarge parses r's form and reports whether its body was over the
// MaxBytesReader's limit. Multipart files over 32 MiB go to temporary
// files, which net/http removes after the request.
func tooLarge(r *http.Request) bool {
	var err error
	if ct := r.Header.Get("Content-Type"); len(ct) >= 19 && ct[:19] == "multipart/form-data" {
		err = r.ParseMultipartForm(32 << 20)
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
