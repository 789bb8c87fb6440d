package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// cliAgainst runs the CLI in-process against node with the given keys
// (empty: root).
type cliAgainst struct {
	t        *testing.T
	node     *apptest.Node
	ak, sk   string
	extra    []string
	endpoint string
}

func newCLI(t *testing.T, node *apptest.Node) *cliAgainst {
	return &cliAgainst{t: t, node: node, ak: node.AccessKey, sk: node.SecretKey, endpoint: node.Endpoint()}
}

func (c *cliAgainst) as(ak, sk string) *cliAgainst {
	d := *c
	d.ak, d.sk = ak, sk
	return &d
}

// run returns exit status, stdout and stderr.
func (c *cliAgainst) run(stdin string, args ...string) (int, string, string) {
	c.t.Helper()
	full := append([]string{"--endpoint", c.endpoint, "--access-key", c.ak, "--secret-key", c.sk}, c.extra...)
	return run(c.t, stdin, append(full, args...)...)
}

// ok runs and fails the test on a non-zero exit; it returns stdout.
func (c *cliAgainst) ok(args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run("", args...)
	if code != 0 {
		c.t.Fatalf("insitu %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// fails runs, expects exit status 1 and one stderr line containing want.
func (c *cliAgainst) fails(want string, args ...string) {
	c.t.Helper()
	code, _, errOut := c.run("", args...)
	if code != ExitError || !strings.HasPrefix(errOut, "insitu: ") || !strings.Contains(errOut, want) || strings.Count(errOut, "\n") != 1 {
		c.t.Errorf("insitu %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(args, " "), code, errOut, want)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes differ from the %d expected", path, len(got), len(want))
	}
}

func TestE2EObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	isolateEnv(t)
	node := apptest.Start(t, apptest.Options{})
	c := newCLI(t, node)
	dir := t.TempDir()

	c.ok("mb", "s3://photos", "s3://backup")
	c.fails("mb s3://photos: BucketAlreadyOwnedByYou", "mb", "s3://photos")
	out := c.ok("ls")
	if !strings.Contains(out, " photos\n") || !strings.Contains(out, " backup\n") {
		t.Errorf("ls buckets:\n%s", out)
	}
	var bj bucketJSON
	if err := json.Unmarshal([]byte(strings.SplitN(c.ok("ls", "--json"), "\n", 2)[0]), &bj); err != nil || bj.Name == "" || bj.Created.IsZero() {
		t.Errorf("ls --json: %+v, %v", bj, err)
	}

	// Upload: small, multipart-sized, an awkward key, into a prefix.
	small, big := randomBytes(t, 2048), randomBytes(t, 21<<20)
	writeFile(t, filepath.Join(dir, "small.txt"), small)
	writeFile(t, filepath.Join(dir, "big.bin"), big)
	const odd = `&+-é"/x y`
	c.ok("cp", filepath.Join(dir, "small.txt"), "s3://photos/2024/")
	c.ok("cp", filepath.Join(dir, "big.bin"), "s3://photos/2024/big.bin")
	c.ok("cp", filepath.Join(dir, "small.txt"), "s3://photos/"+odd)

	out = c.ok("ls", "s3://photos")
	if !strings.Contains(out, "PRE 2024/\n") || !strings.Contains(out, "PRE &+-é\"/\n") {
		t.Errorf("ls s3://photos:\n%s", out)
	}
	out = c.ok("ls", "s3://photos/2024/")
	if !strings.Contains(out, "       2048 small.txt\n") || !strings.Contains(out, " 22020096 big.bin\n") {
		t.Errorf("ls s3://photos/2024/:\n%s", out)
	}
	var keys []string
	for line := range strings.Lines(c.ok("ls", "--recursive", "--json", "s3://photos")) {
		var e entryJSON
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, e.Key)
	}
	if want := []string{odd, "2024/big.bin", "2024/small.txt"}; !slices.Equal(keys, want) {
		t.Errorf("ls -r --json keys = %q, want %q", keys, want)
	}

	// stat.
	var st statJSON
	if err := json.Unmarshal([]byte(c.ok("stat", "--json", "s3://photos/2024/small.txt")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != 2048 || st.ETag == "" || st.ContentType != "text/plain; charset=utf-8" || st.LastModified.IsZero() {
		t.Errorf("stat --json = %+v", st)
	}
	if out := c.ok("stat", "s3://photos/2024/big.bin"); !strings.Contains(out, "Size:          22020096\n") || !strings.Contains(out, "-") {
		t.Errorf("stat:\n%s", out)
	}
	c.fails("stat s3://photos/nope: NoSuchKey", "stat", "s3://photos/nope")
	c.fails("NoSuchBucket", "ls", "s3://nobucket")

	// Download to a file, into a directory, and to stdout; cat.
	c.ok("cp", "s3://photos/2024/big.bin", filepath.Join(dir, "out", "big.copy"))
	sameFile(t, filepath.Join(dir, "out", "big.copy"), big)
	c.ok("cp", "s3://photos/"+odd, filepath.Join(dir, "out")+"/")
	sameFile(t, filepath.Join(dir, "out", "x y"), small)
	if out := c.ok("cp", "s3://photos/2024/small.txt", "-"); out != string(small) {
		t.Error("cp to stdout: bytes differ")
	}
	if out := c.ok("cat", "s3://photos/2024/small.txt", "s3://photos/"+odd); out != string(small)+string(small) {
		t.Error("cat: bytes differ")
	}

	// stdin upload.
	if code, _, errOut := c.run("from stdin", "cp", "-", "s3://backup/stdin.txt"); code != 0 {
		t.Fatalf("cp - : %s", errOut)
	}
	if out := c.ok("cat", "s3://backup/stdin.txt"); out != "from stdin" {
		t.Errorf("stdin object = %q", out)
	}

	// Server-side copies.
	c.ok("cp", "s3://photos/2024/big.bin", "s3://backup/")
	c.ok("cp", "-r", "s3://photos/2024", "s3://backup/copied")
	if out := c.ok("ls", "-r", "s3://backup"); !strings.Contains(out, " big.bin\n") || !strings.Contains(out, " copied/small.txt\n") {
		t.Errorf("after s3 copies:\n%s", out)
	}
	c.ok("cp", "s3://backup/big.bin", filepath.Join(dir, "big.2"))
	sameFile(t, filepath.Join(dir, "big.2"), big)

	// Recursive upload and download round trip.
	tree := filepath.Join(dir, "tree")
	files := map[string][]byte{"a.txt": []byte("a"), "sub/b.txt": []byte("bb"), "sub/deeper/c": randomBytes(t, 100000)}
	for name, data := range files {
		writeFile(t, filepath.Join(tree, filepath.FromSlash(name)), data)
	}
	c.ok("cp", "--recursive", tree, "s3://backup/tree")
	c.ok("cp", "--recursive", "s3://backup/tree/", filepath.Join(dir, "tree2"))
	for name, data := range files {
		sameFile(t, filepath.Join(dir, "tree2", filepath.FromSlash(name)), data)
	}

	// rm, rm --recursive, rb, rb --force.
	c.ok("rm", "s3://backup/stdin.txt")
	c.fails("NoSuchKey", "stat", "s3://backup/stdin.txt")
	c.ok("rm", "--recursive", "s3://backup/tree")
	if out := c.ok("ls", "-r", "s3://backup/tree/"); out != "" {
		t.Errorf("after rm -r:\n%s", out)
	}
	c.fails("rb s3://photos: BucketNotEmpty", "rb", "s3://photos")
	c.ok("rb", "--force", "s3://photos", "s3://backup")
	if out := c.ok("ls"); out != "" {
		t.Errorf("buckets left:\n%s", out)
	}
}

func TestE2EAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	isolateEnv(t)
	node := apptest.Start(t, apptest.Options{})
	root := newCLI(t, node)

	var k struct{ Name, Access_Key, Secret_Key string }
	if err := json.Unmarshal([]byte(root.ok("admin", "user", "add", "alice", "--json")), &k); err != nil {
		t.Fatal(err)
	}
	if k.Name != "alice" || k.Access_Key == "" || k.Secret_Key == "" {
		t.Fatalf("user add --json = %+v", k)
	}
	root.fails("UserExists", "admin", "user", "add", "alice")
	alice := root.as(k.Access_Key, k.Secret_Key)
	if out := alice.ok("whoami"); out != "alice\n" {
		t.Errorf("whoami = %q", out)
	}
	if out := root.ok("whoami"); !strings.HasSuffix(out, " (root)\n") {
		t.Errorf("root whoami = %q", out)
	}
	alice.fails("AccessDenied", "admin", "user", "ls")

	// Buckets belong to their creator.
	root.ok("mb", "s3://rootonly")
	alice.fails("ls s3://rootonly: AccessDenied", "ls", "s3://rootonly")

	out := root.ok("admin", "user", "ls")
	if !strings.Contains(out, "NAME") || !strings.Contains(out, "alice") || !strings.Contains(out, k.Access_Key) {
		t.Errorf("user ls:\n%s", out)
	}
	var users struct {
		Users []struct {
			Name       string   `json:"name"`
			Root       bool     `json:"root"`
			AccessKeys []string `json:"access_keys"`
		} `json:"users"`
	}
	if err := json.Unmarshal([]byte(root.ok("admin", "user", "ls", "--json")), &users); err != nil || len(users.Users) != 2 {
		t.Fatalf("user ls --json: %+v, %v", users, err)
	}

	// Rotation revokes the old key.
	out = root.ok("admin", "user", "rotate", "alice")
	if !strings.Contains(out, "Access Key: ") || !strings.Contains(out, "Secret Key: ") {
		t.Fatalf("rotate:\n%s", out)
	}
	alice.fails("whoami: ", "whoami")
	var nk struct{ Access_Key, Secret_Key string }
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(line, "Access Key: "); ok {
			nk.Access_Key = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Secret Key: "); ok {
			nk.Secret_Key = strings.TrimSpace(v)
		}
	}
	if out := root.as(nk.Access_Key, nk.Secret_Key).ok("whoami"); out != "alice\n" {
		t.Errorf("whoami with rotated key = %q", out)
	}

	root.ok("admin", "user", "rm", "alice")
	root.fails("NoSuchUser", "admin", "user", "rm", "alice")
	root.fails("admin user rm root:", "admin", "user", "rm", "root")
}

func TestE2ETLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	isolateEnv(t)
	node := apptest.Start(t, apptest.Options{TLS: true})
	c := newCLI(t, node)
	c.fails("certificate", "ls")
	c.extra = []string{"--ca-cert", node.CertFile}
	c.ok("mb", "s3://secure")
	if code, _, errOut := c.run("tls body", "cp", "-", "s3://secure/k"); code != 0 {
		t.Fatal(errOut)
	}
	if out := c.ok("cat", "s3://secure/k"); out != "tls body" {
		t.Errorf("cat over TLS = %q", out)
	}
	c.extra = []string{"--insecure"}
	if out := c.ok("ls", "s3://secure"); !strings.Contains(out, " k\n") {
		t.Errorf("ls --insecure:\n%s", out)
	}
	if out := c.ok("whoami"); !strings.Contains(out, "(root)") {
		t.Errorf("whoami over TLS = %q", out)
	}
}
