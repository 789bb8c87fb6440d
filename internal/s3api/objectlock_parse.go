package s3api

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// Object Lock's XML bodies and headers, parsed and validated as S3 does.

// maxLockBody bounds the body of PutObjectLockConfiguration,
// PutObjectRetention and PutObjectLegalHold.
const maxLockBody = 64 << 10

// Limits of a default retention, as S3 keeps them.
const (
	maxRetentionDays  = 36500
	maxRetentionYears = 100
)

// retainUntilFormat is how S3 writes a retain-until date.
const retainUntilFormat = "2006-01-02T15:04:05.000Z"

var (
	errObjectLocked = apiErr(http.StatusForbidden, "AccessDenied",
		"Access Denied because object protected by object lock.")
	errLockNotEnabled = apiErr(http.StatusBadRequest, "InvalidRequest",
		"Bucket is missing Object Lock Configuration")
	errNoLockConfig = apiErr(http.StatusNotFound, "ObjectLockConfigurationNotFoundError",
		"Object Lock configuration does not exist for this bucket")
	errLockedVersioning = apiErr(http.StatusConflict, "InvalidBucketState",
		"An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
	errLockNeedsVersioning = apiErr(http.StatusConflict, "InvalidBucketState",
		"Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
	errNoObjectLock = apiErr(http.StatusNotFound, "NoSuchObjectLockConfiguration",
		"The specified object does not have a ObjectLock configuration")
	errLockCluster = apiErr(http.StatusNotImplemented, "NotImplemented",
		"Object Lock is not yet available in a cluster; it works on a single node.")
	errRetainPast = apiErr(http.StatusBadRequest, "InvalidArgument",
		"The retain until date must be in the future!")
	errRetainFormat = apiErr(http.StatusBadRequest, "InvalidArgument",
		"The retain until date must be provided in ISO 8601 format")
	errLockBoth = apiErr(http.StatusBadRequest, "InvalidArgument",
		"x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	errLockMode       = apiErr(http.StatusBadRequest, "InvalidArgument", "Unknown wormMode directive.")
	errLegalHoldValue = apiErr(http.StatusBadRequest, "InvalidArgument",
		"Legal Hold must be either of 'ON' or 'OFF'")
	errDefaultPeriod = apiErr(http.StatusBadRequest, "InvalidArgument",
		"Default retention period must be a positive integer value.")
	errLockMD5 = apiErr(http.StatusBadRequest, "InvalidRequest",
		"Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters")
)

type objectLockConfiguration struct {
	XMLName           xml.Name        `xml:"ObjectLockConfiguration"`
	NS                string          `xml:"xmlns,attr,omitempty"`
	ObjectLockEnabled string          `xml:"ObjectLockEnabled,omitempty"`
	Rule              *objectLockRule `xml:"Rule,omitempty"`
}

type objectLockRule struct {
	DefaultRetention *defaultRetention `xml:"DefaultRetention"`
}

type defaultRetention struct {
	Mode  string `xml:"Mode,omitempty"`
	Days  *int   `xml:"Days,omitempty"`
	Years *int   `xml:"Years,omitempty"`
}

type objectRetention struct {
	XMLName         xml.Name `xml:"Retention"`
	NS              string   `xml:"xmlns,attr,omitempty"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
}

type objectLegalHold struct {
	XMLName xml.Name `xml:"LegalHold"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status"`
}

// decodeOnly decodes body into v, which must be the whole document:
// MalformedXML otherwise.
func decodeOnly(body []byte, v any) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil || !onlySpaceLeft(d) {
		return errMalformedXML
	}
	return nil
}

// validMode reports whether m is a retention mode S3 knows.
func validMode(m string) bool { return m == store.LockGovernance || m == store.LockCompliance }

// parseObjectLockConfig decodes a PutObjectLockConfiguration body:
// ObjectLockEnabled must be Enabled; a Rule holds a DefaultRetention with
// a mode and exactly one of Days or Years (MalformedXML otherwise), each
// positive and at most 36500 days or 100 years (InvalidArgument).
func parseObjectLockConfig(body []byte) (store.ObjectLockConfig, error) {
	var c objectLockConfiguration
	if err := decodeOnly(body, &c); err != nil {
		return store.ObjectLockConfig{}, err
	}
	if c.ObjectLockEnabled != "Enabled" {
		return store.ObjectLockConfig{}, errMalformedXML
	}
	cfg := store.ObjectLockConfig{Enabled: true}
	if c.Rule == nil {
		return cfg, nil
	}
	dr := c.Rule.DefaultRetention
	if dr == nil || !validMode(dr.Mode) || (dr.Days == nil) == (dr.Years == nil) {
		return store.ObjectLockConfig{}, errMalformedXML
	}
	cfg.Mode = dr.Mode
	if dr.Days != nil {
		cfg.Days = *dr.Days
		if cfg.Days <= 0 || cfg.Days > maxRetentionDays {
			return store.ObjectLockConfig{}, errDefaultPeriod
		}
		return cfg, nil
	}
	cfg.Years = *dr.Years
	if cfg.Years <= 0 || cfg.Years > maxRetentionYears {
		return store.ObjectLockConfig{}, errDefaultPeriod
	}
	return cfg, nil
}

// renderObjectLockConfig is cfg as GetObjectLockConfiguration answers.
func renderObjectLockConfig(cfg store.ObjectLockConfig) objectLockConfiguration {
	c := objectLockConfiguration{NS: s3NS, ObjectLockEnabled: "Enabled"}
	if cfg.Mode != "" {
		dr := &defaultRetention{Mode: cfg.Mode}
		if cfg.Years > 0 {
			dr.Years = &cfg.Years
		} else {
			dr.Days = &cfg.Days
		}
		c.Rule = &objectLockRule{DefaultRetention: dr}
	}
	return c
}

// parseRetainUntil parses a retain-until date (ISO 8601, as S3 writes
// it), which must be after now.
func parseRetainUntil(v string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, errRetainFormat
	}
	if !t.After(now) {
		return time.Time{}, errRetainPast
	}
	return t.UTC(), nil
}

// parseRetention decodes a PutObjectRetention body. An empty Retention
// (no Mode, no date) removes the retention; otherwise both are needed.
func parseRetention(body []byte, now time.Time) (store.Retention, error) {
	var r objectRetention
	if err := decodeOnly(body, &r); err != nil {
		return store.Retention{}, err
	}
	if r.Mode == "" && r.RetainUntilDate == "" {
		return store.Retention{}, nil
	}
	if !validMode(r.Mode) || r.RetainUntilDate == "" {
		return store.Retention{}, errMalformedXML
	}
	t, err := parseRetainUntil(r.RetainUntilDate, now)
	if err != nil {
		return store.Retention{}, err
	}
	return store.Retention{Mode: r.Mode, RetainUntil: t}, nil
}

// parseLegalHold decodes a PutObjectLegalHold body: Status ON or OFF.
func parseLegalHold(body []byte) (bool, error) {
	var l objectLegalHold
	if err := decodeOnly(body, &l); err != nil {
		return false, err
	}
	switch l.Status {
	case "ON":
		return true, nil
	case "OFF":
		return false, nil
	}
	return false, errMalformedXML
}

// lockFromHeaders sets m's lock state from a write's
// x-amz-object-lock-mode, -retain-until-date and -legal-hold headers and
// reports whether any was sent.
func lockFromHeaders(h http.Header, m *store.ObjectMeta, now time.Time) (bool, error) {
	mode, until := h.Get("x-amz-object-lock-mode"), h.Get("x-amz-object-lock-retain-until-date")
	hold, hasHold := h.Get("x-amz-object-lock-legal-hold"), len(h.Values("x-amz-object-lock-legal-hold")) > 0
	m.LockMode, m.LockRetainUntil, m.LegalHold, m.LegalHoldSet = "", time.Time{}, false, hasHold
	if mode == "" && until == "" && !hasHold {
		return false, nil
	}
	if (mode == "") != (until == "") {
		return true, errLockBoth
	}
	if mode != "" {
		if !validMode(mode) {
			return true, errLockMode
		}
		t, err := parseRetainUntil(until, now)
		if err != nil {
			return true, err
		}
		m.LockMode, m.LockRetainUntil = mode, t
	}
	switch {
	case !hasHold, hold == "OFF":
	case hold == "ON":
		m.LegalHold = true
	default:
		return true, errLegalHoldValue
	}
	return true, nil
}

// hasIntegrity reports whether a write carries what S3 requires of one
// with Object Lock parameters: Content-MD5 or an additional checksum. A
// signed SHA-256 of the payload (x-amz-content-sha256 as a hash, which
// the verifier checks against the body; aws-sdk-go-v2 sends it instead of
// a checksum over plain HTTP) and a signed aws-chunked body (each chunk's
// signature covers its SHA-256; minio-go's way over plain HTTP) protect
// the body as well and count too.
func hasIntegrity(h http.Header) bool {
	if h.Get("Content-MD5") != "" || h.Get("x-amz-sdk-checksum-algorithm") != "" {
		return true
	}
	sha := h.Get("x-amz-content-sha256")
	if strings.HasPrefix(sha, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
		return true
	}
	if len(sha) == 64 && strings.Trim(strings.ToLower(sha), "0123456789abcdef") == "" {
		return true
	}
	if strings.Contains(strings.ToLower(h.Get("x-amz-trailer")), "x-amz-checksum-") {
		return true
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
			return true
		}
	}
	return false
}

// setLockHeaders sends a version's lock state as GET and HEAD do.
func setLockHeaders(w http.ResponseWriter, m store.ObjectMeta) {
	if m.LockMode != "" {
		w.Header().Set("x-amz-object-lock-mode", m.LockMode)
		w.Header().Set("x-amz-object-lock-retain-until-date", m.LockRetainUntil.UTC().Format(retainUntilFormat))
	}
	if m.LegalHold {
		w.Header().Set("x-amz-object-lock-legal-hold", "ON")
	}
}
