package client

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is a non-2xx answer from the server.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the API's error code ("UserExists", "NoSuchUser",
	// "AccessDenied", ...), or the HTTP status text when the body had none.
	Code string
	// Message is the server's human-readable explanation.
	Message string
	// RequestID is the x-amz-request-id response header, if any.
	RequestID string
}

// Error returns "Code: Message".
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// IsCode reports whether err is (or wraps) an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// decodeError builds an *Error from a failed response. It understands the
// native API's JSON body ({"error":{"code","message"}}) and the S3 XML error
// body (which the shared authentication layer may answer with).
func decodeError(resp *http.Response, body []byte) *Error {
	e := &Error{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Amz-Request-Id")}
	var j struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	switch {
	case json.Unmarshal(body, &j) == nil && j.Error.Code != "":
		e.Code, e.Message = j.Error.Code, j.Error.Message
	case xml.Unmarshal(body, &x) == nil && x.Code != "":
		e.Code, e.Message = x.Code, x.Message
	default:
		e.Code = strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "")
		if e.Code == "" {
			e.Code = fmt.Sprintf("HTTP%d", resp.StatusCode)
		}
		msg := strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		e.Message = msg
	}
	return e
}
