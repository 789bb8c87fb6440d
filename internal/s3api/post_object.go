package s3api

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/s3api/postpolicy"
	"github.com/insitu-cloud/insitu/internal/store"
)

// postResponse is the body of a POST Object answered with
// success_action_status 201.
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// postObject serves POST Object, a browser's form upload: the form's
// fields, its SigV4 signature over the base64 policy and the policy's
// conditions are checked before the file (the last field read) streams
// into the store; content-length-range is enforced while it streams and
// nothing is stored when any check fails. The upload is authorized as a
// PutObject by the signing credential would be.
func (h *Handler) postObject(w http.ResponseWriter, r *http.Request, bucket string) {
	if err := h.servePost(w, r, bucket); err != nil {
		writeError(w, r, err)
	}
}

func (h *Handler) servePost(w http.ResponseWriter, r *http.Request, bucket string) error {
	ctx := r.Context()
	if !validBucketName(bucket) {
		return errInvalidBucketName
	}
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if params["boundary"] == "" {
		return errPostForm
	}
	form, err := readPostForm(r.Body, params["boundary"])
	if err != nil {
		return err
	}
	f := form.fields
	if f["policy"] == "" && f["x-amz-signature"] == "" && f["x-amz-credential"] == "" && f["signature"] == "" && f["awsaccesskeyid"] == "" {
		return errAccessDenied // an unsigned form: anonymous writes are refused
	}
	pf := sigv4.PostForm{Algorithm: f["x-amz-algorithm"], Credential: f["x-amz-credential"],
		Date: f["x-amz-date"], Signature: f["x-amz-signature"], Policy: f["policy"]}
	if pf.Algorithm == "" && f["awsaccesskeyid"] != "" { // a SigV2 form
		pf.AccessKeyID, pf.Signature = f["awsaccesskeyid"], f["signature"]
	}
	cred, err := h.verifier.VerifyPost(ctx, pf)
	if err != nil {
		return err
	}
	oi := obs.FromContext(ctx)
	oi.Account, oi.AccountID = cred.Account, cred.AccountID
	pol, key, err := h.checkPostPolicy(form, bucket)
	if err != nil {
		return err
	}
	req := &request{w: w, r: r, ctx: ctx, q: r.URL.Query(), account: cred.AccountID, name: cred.Account, bucket: bucket, key: key}
	opts, err := h.postOptions(req, f)
	if err != nil {
		return err
	}
	body := &lengthCheck{r: form.file, max: maxPutSize}
	if pol.HasLength {
		body.min, body.max = pol.MinLength, min(pol.MaxLength, maxPutSize)
	}
	info, err := h.engine.PutObject(ctx, bucket, key, body, -1, opts)
	if err != nil {
		return err
	}
	setVersionHeader(w, info.VersionID)
	postAnswer(w, r, f, bucket, key, quoteETag(info.ETag))
	return nil
}

// checkPostPolicy decodes and checks the form's policy, and returns it
// with the object key (${filename} replaced by the file's name).
func (h *Handler) checkPostPolicy(form *postForm, bucket string) (*postpolicy.Policy, string, error) {
	doc, err := base64.StdEncoding.DecodeString(form.fields["policy"])
	if err != nil {
		return nil, "", apiErr(http.StatusBadRequest, "InvalidPolicyDocument", "Invalid Policy: Invalid Base64 encoding.")
	}
	pol, err := postpolicy.Parse(doc)
	if err != nil {
		return nil, "", policyError(err)
	}
	key, ok := form.fields["key"]
	if !ok {
		return nil, "", apiErr(http.StatusBadRequest, "InvalidArgument", "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
	}
	key = strings.ReplaceAll(key, "${filename}", form.filename)
	switch {
	case key == "":
		return nil, "", apiErr(http.StatusBadRequest, "InvalidArgument", "User key must have a length greater than 0.")
	case len(key) > 1024:
		return nil, "", errKeyTooLong
	case !utf8.ValidString(key):
		return nil, "", errKeyNotUTF8
	}
	check := make(map[string]string, len(form.fields)+1)
	for k, v := range form.fields {
		check[k] = v
	}
	check["key"], check["bucket"] = key, bucket
	if err := pol.Check(h.now(), check); err != nil {
		return nil, "", policyError(err)
	}
	return pol, key, nil
}

// postOptions authorizes the upload req (the form's signer writing its
// key) and returns how it is stored, from the form's fields: the
// decision a PutObject by that signer would get (auth.Authorize through
// Handler.authorize: the owner, or a policy or ACL granting
// s3:PutObject), then the object's metadata and its Object Lock fields
// (x-amz-object-lock-mode, -retain-until-date, -legal-hold), checked as
// PutObject checks the headers of those names, bar the Content-MD5 a PUT
// with them needs. Without them the bucket's default retention applies.
func (h *Handler) postOptions(req *request, f map[string]string) (store.PutOptions, error) {
	if err := h.authorize(req, req.bucket, req.key, "s3:PutObject"); err != nil {
		return store.PutOptions{}, err
	}
	hd := formHeader(f)
	meta, err := metaFromHeaders(hd)
	if err != nil {
		return store.PutOptions{}, err
	}
	if err := h.writeLockFrom(req, hd, &meta, false); err != nil {
		return store.PutOptions{}, err
	}
	return store.PutOptions{Meta: meta}, nil
}

// policyError turns a postpolicy refusal into S3's answer.
func policyError(err error) error {
	var pe *postpolicy.Error
	if !errors.As(err, &pe) {
		return err
	}
	if pe.Invalid {
		return &APIError{http.StatusBadRequest, "InvalidPolicyDocument", pe.Message}
	}
	return &APIError{http.StatusForbidden, "AccessDenied", pe.Message}
}

func (h *Handler) now() time.Time {
	if h.verifier != nil && h.verifier.Now != nil {
		return h.verifier.Now()
	}
	return time.Now()
}

// formHeader presents the form's fields as request headers, for the
// object metadata they carry (Content-Type, x-amz-meta-*, ...).
func formHeader(fields map[string]string) http.Header {
	hd := http.Header{}
	for k, v := range fields {
		if k != "policy" && k != "x-amz-signature" {
			hd.Set(k, v)
		}
	}
	return hd
}

// postAnswer answers a stored POST upload: a 303 to success_action_redirect
// (with bucket, key and etag added to its query) when it is a valid
// absolute URL, else success_action_status 200 or 201 (with the
// PostResponse XML), else 204.
func postAnswer(w http.ResponseWriter, r *http.Request, f map[string]string, bucket, key, etag string) {
	w.Header().Set("ETag", etag)
	redirect := f["success_action_redirect"]
	if redirect == "" {
		redirect = f["redirect"]
	}
	if u, err := url.Parse(redirect); err == nil && u.IsAbs() && (u.Scheme == "http" || u.Scheme == "https") {
		q := u.Query()
		q.Set("bucket", bucket)
		q.Set("key", key)
		q.Set("etag", etag)
		u.RawQuery = q.Encode()
		w.Header().Set("Location", u.String())
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	switch f["success_action_status"] {
	case "200":
		w.WriteHeader(http.StatusOK)
	case "201":
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		loc := (&url.URL{Scheme: scheme, Host: r.Host, Path: "/" + bucket + "/" + key}).String()
		writeXMLStatus(w, http.StatusCreated, postResponse{Location: loc, Bucket: bucket, Key: key, ETag: etag})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// writeXMLStatus sends v as an XML response with status.
func writeXMLStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}
