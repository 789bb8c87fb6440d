package s3api

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

const fuzzBoundary = "fuzzboundary"

func formBody(fields [][2]string, file []byte) []byte {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.SetBoundary(fuzzBoundary)
	for _, f := range fields {
		_ = mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("file", "a.txt")
	_, _ = fw.Write(file)
	_ = mw.Close()
	return b.Bytes()
}

// FuzzPostForm feeds arbitrary bodies to the POST Object form reader: it
// never panics, refuses with an S3 error, keeps to its limits, and
// whatever file it finds reads to an end. The fields it keeps then go
// through the Object Lock parser as a POST's do (postLockFields).
func FuzzPostForm(f *testing.F) {
	f.Add(formBody([][2]string{{"key", "a/${filename}"}, {"policy", "e30="}, {"X-Amz-Signature", "00"}}, []byte("hello")))
	f.Add(formBody([][2]string{{"key", "a"}, {"KEY", "b"}}, nil))
	f.Add([]byte("--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx"))
	f.Add(formBody([][2]string{{"key", "k"}, {"X-Amz-Object-Lock-Mode", "GOVERNANCE"},
		{"x-amz-object-lock-retain-until-date", "2027-01-01T00:00:00Z"}, {"x-amz-object-lock-legal-hold", "ON"}}, []byte("held")))
	f.Add(formBody([][2]string{{"x-amz-object-lock-mode", "FOREVER"}, {"x-amz-object-lock-legal-hold", ""}}, nil))
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := readPostForm(bytes.NewReader(body), fuzzBoundary)
		if err != nil {
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		total := 0
		for k, v := range form.fields {
			total += len(k) + len(v)
		}
		if total > maxPostPreData {
			t.Fatalf("%d bytes of fields kept", total)
		}
		postLockFields(t, form.fields)
		lc := &lengthCheck{r: form.file, min: 1, max: 64}
		_, _ = io.Copy(io.Discard, lc)
		if lc.n > 64 {
			t.Fatalf("lengthCheck let %d bytes through", lc.n)
		}
	})
}

// postLockFields checks what the Object Lock parser makes of a form's
// fields (as presented to it by formHeader): InvalidArgument or a known
// mode with a date after now, or no retention, and a legal hold only for
// a field "ON".
func postLockFields(t *testing.T, fields map[string]string) {
	var m store.ObjectMeta
	if _, err := lockFromHeaders(formHeader(fields), &m, lockFuzzNow); err != nil {
		wantLockError(t, err, "InvalidArgument")
		return
	}
	if m.LockMode != "" && (!validMode(m.LockMode) || !m.LockRetainUntil.After(lockFuzzNow)) {
		t.Fatalf("accepted %q until %v", m.LockMode, m.LockRetainUntil)
	}
	if m.LegalHold != (fields["x-amz-object-lock-legal-hold"] == "ON") {
		t.Fatalf("legal hold %v from %q", m.LegalHold, fields["x-amz-object-lock-legal-hold"])
	}
}
