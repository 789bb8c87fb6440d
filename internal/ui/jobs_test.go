package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/client"
)

var jobIDRE = regexp.MustCompile(`^/ui/jobs/([^/]+)$`)

// startJob posts the job form and returns the new job's id.
func (b *browser) startJob(form url.Values) string {
	b.t.Helper()
	resp := b.change("/ui/jobs", form)
	m := jobIDRE.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		b.t.Fatalf("start job: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), bodyOf(resp))
	}
	return m[1]
}

// waitJob polls the job's live fragment until it shows state.
func (b *browser) waitJob(id, state string) string {
	b.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := b.get("/ui/jobs/" + id + "/progress")
		if code != http.StatusOK {
			b.t.Fatalf("progress of %s: %d\n%s", id, code, body)
		}
		if strings.Contains(body, `id="job-state" class="state-`+state+`">`) {
			return body
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("job %s never reached %s:\n%s", id, state, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestJobPages starts word counts from the form and from a pasted spec,
// follows one live to the end, and keeps bob's job out of alice's reach.
func TestJobPages(t *testing.T) {
	e := start(t, false)
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "books")
	e.put(t, e.aliceKey, e.aliceSecret, "books", "in/a.txt", "the cat the dog\n", nil)
	e.put(t, e.aliceKey, e.aliceSecret, "books", "in/b.txt", "the end\n", nil)
	e.put(t, e.aliceKey, e.aliceSecret, "books", "in/<script>alert(1)</script>.txt", "hostile\n", nil)
	b := e.login(t, e.aliceKey, e.aliceSecret)

	id := b.startJob(url.Values{"map": {"sortu -w -c"}, "reduce": {"sum"}, "reducers": {"1"}, "input": {"s3://books/in/"}, "out": {"s3://books/counts/"}})
	code, body := b.get("/ui/jobs/" + id)
	if code != http.StatusOK || !strings.Contains(body, `id="job-graph"`) || !strings.Contains(body, "/ui/static/job.js") {
		t.Fatalf("job page (%d) has no graph or no live script:\n%s", code, body)
	}
	body = b.waitJob(id, "succeeded")
	if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)") {
		t.Errorf("a hostile input key is not escaped in the task table:\n%s", body)
	}
	for _, want := range []string{"0: map sortu", "1: reduce sum", "3/3 done", `href="/ui/b/books/object?key=counts%2F1%2F000000"`, `<tr class="task state-succeeded" id="task-1-0">`} {
		if !strings.Contains(body, want) {
			t.Errorf("finished job's fragment lacks %q:\n%s", want, body)
		}
	}
	got, err := e.as(t, e.aliceKey, e.aliceSecret).JobOutputs(context.Background(), id, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("outputs through the API: %v %v", got, err)
	}
	if _, body := b.get("/ui/jobs"); !strings.Contains(body, `href="/ui/jobs/`+id+`"`) || !strings.Contains(body, "succeeded") {
		t.Errorf("the jobs list misses the job:\n%s", body)
	}

	spec := `{"inputs":["s3://books/in/a.txt"],"phases":[{"type":"map","app":"wc"}]}`
	id2 := b.startJob(url.Values{"spec": {spec}})
	b.waitJob(id2, "succeeded")

	for _, bad := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"spec": {`{"inputs":`}}, "not valid JSON"},
		{url.Values{"spec": {`{"inputs":["s3://books/in/"],"phases":[{"type":"<script>x()</script>","app":"wc"}]}`}}, "type must be map or reduce"},
		{url.Values{"map": {"wc"}}, "Name a map app and an input"},
	} {
		resp := b.change("/ui/jobs", bad.form)
		body := bodyOf(resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, bad.want) || strings.Contains(body, "<script>x()") {
			t.Errorf("bad job %v: %d, want 400 with %q, escaped:\n%s", bad.form, resp.StatusCode, bad.want, body)
		}
	}
	if resp := b.postForm("/ui/jobs", url.Values{"spec": {spec}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("starting a job without the CSRF token: %d", resp.StatusCode)
	}
	if resp := b.postForm("/ui/jobs/"+id+"/cancel", url.Values{"csrf": {b.csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site cancel: %d", resp.StatusCode)
	}
	jobsHideBobs(t, e, b)
}

// jobsHideBobs tries bob's running job through every job URL of alice's.
func jobsHideBobs(t *testing.T, e *env, alice *browser) {
	e.mkBucket(t, e.bobKey, e.bobSecret, "bob-books")
	for i := range 40 {
		e.put(t, e.bobKey, e.bobSecret, "bob-books", "in/"+strings.Repeat("x", i+1), "bob's words\n", nil)
	}
	bob := e.as(t, e.bobKey, e.bobSecret)
	j, err := bob.SubmitJob(context.Background(), client.JobSpec{Inputs: []string{"s3://bob-books/in/"}, Phases: []client.JobPhase{{Type: "map", App: "wc"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/ui/jobs/" + j.ID, "/ui/jobs/" + j.ID + "/progress"} {
		if code, body := alice.get(p); code != http.StatusNotFound || strings.Contains(body, "bob-books") {
			t.Errorf("GET %s as alice: %d\n%s", p, code, body)
		}
	}
	if resp := alice.change("/ui/jobs/"+j.ID+"/cancel", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("alice cancelling bob's job: %d", resp.StatusCode)
	}
	if _, body := alice.get("/ui/jobs"); strings.Contains(body, j.ID) {
		t.Errorf("alice's job list shows bob's job")
	}
	if got, err := bob.GetJob(context.Background(), j.ID); err != nil || got.State == "cancelled" {
		t.Errorf("bob's job after alice's tries: %v %v", got, err)
	}
}
