package ec2api

import (
	"encoding/base64"
)

// paging is a parsed MaxResults / NextToken pair.
type paging struct {
	max   int    // 0: no limit
	after string // the last id of the previous page; "" from the start
}

// page parses MaxResults (lo..hi; absent: no limit) and NextToken (an
// opaque token this face handed out: the last id of the previous page).
func (p Params) page(lo, hi int) (paging, error) {
	max, err := p.Int("MaxResults", 0, lo, hi)
	if err != nil {
		return paging{}, err
	}
	pg := paging{max: max}
	if tok, ok := p["NextToken"]; ok && tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) == 0 {
			return paging{}, errInvalid("The token '%s' is invalid.", tok)
		}
		pg.after = string(b)
	}
	return pg, nil
}

// pageOf returns the items past pg.after (items are in ascending id
// order) up to pg.max, and the next token ("" on the last page).
func pageOf[T any](items []T, pg paging, id func(T) string) ([]T, string) {
	start := 0
	if pg.after != "" {
		for start < len(items) && id(items[start]) <= pg.after {
			start++
		}
	}
	items = items[start:]
	if pg.max == 0 || len(items) <= pg.max {
		return items, ""
	}
	items = items[:pg.max]
	return items, base64.RawURLEncoding.EncodeToString([]byte(id(items[len(items)-1])))
}
