package s3api

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"testing"
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
// whatever file it finds reads to an end.
func FuzzPostForm(f *testing.F) {
	f.Add(formBody([][2]string{{"key", "a/${filename}"}, {"policy", "e30="}, {"X-Amz-Signature", "00"}}, []byte("hello")))
	f.Add(formBody([][2]string{{"key", "a"}, {"KEY", "b"}}, nil))
	f.Add([]byte("--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx"))
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
		lc := &lengthCheck{r: form.file, min: 1, max: 64}
		_, _ = io.Copy(io.Discard, lc)
		if lc.n > 64 {
			t.Fatalf("lengthCheck let %d bytes through", lc.n)
		}
	})
}
