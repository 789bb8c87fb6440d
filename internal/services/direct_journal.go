package services

import (
	"cmp"
	"context"
	"encoding/json"
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
// request as the worker saw it (directLine, JSON), for the service's
// stats and metrics and the request log. No meta key starts with "#".
const directStatKey = "#svcstat"

// directLine is a direct request as its worker reports it.
type directLine struct {
	Service string        `json:"s"`
	Code    int           `json:"c"`
	Latency time.Duration `json:"l"`
	Run     time.Duration `json:"r"` // the instance's time
	ID      string        `json:"id"`
	Method  string        `json:"m"`
	Path    string        `json:"p"`
	In      int64         `json:"i"`
	Out     int64         `json:"o"`
	Aborted bool          `json:"a,omitempty"` // cut after its header
}

// directStat encodes a direct request's stat pair.
func directStat(l directLine) meta.Pair {
	v, _ := json.Marshal(l)
	return meta.Pair{Key: directStatKey, Value: v}
}

// requestIDRE is what a direct request's id must look like.
var requestIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// maxLoggedPath bounds the path a direct request's log line shows.
const maxLoggedPath = 1024

// observeStat counts and logs a journaled stat pair of service want.
// The worker runs guests, so the line is input: a malformed one, or
// another service's, is skipped; a long path is cut.
func (set *directSet) observeStat(want string, v []byte) {
	var l directLine
	if err := json.Unmarshal(v, &l); err != nil || l.Service != want || l.Code < 100 || l.Code > 999 ||
		!requestIDRE.MatchString(l.ID) || l.Latency < 0 || l.Run < 0 || l.In < 0 || l.Out < 0 || len(l.Method) > 16 {
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
			In: l.In, Out: l.Out, Start: time.Now().Add(-l.Latency), Dur: l.Latency}
		if l.Aborted {
			line.Note = "aborted"
		}
		m.Record(context.Background(), cmp.Or(set.cfg.RequestLog, set.cfg.Logger).With("request_id", l.ID, "direct", true), line)
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
