package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/cluster"
)

// A member's run request (the internal run endpoint) may pause its stdin
// longer than the body window a client gets: a job's reducer is fed as
// the job's outputs are read. The run still gets all of it.
func TestClusterRemoteRunStdinMayPause(t *testing.T) {
	window := func(_ int, cfg *app.Config) { cfg.BodyTimeout = time.Second }
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"}, Configure: window})
	if _, err := cl.API(0).PushApp(context.Background(), "upper", "1.0.0", exampleWasm(t, "upper"), nil, false); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte("first part, "))
		time.Sleep(2500 * time.Millisecond) // past the window
		_, _ = pw.Write([]byte("and the rest\n"))
		pw.Close()
	}()
	if out := remoteRun(t, cl, 1, "upper", pr); out != "FIRST PART, AND THE REST\n" {
		t.Fatalf("stdout %q", out)
	}
}

// An app pushed through a node that has just joined runs at once on a
// node whose view (re-read every second) does not show the newcomer
// yet: the module is fetched from whichever node holds it, found through
// a fresh read of the membership.
func TestClusterAppFromANodeJustJoined(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"}})
	cl.WaitViews()
	cl.Nodes = append(cl.Nodes, apptest.Start(t, apptest.Options{Configure: func(cfg *app.Config) {
		cfg.Cluster = app.ClusterConfig{Zone: "c", Secret: cl.Secret, Name: "node2", Join: cl.Nodes[0].Endpoint()}
	}}))
	if _, err := cl.API(2).PushApp(context.Background(), "upper", "1.0.0", exampleWasm(t, "upper"), nil, false); err != nil {
		t.Fatal(err)
	}
	if out := remoteRun(t, cl, 0, "upper", strings.NewReader("fresh\n")); out != "FRESH\n" {
		t.Fatalf("stdout %q", out)
	}
}

// remoteRun runs app as root on node i through the internal run
// endpoint, signed as node0, with stdin, and returns its stdout; the run
// must exit 0.
func remoteRun(t *testing.T, cl *apptest.Cluster, i int, appName string, stdin io.Reader) string {
	t.Helper()
	head, _ := json.Marshal(map[string]any{"account": "root", "kind": "run", "app": appName, "stdin": true, "stdout": true})
	sum := sha256.Sum256(head)
	body := io.MultiReader(bytes.NewReader(append(binary.BigEndian.AppendUint32(nil, uint32(len(head))), head...)), stdin)
	req, _ := http.NewRequest(http.MethodPost, cl.Nodes[i].Endpoint()+"/_cluster/v1/run", io.NopCloser(body))
	req.Header.Set("X-Insitu-Run-Sha256", hex.EncodeToString(sum[:]))
	cluster.NewSigner(cl.Secret, "node0").Sign(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// frames: '1' stdout ..., then 'R' the record
	var stdout bytes.Buffer
	for len(b) >= 5 {
		n := binary.BigEndian.Uint32(b[1:5])
		if b[0] == '1' {
			stdout.Write(b[5 : 5+n])
		}
		if b[0] == 'R' && !strings.Contains(string(b[5:5+n]), `"exit_code":0`) {
			t.Fatalf("record %s", b[5:5+n])
		}
		b = b[5+n:]
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("run on node%d: %d, stdout %q", i, resp.StatusCode, stdout.String())
	}
	return stdout.String()
}
