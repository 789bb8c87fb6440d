package services

import (
	"cmp"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/obs"
)

// A direct worker's journal (DESIGN.md, "Services: direct connections"):
// the records it writes before each answer and a line per request after
// it. The server reads it as input: only the worker's own account's run
// records are stored.

// maxDirectJournal is the journal size past which a direct worker is
// retired (its clients reconnect to a new one), so no journal grows
// without end.
const maxDirectJournal = 256 << 20

// ownerRE is what an account id must look like to name a journal file.
var ownerRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// journalName is a direct worker's journal file name: its owner and
// service (the parent's, trusted at a restart) and a sequence number.
func journalName(owner, service string, seq int) string {
	return owner + "~" + service + "~" + strconv.Itoa(seq) + ".journal"
}

// parseJournalName is journalName's inverse; ok is false for a name it
// did not make.
func parseJournalName(name string) (owner, service string, ok bool) {
	parts := strings.Split(strings.TrimSuffix(name, ".journal"), "~")
	if len(parts) != 3 || !ownerRE.MatchString(parts[0]) || !nameRE.MatchString(parts[1]) {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// directStatKey marks a journal pair that is not stored: one direct
// request as the worker saw it (directLine), for the service's stats and
// metrics and the request log. No meta key starts with "#".
const directStatKey = "#svcstat"

// directLine is a direct request as its worker reports it.
type directLine struct {
	Service string
	Code    int
	Latency time.Duration
	Run     time.Duration // the instance's time
	ID      string
	Method  string
	In, Out int64
	Aborted bool // cut after its header
	Path    string
}

// directStat encodes a direct request's stat pair: its fields in order,
// separated by spaces, the path last (it may hold spaces).
func directStat(l directLine) meta.Pair {
	b := make([]byte, 0, 96+len(l.Service)+len(l.Path))
	b = append(append(b, l.Service...), ' ')
	for _, n := range []int64{int64(l.Code), int64(l.Latency), int64(l.Run)} {
		b = append(strconv.AppendInt(b, n, 10), ' ')
	}
	b = append(append(b, l.ID...), ' ')
	b = append(append(b, l.Method...), ' ')
	b = append(strconv.AppendInt(b, l.In, 10), ' ')
	b = append(strconv.AppendInt(b, l.Out, 10), ' ')
	b = append(strconv.AppendBool(b, l.Aborted), ' ')
	return meta.Pair{Key: directStatKey, Value: append(b, l.Path...)}
}

// parseDirectLine is directStat's inverse; ok is false for a value it
// could not have made.
func parseDirectLine(v []byte) (l directLine, ok bool) {
	f := strings.SplitN(string(v), " ", 10)
	if len(f) != 10 {
		return l, false
	}
	var n [5]int64
	for i, s := range []string{f[1], f[2], f[3], f[6], f[7]} {
		var err error
		if n[i], err = strconv.ParseInt(s, 10, 64); err != nil || n[i] < 0 {
			return l, false
		}
	}
	aborted, err := strconv.ParseBool(f[8])
	if err != nil || n[0] < 100 || n[0] > 999 {
		return l, false
	}
	return directLine{Service: f[0], Code: int(n[0]), Latency: time.Duration(n[1]), Run: time.Duration(n[2]),
		ID: f[4], Method: f[5], In: n[3], Out: n[4], Aborted: aborted, Path: f[9]}, true
}

// requestIDRE is what a direct request's id must look like.
var requestIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// maxLoggedPath bounds the path a direct request's log line shows.
const maxLoggedPath = 1024

// observeStat counts and logs a journaled stat pair of service want.
// The worker runs guests, so the line is input: a malformed one, or
// another service's, is skipped; a long path is cut.
func (set *directSet) observeStat(want string, v []byte) {
	l, ok := parseDirectLine(v)
	if !ok || l.Service != want || !requestIDRE.MatchString(l.ID) || len(l.Method) > 16 {
		return
	}
	if obs := set.observe.Load(); obs != nil {
		(*obs)(context.Background(), l.Service, l.Code, l.Latency, l.Run)
	}
	if m := set.cfg.Metrics; m != nil {
		if len(l.Path) > maxLoggedPath {
			l.Path = l.Path[:maxLoggedPath]
		}
		line := obs.Line{API: "svc", Op: "Request", ID: l.ID, Method: l.Method, Path: l.Path, Status: l.Code,
			In: l.In, Out: l.Out, Start: time.Now().Add(-l.Latency), Dur: l.Latency, Direct: true}
		if l.Aborted {
			line.Note = "aborted"
		}
		m.Record(context.Background(), cmp.Or(set.cfg.RequestLog, set.cfg.Logger), line)
	}
}

// ingest stores the whole entries dw's journal holds past what was
// stored before.
func (set *directSet) ingest(ctx context.Context, dw *directWorker) error {
	dw.mu.Lock()
	defer dw.mu.Unlock()
	f, err := os.Open(dw.journal)
	if errors.Is(err, fs.ErrNotExist) && dw.d != nil {
		return nil // its end stored the rest and removed it
	}
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, dw.off, 1<<40))
	if err != nil || len(data) == 0 {
		return err
	}
	entries, used := meta.ReadJournal(data)
	var pairs []meta.Pair
	for _, e := range entries {
		for _, p := range e {
			switch {
			case p.Key == directStatKey:
				set.observeStat(dw.svc.Name, p.Value)
			case directRecordKey(p.Key, dw.svc.Owner) && len(p.Value) <= maxDirectRecord:
				pairs = append(pairs, p)
			default:
				set.cfg.Logger.Warn("services: a direct worker journaled a pair it may not write; dropped", "journal", dw.journal, "key", p.Key)
			}
		}
	}
	for len(pairs) > 0 {
		n := min(len(pairs), meta.MaxBatch)
		if err := set.m.kv.PutBatch(ctx, pairs[:n]); err != nil {
			return err
		}
		pairs = pairs[n:]
	}
	dw.off += int64(used)
	if dw.off > maxDirectJournal && dw.d != nil {
		dw.d.Retire() // a new worker takes the next connections
	}
	return nil
}

// maxDirectRecord bounds a journaled record's size.
const maxDirectRecord = 64 << 10

// directRecordKey reports whether key is a run record of owner
// ("runs/OWNER/ID"): the only meta key a direct worker may write. A
// worker runs guests, so what it journals is checked like input.
func directRecordKey(key, owner string) bool {
	id, ok := strings.CutPrefix(key, "runs/"+owner+"/")
	return ok && id != "" && len(id) <= 64 && !strings.ContainsAny(id, "/\x00")
}
