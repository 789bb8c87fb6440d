package api

import (
	"net/http"
	"strconv"
	"strings"
)

// pageParams reads a listing's ?limit=N (0 or absent: the service's
// default; it caps large values) and ?after=TOKEN (the "next" of the
// previous page; absent: the first page).
func pageParams(c *call) (limit int, after string, err error) {
	q := c.r.URL.Query()
	if v := q.Get("limit"); v != "" {
		limit, err = strconv.Atoi(v)
		if err != nil || limit < 0 {
			return 0, "", &Error{Status: http.StatusBadRequest, Code: "InvalidArgument",
				Message: "limit must be a whole number >= 0, not " + strconv.Quote(v)}
		}
	}
	after = q.Get("after")
	if strings.ContainsAny(after, "/\x00") {
		return 0, "", &Error{Status: http.StatusBadRequest, Code: "InvalidArgument",
			Message: "after must be the next token of a previous page, not " + strconv.Quote(after)}
	}
	return limit, after, nil
}

// pageBody is a listing's JSON: {"<name>": [...], "next": TOKEN}, with
// "next" only when more items follow.
func pageBody(name string, list any, next string) map[string]any {
	body := map[string]any{name: list}
	if next != "" {
		body["next"] = next
	}
	return body
}
