package local

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble"

	"github.com/insitu-cloud/insitu/internal/store"
)

// maxListKeys is the default and the cap of ListOptions.MaxKeys.
const maxListKeys = 1000

// ListObjects returns one page of bucket in key order; see store.Engine.
// MaxKeys 0 means 1000 and larger values are capped at 1000; objects and
// common prefixes count alike. It runs one ordered scan over the bucket's
// index range and seeks past each common prefix it rolls up, so a prefix
// holding a million keys costs one seek. Memory is bounded by the page.
// Tombstones are skipped (a prefix holding only tombstones does not show)
// unless opts.Tombstones.
func (e *Engine) ListObjects(ctx context.Context, bucket string, opts store.ListOptions) (store.ListResult, error) {
	if err := e.enter(); err != nil {
		return store.ListResult{}, err
	}
	defer e.leave()
	if err := e.bucketExists(bucket); err != nil {
		return store.ListResult{}, err
	}
	max := opts.MaxKeys
	if max <= 0 || max > maxListKeys {
		max = maxListKeys
	}
	base := objectBase(bucket)
	sc, err := newScanner(e, base, opts.Prefix, opts.Delimiter)
	if err != nil {
		return store.ListResult{}, err
	}
	defer sc.close()

	var res store.ListResult
	sc.start(opts.After)
	count := 0
	for steps := 0; sc.valid(); steps++ {
		if count == max {
			res.IsTruncated = true
			break
		}
		if steps%256 == 0 {
			if err := ctx.Err(); err != nil {
				return store.ListResult{}, err
			}
		}
		key := sc.key()
		var rec objectRecord
		if err := json.Unmarshal(sc.it.Value(), &rec); err != nil {
			return store.ListResult{}, fmt.Errorf("local: object %q: %w", key, err)
		}
		if rec.Deleted && !opts.Tombstones {
			sc.next() // a prefix shows only when a live object is under it
			continue
		}
		if cp, ok := sc.commonPrefix(key); ok {
			res.CommonPrefixes = append(res.CommonPrefixes, cp)
			res.NextAfter = cp
			count++
			sc.skipPrefix(cp)
			continue
		}
		res.Objects = append(res.Objects, rec.info(bucket, key))
		res.NextAfter = key
		count++
		sc.next()
	}
	if err := sc.it.Error(); err != nil {
		return store.ListResult{}, err
	}
	if !res.IsTruncated {
		res.NextAfter = ""
	}
	return res, nil
}

// scanner walks index keys base+<name> for names under prefix, rolling up
// names at delimiter.
type scanner struct {
	e         *Engine
	it        *pebble.Iterator
	base      string
	prefix    string
	delimiter string
	ok        bool
}

func newScanner(e *Engine, base, prefix, delimiter string) (*scanner, error) {
	lower := base + prefix
	upper := successor(lower)
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte(lower),
		UpperBound: []byte(upper),
	})
	if err != nil {
		return nil, err
	}
	return &scanner{e: e, it: it, base: base, prefix: prefix, delimiter: delimiter}, nil
}

func (s *scanner) close() { s.it.Close() }

// start positions the scanner at the first name strictly greater than
// after. When after is itself a common prefix, everything under it is
// skipped, so a page that ended on a prefix resumes past it.
func (s *scanner) start(after string) {
	switch {
	case after == "" || after < s.prefix:
		s.ok = s.it.First()
	default:
		if cp, ok := s.commonPrefix(after); ok && cp == after {
			s.skipPrefix(cp)
			return
		}
		s.seek(after + "\x00")
	}
}

func (s *scanner) seek(name string) {
	s.e.listVisited.Add(1)
	s.ok = s.it.SeekGE([]byte(s.base + name))
}

func (s *scanner) next() {
	s.e.listVisited.Add(1)
	s.ok = s.it.Next()
}

func (s *scanner) valid() bool { return s.ok }

// key returns the current name (without base).
func (s *scanner) key() string { return string(s.it.Key()[len(s.base):]) }

// commonPrefix returns the rolled-up prefix of name, if it has one.
func (s *scanner) commonPrefix(name string) (string, bool) {
	if s.delimiter == "" || !strings.HasPrefix(name, s.prefix) {
		return "", false
	}
	i := strings.Index(name[len(s.prefix):], s.delimiter)
	if i < 0 {
		return "", false
	}
	return name[:len(s.prefix)+i+len(s.delimiter)], true
}

// skipPrefix moves to the first name that does not start with cp.
func (s *scanner) skipPrefix(cp string) {
	next := successor(s.base + cp)
	if next == "" {
		s.ok = false
		return
	}
	s.e.listVisited.Add(1)
	s.ok = s.it.SeekGE([]byte(next))
}
