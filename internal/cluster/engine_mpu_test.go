package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// One key's uploads on several homes page without loss or repeat: the
// merged order is (key, home name, local id) and each node turns the
// page's marker into its own. Names where a byte order of qualified ids
// would disagree with the name order (node1, node1-a, node10) are used.
func TestUploadsPageAcrossHomes(t *testing.T) {
	homes := map[string][]string{"node1": {"u1", "u3"}, "node1-a": {"u0", "u2"}, "node10": {"u5"}, "node2": {"u4"}}
	list := func(node string, o store.ListUploadsOptions) store.ListUploadsResult {
		var r store.ListUploadsResult
		for _, id := range homes[node] { // the local engine's rule: key > marker, or = marker and id > id marker
			if o.KeyMarker == "" || "k" > o.KeyMarker || ("k" == o.KeyMarker && o.UploadIDMarker != "" && id > o.UploadIDMarker) {
				r.Uploads = append(r.Uploads, store.UploadInfo{Key: "k", UploadID: node + "." + id, Initiated: time.Unix(0, 0)})
			}
		}
		if len(r.Uploads) > o.MaxUploads {
			r.Uploads, r.IsTruncated = r.Uploads[:o.MaxUploads], true
		}
		return r
	}
	var got []string
	opts := store.ListUploadsOptions{MaxUploads: 2}
	for range 10 {
		var pages []store.ListUploadsResult
		for node := range homes {
			pages = append(pages, list(node, uploadsFrom(opts, node)))
		}
		page := mergeUploads(pages, opts.MaxUploads)
		for _, u := range page.Uploads {
			got = append(got, u.UploadID)
		}
		if !page.IsTruncated {
			break
		}
		opts.KeyMarker, opts.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
	}
	want := []string{"node1.u1", "node1.u3", "node1-a.u0", "node1-a.u2", "node10.u5", "node2.u4"}
	if !slices.Equal(got, want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
}
