package s3api

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// FuzzObjectAttributes: any x-amz-object-attributes, x-amz-max-parts and
// x-amz-part-number-marker either answer a clean 400 or select only known
// attributes and a page of at most max-parts parts above the marker.
func FuzzObjectAttributes(f *testing.F) {
	f.Add("ETag,ObjectParts", "2", "1")
	f.Add("Colour", "-1", "x")
	f.Add(" , ObjectSize ,", "99999999999999999999", "")
	f.Fuzz(func(t *testing.T, attrs, maxParts, marker string) {
		h := http.Header{}
		h.Set("X-Amz-Object-Attributes", attrs)
		h.Set("X-Amz-Max-Parts", maxParts)
		h.Set("X-Amz-Part-Number-Marker", marker)
		want, err := parseObjectAttributes(h)
		if err != nil {
			wantBadRequest(t, err)
			return
		}
		for name := range want {
			if !objectAttributes[name] {
				t.Fatalf("unknown attribute %q accepted", name)
			}
		}
		mp, mk, err := attributesPaging(h)
		if err != nil {
			wantBadRequest(t, err)
			return
		}
		parts := make([]store.PartInfo, 5)
		for i := range parts {
			parts[i] = store.PartInfo{Number: i + 1, Size: 5, LastModified: time.Unix(0, 0)}
		}
		page := objectPartsPage(parts, mk, mp)
		if len(page.Parts) > mp || mp > 1000 {
			t.Fatalf("page of %d parts for max-parts %d", len(page.Parts), mp)
		}
		for _, p := range page.Parts {
			if p.PartNumber <= mk {
				t.Fatalf("part %d at or below marker %d", p.PartNumber, mk)
			}
		}
	})
}

func wantBadRequest(t *testing.T, err error) {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("error %v is not a 400", err)
	}
}
