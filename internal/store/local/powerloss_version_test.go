package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// pvEffect is what a versioned step does once acknowledged: it removes the
// versions in removes, then adds version id (marker, or holding data).
type pvEffect struct {
	removes []string
	id      string
	data    []byte
	marker  bool
}

type pvStep struct {
	name string
	run  func(ctx context.Context, e *Engine, ids []string) (pvEffect, error)
}

// pvPut puts data as a new version of "k"; null makes it the null version
// (a Suspended bucket), which replaces the previous null version.
func pvPut(data []byte, null bool) pvStep {
	return pvStep{"put", func(ctx context.Context, e *Engine, _ []string) (pvEffect, error) {
		oi, err := e.PutObject(ctx, "b", "k", bytes.NewReader(data), int64(len(data)), store.PutOptions{})
		eff := pvEffect{id: oi.VersionID, data: data}
		if null {
			// Before versioning the engine reports no id: the null version.
			eff.id, eff.removes = store.NullVersionID, []string{store.NullVersionID}
		}
		return eff, err
	}}
}

func pvState(state string) pvStep {
	return pvStep{"set " + state, func(ctx context.Context, e *Engine, _ []string) (pvEffect, error) {
		return pvEffect{}, e.SetBucketVersioning(ctx, "b", state)
	}}
}

// pvWorkload writes every kind of versioned change to key "k": a null
// version from before versioning, new versions (one multi-block, one from a
// multipart upload), a delete marker, removal of a noncurrent version and
// of the latest, and a Suspended put that replaces the null version. ids
// holds the version ids acknowledged so far, oldest first.
func pvWorkload(in [][]byte) []pvStep {
	return []pvStep{
		{"create bucket", func(ctx context.Context, e *Engine, _ []string) (pvEffect, error) {
			return pvEffect{}, e.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "o"})
		}},
		pvPut(in[0], true),
		pvState(store.VersioningEnabled),
		pvPut(in[1], false),
		{"complete upload", func(ctx context.Context, e *Engine, _ []string) (pvEffect, error) {
			ui, err := e.CreateMultipartUpload(ctx, "b", "k", store.PutOptions{})
			if err != nil {
				return pvEffect{}, err
			}
			pi, err := e.UploadPart(ctx, "b", "k", ui.UploadID, 1, bytes.NewReader(in[2]), int64(len(in[2])), store.PutOptions{})
			if err != nil {
				return pvEffect{}, err
			}
			oi, err := e.CompleteMultipartUpload(ctx, "b", "k", ui.UploadID, []store.CompletePart{{Number: 1, ETag: pi.ETag}})
			return pvEffect{id: oi.VersionID, data: in[2]}, err
		}},
		{"delete marker", func(ctx context.Context, e *Engine, _ []string) (pvEffect, error) {
			res, err := e.DeleteObjectVersion(ctx, "b", "k", "")
			return pvEffect{id: res.VersionID, marker: true}, err
		}},
		{"remove noncurrent", func(ctx context.Context, e *Engine, ids []string) (pvEffect, error) {
			_, err := e.DeleteObjectVersion(ctx, "b", "k", ids[1])
			return pvEffect{removes: []string{ids[1]}}, err
		}},
		{"remove latest", func(ctx context.Context, e *Engine, ids []string) (pvEffect, error) {
			_, err := e.DeleteObjectVersion(ctx, "b", "k", ids[len(ids)-1])
			return pvEffect{removes: []string{ids[len(ids)-1]}}, err
		}},
		pvState(store.VersioningSuspended),
		pvPut(in[3], true),
	}
}

// pvOutcome is what a versioned run acknowledged: the versions, oldest
// first, and the effect of the step in flight at the crash.
type pvOutcome struct {
	bucket   bool
	ids      []string
	vers     map[string]pvEffect
	inFlight *pvEffect
	step     string
}

func (o *pvOutcome) ack(eff pvEffect) {
	for _, r := range eff.removes {
		delete(o.vers, r)
		o.ids = slicesDelete(o.ids, r)
	}
	if eff.id != "" {
		o.vers[eff.id] = eff
		o.ids = append(o.ids, eff.id)
	}
}

func slicesDelete(s []string, v string) []string {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// pvRun runs the workload on m until the power goes.
func pvRun(ctx context.Context, t *testing.T, m *plMachine, in [][]byte) pvOutcome {
	t.Helper()
	out := pvOutcome{vers: map[string]pvEffect{}}
	e := m.open(ctx, t)
	defer e.Close()
	for i, s := range pvWorkload(in) {
		if m.clock.isCrashed() {
			return out
		}
		eff, err := s.run(ctx, e, append([]string(nil), out.ids...))
		if m.clock.isCrashed() {
			if i > 0 {
				out.inFlight, out.step = &eff, s.name
			}
			return out
		}
		if err != nil {
			t.Fatalf("step %q before any crash: %v", s.name, err)
		}
		out.bucket = true
		out.ack(eff)
	}
	return out
}

// pvCheck reopens the engine on what survived: every acknowledged version
// reads whole by its id (unless the step in flight removes it), at most
// the in-flight step's version is listed besides them, and the data files
// are exactly those the index references.
func pvCheck(ctx context.Context, t *testing.T, m *plMachine, out pvOutcome) error {
	e := m.open(ctx, t)
	defer e.Close()
	if !out.bucket {
		return plCheckFiles(e, m)
	}
	mayGo := map[string]bool{}
	if out.inFlight != nil {
		for _, r := range out.inFlight.removes {
			mayGo[r] = true
		}
	}
	for id, v := range out.vers {
		got, err := pvRead(ctx, e, id)
		if mayGo[id] && errors.Is(err, store.ErrNoSuchVersion) {
			continue
		}
		if err != nil {
			return fmt.Errorf("version %s: %w", id, err)
		}
		if v.marker != (got == nil) || (!v.marker && !bytes.Equal(got, v.data) && !(mayGo[id] && out.inFlight.data != nil && bytes.Equal(got, out.inFlight.data))) {
			return fmt.Errorf("version %s: %s, want %s (marker %v)", id, plDescribe(got), plDescribe(v.data), v.marker)
		}
	}
	res, err := e.ListObjectVersions(ctx, "b", store.ListVersionsOptions{})
	if err != nil {
		return err
	}
	unknown := 0
	for _, v := range res.Versions {
		if _, ok := out.vers[v.Info.VersionID]; !ok {
			unknown++
		}
	}
	if unknown > 0 && (out.inFlight == nil || unknown > 1) {
		return fmt.Errorf("%d versions listed that were never acknowledged (in flight: %q)", unknown, out.step)
	}
	return plCheckFiles(e, m)
}

// pvRead returns a version's bytes, nil for a delete marker.
func pvRead(ctx context.Context, e *Engine, id string) ([]byte, error) {
	_, rc, err := e.GetObjectVersion(ctx, "b", "k", id, nil)
	if errors.Is(err, store.ErrVersionIsDeleteMarker) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// TestPowerLossVersioned is TestPowerLoss for a versioned workload: the
// power goes at every point (or a seeded sample) and a restart must find
// every acknowledged version and delete marker, nothing unacknowledged but
// the write in flight, and no unreferenced data file.
func TestPowerLossVersioned(t *testing.T) {
	ctx := context.Background()
	var in [][]byte
	for i, n := range []int{1000, 3*blockSize + 777, 5000, 100} {
		in = append(in, plData(uint64(i+11), n))
	}
	probe := newPLMachine(0)
	pvRun(ctx, t, probe, in)
	ops := probe.clock.ops
	points := plPoints(ops, 20261130)
	t.Logf("%d operations, %d crash points", len(ops), len(points))
	for _, k := range points {
		m := newPLMachine(k)
		out := pvRun(ctx, t, m, in)
		m.powerCut()
		if err := pvCheck(ctx, t, m, out); err != nil {
			at := "after the last operation"
			if k <= len(ops) {
				at = fmt.Sprintf("before operation %d (%s)", k, ops[k-1])
			}
			t.Fatalf("power lost %s, during step %q: %v", at, out.step, err)
		}
	}
}
