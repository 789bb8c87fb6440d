package ui_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/app"
)

// partRE finds the parts of a job's fragment: the head, the graph, each
// task row and the tail, each an element with its id.
var partRE = regexp.MustCompile(`(?s)<div id="job-head">.*?</div>|<section class="card graph" id="job-graph-card">.*?</section>|<tr class="task[^"]*" id="(task-\d+-\d+)">.*?</tr>|<div id="job-tail">.*?</div>`)

var rowRE = regexp.MustCompile(`(?s)<tr class="task[^"]*" id="(task-\d+-\d+)">.*?</tr>`)

// TestJobStreamSendsChangedParts: a job's stream sends the whole fragment
// once, then "patch" events holding only parts (never the tasks table) and, of
// the task rows, only those that changed since they were last sent; the
// last one shows the job succeeded.
func TestJobStreamSendsChangedParts(t *testing.T) {
	const tasks = 16
	// One sandbox worker runs the tasks one by one, so the job takes
	// several of the stream's ticks (every 20 ms here).
	e := start(t, false, func(c *app.Config) { c.SandboxWorkers = 1; c.UI.LiveEvery = 20 * time.Millisecond })
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "books")
	for i := range tasks {
		e.put(t, e.aliceKey, e.aliceSecret, "books", fmt.Sprintf("in/%02d.txt", i), strings.Repeat("the cat the dog\n", 1<<10), nil)
	}
	b := e.login(t, e.aliceKey, e.aliceSecret)
	job := b.startJob(url.Values{"map": {"sha256"}, "input": {"s3://books/in/"}, "out": {"s3://books/out/"}})
	js := b.openStream("/ui/jobs/" + job + "/events")
	first, _ := js.next()
	if first.name != "" || !strings.Contains(first.data, `<table class="list" id="tasks">`) || strings.Contains(first.data, "state-succeeded") {
		t.Fatalf("first event %q, want the whole fragment of a job not yet done:\n%s", first.name, first.data)
	}
	rows := map[string]string{}
	for _, m := range rowRE.FindAllStringSubmatch(first.data, -1) {
		rows[m[1]] = m[0]
	}
	if len(rows) != tasks {
		t.Fatalf("the first fragment shows %d task rows, want %d", len(rows), tasks)
	}
	patches, last := 0, first.data
	for {
		ev, more := js.next()
		if !more || ev.name == "end" {
			break
		}
		if ev.name != "patch" {
			t.Fatalf("event %q after the first, want only patches:\n%s", ev.name, ev.data)
		}
		patches++
		rest := strings.Replace(strings.Replace(partRE.ReplaceAllString(ev.data, ""), `<table class="patch-rows"><tbody>`, "", 1), "</tbody></table>", "", 1)
		if strings.Contains(ev.data, `id="tasks"`) || strings.TrimSpace(rest) != "" {
			t.Errorf("patch %d holds more than parts:\n%s", patches, ev.data)
		}
		for _, m := range rowRE.FindAllStringSubmatch(ev.data, -1) {
			if rows[m[1]] == m[0] {
				t.Errorf("patch %d sends %s again unchanged", patches, m[1])
			}
			rows[m[1]] = m[0]
		}
		last = ev.data
	}
	t.Logf("%d patches", patches)
	if patches < 2 || !strings.Contains(last, `id="job-state" class="state-succeeded"`) {
		t.Fatalf("%d patches, the last:\n%s", patches, last)
	}
	for id, row := range rows {
		if !strings.Contains(row, "state-succeeded") {
			t.Errorf("%s after the job: %s", id, row)
		}
	}
}
