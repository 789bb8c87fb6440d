package s3api

import (
	"bufio"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
)

// Limits of a browser upload's form before its file.
const (
	maxPostPreData = 64 << 10 // bytes of field names and values before the file
	maxPostParts   = 1000     // parts before the file, fields or not
	// postBuffer is the read buffer under the form reader: the file
	// streams out of it in pieces as large as the socket delivers
	// (mime/multipart's own default buffer is 4 KiB).
	postBuffer = 256 << 10
)

var (
	errPostPreData = &APIError{http.StatusBadRequest, "MaxPostPreDataLengthExceeded", "Your POST request fields preceding the upload file were too large."}
	errPostNoFile  = &APIError{http.StatusBadRequest, "InvalidArgument", "POST requires exactly one file upload per request."}
	errPostForm    = &APIError{http.StatusBadRequest, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data."}
)

// postForm is a browser upload's form read up to its file: the fields
// before the file (lower-case names) and the file part, not yet read.
// Fields after the file are never read, as S3 ignores them.
type postForm struct {
	fields   map[string]string
	file     io.Reader
	filename string
}

// readPostForm reads a multipart/form-data body up to its "file" field:
// at most 64 KiB of fields in at most 1000 parts before it (else
// MaxPostPreDataLengthExceeded), each field once (else InvalidArgument).
// The file is left to stream from body. Field names are matched without
// regard to case.
func readPostForm(body io.Reader, boundary string) (*postForm, error) {
	mr := multipart.NewReader(bufio.NewReaderSize(body, postBuffer), boundary)
	f := &postForm{fields: map[string]string{}}
	left := maxPostPreData
	for i := 0; ; i++ {
		if i >= maxPostParts {
			return nil, errPostPreData
		}
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errPostNoFile
		}
		if err != nil {
			return nil, errPostForm
		}
		name := strings.ToLower(part.FormName())
		if name == "file" {
			f.file, f.filename = part, part.FileName()
			return f, nil
		}
		if name == "" {
			continue
		}
		if left -= len(name); left < 0 {
			return nil, errPostPreData
		}
		v, err := io.ReadAll(io.LimitReader(part, int64(left)+1))
		if err != nil {
			return nil, errPostForm
		}
		if left -= len(v); left < 0 {
			return nil, errPostPreData
		}
		if _, dup := f.fields[name]; dup {
			return nil, apiErr(http.StatusBadRequest, "InvalidArgument", "POST form field %s appears more than once.", name)
		}
		f.fields[name] = string(v)
	}
}

// lengthCheck passes a POST's file through, failing the read that goes
// past max with EntityTooLarge and EOF below min with EntityTooSmall, so
// the engine stores nothing outside content-length-range.
type lengthCheck struct {
	r        io.Reader
	n        int64
	min, max int64
}

func (l *lengthCheck) Read(p []byte) (int, error) {
	if int64(len(p)) > l.max-l.n+1 {
		p = p[:l.max-l.n+1]
	}
	n, err := l.r.Read(p)
	if l.n += int64(n); l.n > l.max {
		return 0, errPostTooLarge
	}
	if errors.Is(err, io.EOF) && l.n < l.min {
		return n, errPostTooSmall
	}
	return n, err
}

var (
	errPostTooLarge = &APIError{http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"}
	errPostTooSmall = &APIError{http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"}
)
