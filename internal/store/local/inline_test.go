package local

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"
)

// inlineIDs lists the ids of the bodies e keeps inline (n/ keys).
func inlineIDs(t testing.TB, e *Engine) []string {
	t.Helper()
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: []byte(pfxInline), UpperBound: []byte(successor(pfxInline))})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for it.First(); it.Valid(); it.Next() {
		ids = append(ids, strings.TrimPrefix(string(it.Key()), pfxInline))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// bodyIDs lists the ids of every body e holds: data files under dir's
// objects/ and inline bodies, sorted.
func bodyIDs(t *testing.T, e *Engine, dir string) []string {
	t.Helper()
	var ids []string
	for _, p := range dataFiles(t, dir) {
		ids = append(ids, filepath.Base(p))
	}
	ids = append(ids, inlineIDs(t, e)...)
	slices.Sort(ids)
	return ids
}

// bodies counts the bodies e holds (data files and inline).
func bodies(t *testing.T, e *Engine, dir string) int { return len(bodyIDs(t, e, dir)) }
