package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// jobJSON is what `job run --json` and `job status` print.
type jobJSON struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Error  string `json:"error"`
	Out    string `json:"out"`
	Phases []struct {
		Type      string `json:"type"`
		Tasks     int    `json:"tasks"`
		Succeeded int    `json:"succeeded"`
		Failed    int    `json:"failed"`
		Cancelled int    `json:"cancelled"`
		Running   int    `json:"running"`
	} `json:"phases"`
}

func parseJob(t *testing.T, doc string) jobJSON {
	t.Helper()
	var j jobJSON
	if err := json.Unmarshal([]byte(doc), &j); err != nil || j.ID == "" || j.State == "" {
		t.Fatalf("not a job status (%v): %q", err, doc)
	}
	return j
}

// sumColumn adds the last TAB- or space-separated field of every line.
func sumColumn(t *testing.T, text string, field int) int {
	t.Helper()
	total := 0
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) <= field {
			t.Fatalf("line %q has no field %d", line, field)
		}
		v, err := strconv.Atoi(f[field])
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		total += v
	}
	return total
}

// TestE2EJobs drives jobs through the CLI as a user would: the one-liner,
// -f with a multi-phase spec, ls, status, cat, logs, a failing job and a
// cancel.
func TestE2EJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	isolateEnv(t)
	node := apptest.Start(t, apptest.Options{})
	c := newCLI(t, node)
	for _, app := range []string{"wc", "sum", "grep", "sortu"} {
		dir := exampleDir(t, app)
		c.ok("app", "push", app, filepath.Join(dir, app+".wasm"), "--manifest", filepath.Join(dir, "app.json"))
	}
	// spin never ends on its own; a manifest gives it a long deadline.
	_, self, _, _ := runtime.Caller(0)
	spinDir := filepath.Join(filepath.Dir(self), "..", "jobs", "testdata")
	manifest := filepath.Join(t.TempDir(), "spin.json")
	writeFile(t, manifest, []byte(`{"name": "spin", "version": "1.0.0", "limits": {"timeout": "5m"}}`))
	c.ok("app", "push", "spin", filepath.Join(spinDir, "spin.wasm"), "--manifest", manifest)

	// 40 small logs under a prefix, plus one object outside it.
	c.ok("mb", "s3://jobsb")
	dir := t.TempDir()
	words, lines := 0, map[string]bool{}
	for i := range 40 {
		var b strings.Builder
		for k := range 1 + i%4 {
			line := fmt.Sprintf("ERROR code %d at step %d", (i+k)%6, k)
			b.WriteString(line + "\n")
			lines[line] = true
			words += 6
			b.WriteString("INFO fine\n")
			words += 2
		}
		writeFile(t, filepath.Join(dir, "logs", fmt.Sprintf("%02d.log", i)), []byte(b.String()))
	}
	c.ok("cp", "--recursive", filepath.Join(dir, "logs"), "s3://jobsb/prefix")
	code, _, errOut := c.run("not an input\n", "cp", "-", "s3://jobsb/other.txt")
	if code != 0 {
		t.Fatal(errOut)
	}

	// The one-liner: word frequency per object, summed by one reducer.
	out := c.ok("job", "run", "--map", "sortu -w -c", "--reduce", "sum", "--json", "s3://jobsb/prefix/")
	wordJob := parseJob(t, out)
	if wordJob.State != "succeeded" || len(wordJob.Phases) != 2 || wordJob.Phases[0].Succeeded != 40 || wordJob.Phases[1].Succeeded != 1 {
		t.Fatalf("job run --json: %+v", wordJob)
	}
	if got := sumColumn(t, c.ok("job", "cat", wordJob.ID), 1); got != words {
		t.Fatalf("job cat: %d words, want %d", got, words)
	}
	// wc alone: one "LINES WORDS BYTES" line per object, in task order.
	out = c.ok("job", "run", "--map", "wc", "--json", "s3://jobsb/prefix/")
	wcJob := parseJob(t, out)
	wcOut := c.ok("job", "cat", wcJob.ID)
	if n := strings.Count(wcOut, "\n"); n != 40 || sumColumn(t, wcOut, 1) != words {
		t.Fatalf("job cat of wc: %d lines, %d words; want 40, %d", n, sumColumn(t, wcOut, 1), words)
	}
	// The Manta-style one-liner: map wc, reduce sum, one total line.
	out = c.ok("job", "run", "--map", "wc", "--reduce", "sum", "--json", "s3://jobsb/prefix/")
	total := strings.Fields(c.ok("job", "cat", parseJob(t, out).ID))
	if len(total) != 3 || total[1] != strconv.Itoa(words) {
		t.Fatalf("wc | sum: %q, want %d words", total, words)
	}
	if first := c.ok("job", "cat", "--phase", "0", wcJob.ID); first != wcOut {
		t.Fatalf("job cat --phase 0 differs from job cat")
	}
	// Without --json: a line on stderr, nothing on stdout, exit 0.
	code, stdout, stderr := c.run("", "job", "run", "--map", "grep -c ERROR", "s3://jobsb/prefix/0*")
	if code != 0 || stdout != "" || !strings.Contains(stderr, " succeeded; outputs under s3://jobsb/.insitu-jobs/") {
		t.Fatalf("job run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// -f: grep, then sort -u over 3 key partitions, then one merge.
	spec := map[string]any{
		"inputs": []string{"s3://jobsb/prefix/"},
		"out":    "s3://jobsb/pipeline/",
		"phases": []map[string]any{
			{"type": "map", "app": "grep", "args": []string{"-F", "ERROR"}},
			{"type": "reduce", "app": "sortu", "reducers": 3, "partition": true},
			{"type": "reduce", "app": "sortu"},
		},
	}
	specFile := filepath.Join(t.TempDir(), "job.json")
	b, _ := json.Marshal(spec)
	writeFile(t, specFile, b)
	pipe := parseJob(t, c.ok("job", "run", "-f", specFile, "--json"))
	if pipe.State != "succeeded" || len(pipe.Phases) != 3 || pipe.Phases[1].Tasks != 3 || pipe.Out != "s3://jobsb/pipeline/" {
		t.Fatalf("job run -f: %+v", pipe)
	}
	want := make([]string, 0, len(lines))
	for l := range lines {
		want = append(want, l)
	}
	sort.Strings(want)
	if got := c.ok("job", "cat", pipe.ID); got != strings.Join(want, "\n")+"\n" {
		t.Fatalf("pipeline output %q, want %q", got, want)
	}
	if ls := c.ok("ls", "s3://jobsb/pipeline/2/"); !strings.Contains(ls, "000000") {
		t.Fatalf("the last phase's output object: %q", ls)
	}
	// -f - reads the spec from stdin; INPUT args add inputs.
	code, out, errOut = c.run(`{"phases": [{"type": "map", "app": "wc"}]}`, "job", "run", "-f", "-", "--json", "s3://jobsb/other.txt")
	if code != 0 || parseJob(t, out).Phases[0].Succeeded != 1 {
		t.Fatalf("job run -f -: exit %d %q %q", code, out, errOut)
	}

	// A failing job: grep exits 1 on the objects with no match. Exit 1,
	// the reason on stderr; with --json the status on stdout.
	code, _, errOut = c.run("", "job", "run", "--map", "grep NOTTHERE", "s3://jobsb/prefix/0*")
	if code != ExitError || !strings.Contains(errOut, " failed: 10 task(s) failed; first: phase 0 task ") || !strings.Contains(errOut, ": exited 1") {
		t.Fatalf("failing job: exit %d, stderr %q", code, errOut)
	}
	code, out, _ = c.run("", "job", "run", "--map", "grep NOTTHERE", "--retries", "1", "--json", "s3://jobsb/prefix/00.log")
	failed := parseJob(t, out)
	if code != ExitError || failed.State != "failed" || !strings.Contains(failed.Error, "exited 1") {
		t.Fatalf("failing job --json: exit %d, %+v", code, failed)
	}
	logs := c.ok("job", "logs", failed.ID)
	if !strings.Contains(logs, "==> phase 0 task 0 (failed) s3://jobsb/prefix/00.log <==\nerror: exited 1") {
		t.Fatalf("job logs: %q", logs)
	}
	// A map that writes stderr: its log is kept (grep: a bad pattern).
	code, out, _ = c.run("", "job", "run", "--map", "grep -x", "--json", "s3://jobsb/prefix/01.log")
	if code != ExitError {
		t.Fatalf("grep -x: exit %d %q", code, out)
	}
	if logs := c.ok("job", "logs", parseJob(t, out).ID); !strings.Contains(logs, "grep:") {
		t.Fatalf("job logs with stderr: %q", logs)
	}

	// status and ls.
	st := parseJob(t, c.ok("job", "status", wordJob.ID))
	if st.ID != wordJob.ID || st.State != "succeeded" {
		t.Fatalf("job status: %+v", st)
	}
	c.fails("NoSuchJob", "job", "status", "00000000-0000-0000-0000-000000000000")
	ls := c.ok("job", "ls")
	rows := map[string]string{}
	for line := range strings.Lines(ls) {
		f := strings.Fields(line)
		rows[f[0]] = strings.Join(f[1:4], " ")
	}
	if rows["ID"] != "STATE PHASES TASKS" || rows[wordJob.ID] != "succeeded map:sortu,reduce:sum 41" ||
		rows[failed.ID] != "failed map:grep 1" || rows[pipe.ID] != "succeeded map:grep,reduce:sortu,reduce:sortu 44" {
		t.Fatalf("job ls:\n%s", ls)
	}
	var listed struct {
		Jobs []jobJSON `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(c.ok("job", "ls", "--json")), &listed); err != nil || len(listed.Jobs) != 9 || listed.Jobs[len(listed.Jobs)-1].ID != wordJob.ID {
		t.Fatalf("job ls --json: %d jobs, %v", len(listed.Jobs), err)
	}

	// cancel: a detached job of runs that never end.
	id := strings.TrimSpace(c.ok("job", "run", "--detach", "--map", "spin", "--reduce", "sum", "s3://jobsb/prefix/"))
	if len(id) != 36 {
		t.Fatalf("job run --detach printed %q", id)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		j := parseJob(t, c.ok("job", "status", id))
		if j.Phases[0].Running > 0 {
			break
		}
		if j.State != "running" && j.State != "queued" || time.Now().After(deadline) {
			t.Fatalf("spin job: %+v", j)
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if out := c.ok("job", "cancel", id); out != id+" cancelled\n" {
		t.Fatalf("job cancel: %q", out)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("job cancel took %v", took)
	}
	j := parseJob(t, c.ok("job", "status", id))
	if j.State != "cancelled" || j.Phases[0].Cancelled != 40 || j.Phases[1].Cancelled != 1 {
		t.Fatalf("after cancel: %+v", j)
	}
	// Cancelling a finished job changes nothing.
	if out := c.ok("job", "cancel", wordJob.ID); out != wordJob.ID+" succeeded\n" {
		t.Fatalf("cancel of a finished job: %q", out)
	}

	// Refusals before anything runs.
	c.fails("NoSuchBucket", "job", "run", "--map", "wc", "--out", "s3://nobody/x/", "s3://jobsb/prefix/")
	keys := c.ok("admin", "user", "add", "eve", "--json")
	eve := c.as(jsonField(t, keys, "access_key"), jsonField(t, keys, "secret_key"))
	eve.fails("AccessDenied", "job", "run", "--map", "wc", "s3://jobsb/prefix/")
	c.fails("no input objects match", "job", "run", "--map", "wc", "s3://jobsb/nothing/")
	if code, _, errOut := c.run("", "job", "run", "s3://jobsb/prefix/"); code != ExitUsage || !strings.Contains(errOut, "--map or -f is required") {
		t.Fatalf("job run without --map: exit %d %q", code, errOut)
	}
	if out := c.ok("job", "ls"); strings.Count(out, "\n") != 1+10 {
		t.Fatalf("refused jobs were listed:\n%s", out)
	}
}
