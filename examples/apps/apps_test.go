// Tests for the example apps: each .wasm runs under wazero, as insitu runs
// it, on real inputs, and its output is checked against the same work done
// in Go. The C apps are the committed builds (no clang needed); the Go apps
// are built from source by the test.
//
//	go test ./...                                  # from examples/apps
//	go test -run '^$' -bench . -benchtime 3x       # throughput vs native
package apps_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// ---- Running modules ----

var (
	rtOnce sync.Once
	rt     wazero.Runtime

	compiledMu sync.Mutex
	compiled   = map[string]wazero.CompiledModule{}
)

// runtime returns the shared wazero runtime: the default compiler, without
// WithCloseOnContextDone (insitu stops runs from outside instead).
func runtime() wazero.Runtime {
	rtOnce.Do(func() {
		ctx := context.Background()
		rt = wazero.NewRuntime(ctx)
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	})
	return rt
}

// module compiles the .wasm at path once and caches it.
func module(t testing.TB, path string) wazero.CompiledModule {
	t.Helper()
	compiledMu.Lock()
	defer compiledMu.Unlock()
	if m, ok := compiled[path]; ok {
		return m
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := runtime().CompileModule(context.Background(), bin)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	compiled[path] = m
	return m
}

// run is one run of an app.
type run struct {
	stdin []byte
	files map[string][]byte // mounted read-only under /in
	env   map[string]string
}

type result struct {
	stdout, stderr []byte
	exit           uint32
}

// appPath returns where the .wasm of an app is: committed for C apps and
// services, freshly built for Go apps.
func appPath(t testing.TB, name string) string {
	switch name {
	case "thumbnail", "watermark":
		return goApp(t, name)
	case "hello", "echo", "notes":
		return filepath.Join("..", "services", name, name+".wasm")
	}
	return filepath.Join(name, name+".wasm")
}

// exec runs app with args (argv[0] is the app's name) and returns what it
// wrote and its exit status.
func (r run) exec(t testing.TB, app string, args ...string) result {
	t.Helper()
	m := module(t, appPath(t, app))
	var out, errOut bytes.Buffer
	fsys := fstest.MapFS{}
	for name, data := range r.files {
		fsys[name] = &fstest.MapFile{Data: data, Mode: 0o444}
	}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(append([]string{app}, args...)...).
		WithStdin(bytes.NewReader(r.stdin)).
		WithStdout(&out).
		WithStderr(&errOut).
		WithFSConfig(wazero.NewFSConfig().WithFSMount(fsys, "/in"))
	for k, v := range r.env {
		cfg = cfg.WithEnv(k, v)
	}
	var exit uint32
	mod, err := runtime().InstantiateModule(context.Background(), m, cfg)
	var ee *sys.ExitError
	switch {
	case errors.As(err, &ee):
		exit = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %q: %v", app, args, err)
	}
	if mod != nil {
		mod.Close(context.Background())
	}
	return result{out.Bytes(), errOut.Bytes(), exit}
}

// ok runs app and fails the test unless it exits 0; it returns stdout.
func (r run) ok(t testing.TB, app string, args ...string) []byte {
	t.Helper()
	res := r.exec(t, app, args...)
	if res.exit != 0 {
		t.Fatalf("%s %q: exit %d, stderr: %s", app, args, res.exit, res.stderr)
	}
	return res.stdout
}

// goApp builds a Go app for wasip1 once per test binary.
var (
	goBuildMu sync.Mutex
	goBuilt   = map[string]string{}
	goBuildTo string
)

func goApp(t testing.TB, name string) string {
	t.Helper()
	goBuildMu.Lock()
	defer goBuildMu.Unlock()
	if p, ok := goBuilt[name]; ok {
		return p
	}
	if goBuildTo == "" {
		dir, err := os.MkdirTemp("", "insitu-examples-")
		if err != nil {
			t.Fatal(err)
		}
		goBuildTo = dir
	}
	out := filepath.Join(goBuildTo, name+".wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s", "-o", out, "./"+name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, msg)
	}
	goBuilt[name] = out
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if goBuildTo != "" {
		os.RemoveAll(goBuildTo)
	}
	os.Exit(code)
}

// ---- Inputs ----

// text returns n bytes of word-like text with varied whitespace, including
// bytes above 0x7f and words that straddle 64 KiB block boundaries.
func text(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	spaces := []byte(" \t\n\v\f\r")
	b := make([]byte, 0, n)
	for len(b) < n {
		switch r.IntN(10) {
		case 0:
			b = append(b, spaces[r.IntN(len(spaces))])
		case 1:
			b = append(b, '\n')
		case 2:
			b = append(b, byte(0x80+r.IntN(0x80))) // not a space in C
		default:
			for range 1 + r.IntN(12) {
				b = append(b, byte('a'+r.IntN(26)))
			}
			b = append(b, ' ')
		}
	}
	return b[:n]
}

// ---- wc ----

// wcCount counts like wc in the C locale.
func wcCount(b []byte) string {
	lines, words, inSpace := 0, 0, true
	for _, c := range b {
		s := bytes.IndexByte([]byte(" \t\n\v\f\r"), c) >= 0
		if c == '\n' {
			lines++
		}
		if inSpace && !s {
			words++
		}
		inSpace = s
	}
	return fmt.Sprintf("%d %d %d", lines, words, len(b))
}

// wcTotal is the sum of the counts of each input (a word cannot span two
// files).
func wcTotal(ins ...[]byte) string {
	var l, w, c int
	for _, in := range ins {
		var l1, w1, c1 int
		fmt.Sscan(wcCount(in), &l1, &w1, &c1)
		l, w, c = l+l1, w+w1, c+c1
	}
	return fmt.Sprintf("%d %d %d", l, w, c)
}

func TestWC(t *testing.T) {
	inputs := [][]byte{
		nil, []byte("a"), []byte("\n"), []byte("hello world\n"),
		[]byte("  leading\tand\vtrailing \f\r\n\n"), []byte("no newline at end"),
		[]byte("caf\xc3\xa9 \xc2\xa0 x\xc2\x85y"), // NBSP and NEL are not spaces in C
		text(1, 200_000), text(2, 1<<16), text(3, 1<<16+1),
	}
	for i, in := range inputs {
		got := string(run{stdin: in}.ok(t, "wc"))
		if want := wcCount(in) + "\n"; got != want {
			t.Errorf("input %d (%d bytes): got %q, want %q", i, len(in), got, want)
		}
	}

	// Files under /in, with a total line.
	a, b := text(4, 10_000), []byte("one two\nthree\n")
	r := run{files: map[string][]byte{"a.txt": a, "dir/b.txt": b}}
	got := string(r.ok(t, "wc", "/in/a.txt", "/in/dir/b.txt"))
	want := wcCount(a) + " /in/a.txt\n" + wcCount(b) + " /in/dir/b.txt\n" +
		wcTotal(a, b) + " total\n"
	if got != want {
		t.Errorf("files: got %q, want %q", got, want)
	}
	got = string(r.ok(t, "wc", "/in/dir/b.txt"))
	if want := wcCount(b) + " /in/dir/b.txt\n"; got != want {
		t.Errorf("one file: got %q, want %q", got, want)
	}

	// A missing file is reported, the others still counted.
	res := r.exec(t, "wc", "/in/missing", "/in/dir/b.txt")
	if res.exit != 1 || !strings.Contains(string(res.stderr), "/in/missing") ||
		!strings.HasPrefix(string(res.stdout), wcCount(b)+" /in/dir/b.txt\n") {
		t.Errorf("missing file: exit %d, stdout %q, stderr %q", res.exit, res.stdout, res.stderr)
	}
}

// ---- sha256 ----

func TestSHA256(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	sizes := []int{0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 1<<16 - 1, 1 << 16, 1<<16 + 1, 1 << 20}
	for _, n := range sizes {
		in := make([]byte, n)
		for i := range in {
			in[i] = byte(r.Uint32())
		}
		sum := sha256.Sum256(in)
		got := string(run{stdin: in}.ok(t, "sha256"))
		if want := hex.EncodeToString(sum[:]) + "  -\n"; got != want {
			t.Errorf("%d bytes: got %q, want %q", n, got, want)
		}
	}

	a, b := []byte("abc"), text(6, 100_000)
	sa, sb := sha256.Sum256(a), sha256.Sum256(b)
	got := string(run{files: map[string][]byte{"a": a, "b": b}}.ok(t, "sha256", "/in/a", "/in/b"))
	want := hex.EncodeToString(sa[:]) + "  /in/a\n" + hex.EncodeToString(sb[:]) + "  /in/b\n"
	if got != want {
		t.Errorf("files: got %q, want %q", got, want)
	}
	if !strings.HasPrefix(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") {
		t.Fatal("crypto/sha256 disagrees with FIPS 180-2's test vector")
	}
}

// ---- upper ----

func TestUpper(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	random := make([]byte, 300_000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	for _, in := range [][]byte{nil, []byte("hello, World! az AZ @[`{ 0123\n"), []byte("caf\xc3\xa9"), random} {
		want := make([]byte, len(in))
		for i, c := range in {
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			want[i] = c
		}
		if got := (run{stdin: in}).ok(t, "upper"); !bytes.Equal(got, want) {
			t.Errorf("%d bytes: output differs (got %d bytes)", len(in), len(got))
		}
	}
}

// ---- grep ----

func TestGrep(t *testing.T) {
	const in = "foo bar\nFOO\nbaz\nabc\naXXc\n*star\nend$x\nfoo.bar\nlast"
	tests := []struct {
		args []string
		want string
		exit uint32
	}{
		{[]string{"foo"}, "foo bar\nfoo.bar\n", 0},
		{[]string{"-i", "foo"}, "foo bar\nFOO\nfoo.bar\n", 0},
		{[]string{"-v", "a"}, "FOO\nend$x\n", 0},
		{[]string{"-c", "a"}, "7\n", 0},
		{[]string{"-vic", "FOO"}, "6\n", 0},
		{[]string{"-v", "-i", "-c", "foo"}, "6\n", 0},
		{[]string{"^a.*c$"}, "abc\naXXc\n", 0},
		{[]string{"^ba"}, "baz\n", 0},
		{[]string{"z$"}, "baz\n", 0},
		{[]string{"^$"}, "", 1},
		{[]string{"o\\.b"}, "foo.bar\n", 0},
		{[]string{"o.b"}, "foo bar\nfoo.bar\n", 0},
		{[]string{"-F", "o.b"}, "foo.bar\n", 0},
		{[]string{"*st"}, "*star\n", 0},       // a leading * is literal
		{[]string{"d\\$"}, "end$x\n", 0},      // an escaped $ is literal
		{[]string{"-F", "d$x"}, "end$x\n", 0}, // so is every byte with -F
		{[]string{"X*c"}, "abc\naXXc\n", 0},
		{[]string{"-i", "^AX*C$"}, "aXXc\n", 0},
		{[]string{"-i", "^AX*B"}, "abc\n", 0},
		{[]string{"last"}, "last\n", 0}, // the last line has no newline
		{[]string{"nothing"}, "", 1},
		{[]string{"-c", "nothing"}, "0\n", 1},
		{[]string{"--", "-v"}, "", 1},
	}
	for _, tt := range tests {
		res := run{stdin: []byte(in)}.exec(t, "grep", tt.args...)
		if string(res.stdout) != tt.want || res.exit != tt.exit {
			t.Errorf("grep %q: got %q exit %d, want %q exit %d (stderr %q)", tt.args, res.stdout, res.exit, tt.want, tt.exit, res.stderr)
		}
	}

	// Usage errors exit 2.
	for _, args := range [][]string{nil, {"-q", "x"}} {
		if res := (run{}).exec(t, "grep", args...); res.exit != 2 {
			t.Errorf("grep %q: exit %d, want 2", args, res.exit)
		}
	}

	// Files get a NAME: prefix when there are several; a missing file is
	// exit 2.
	r := run{files: map[string][]byte{"a": []byte("x1\ny\n"), "b": []byte("x2\n")}}
	if got := string(r.ok(t, "grep", "x", "/in/a", "/in/b")); got != "/in/a:x1\n/in/b:x2\n" {
		t.Errorf("files: got %q", got)
	}
	if got := string(r.ok(t, "grep", "-c", "x", "/in/a", "/in/b")); got != "/in/a:1\n/in/b:1\n" {
		t.Errorf("files -c: got %q", got)
	}
	if res := r.exec(t, "grep", "x", "/in/a", "/in/nope"); res.exit != 2 || string(res.stdout) != "/in/a:x1\n" {
		t.Errorf("missing file: exit %d stdout %q", res.exit, res.stdout)
	}

	// Lines far longer than the 64 KiB read buffer, and many lines, against
	// a Go reference.
	big := text(8, 3<<20)
	big = append(big, bytes.Repeat([]byte("y"), 200_000)...)
	big = append(big, []byte("needle\n")...)
	var want bytes.Buffer
	for line := range bytes.Lines(big) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		if bytes.Contains(bytes.ToLower(line), []byte("qz")) {
			want.Write(line)
			want.WriteByte('\n')
		}
	}
	if got := (run{stdin: big}).ok(t, "grep", "-i", "QZ"); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("big input: got %d bytes, want %d", len(got), want.Len())
	}
	if got := string(run{stdin: big}.ok(t, "grep", "-c", "y*needle$")); got != "1\n" {
		t.Errorf("long line: got %q", got)
	}
}

// ---- sum ----

func TestSum(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "0\n"},
		{"1\n2\n3\n", "6\n"},
		{"1\n\n  -2 \n+10", "9\n"},
		{"1.5\n2.25\n", "3.75\n"},
		{"9223372036854775807\n1\n", "9.22337203685478e+18\n"}, // overflow goes to float
		{"b\t1\na\t2\r\nb\t3\nc\t0.5\n", "a\t2\nb\t4\nc\t0.5\n"},
		{"x\ty\t1\nx\t2\nx\ty\t3\n", "x\t2\nx\ty\t4\n"}, // the key is all before the last tab
		{"k\t1\n5\n", "\t5\nk\t1\n"},                    // a keyless line sums under the empty key
		{"B\t1\na\t1\nA\t1\n", "A\t1\nB\t1\na\t1\n"},    // byte order
		{"3 7 32\n1 2 10\n", "4 9 42\n"},                // columns: what wc prints
		{"3 7 32\n5\n", "8 7 32\n"},                     // a short line adds to the first column
		{"1 2 x\n", ""},                                 // a bad column is an error (checked below)
	}
	for _, tt := range tests {
		if tt.want == "" {
			if res := (run{stdin: []byte(tt.in)}).exec(t, "sum"); res.exit != 1 {
				t.Errorf("sum %q: exit %d, want 1", tt.in, res.exit)
			}
			continue
		}
		if got := string(run{stdin: []byte(tt.in)}.ok(t, "sum")); got != tt.want {
			t.Errorf("sum %q: got %q, want %q", tt.in, got, tt.want)
		}
	}
	res := run{stdin: []byte("1\n2\nabc\n")}.exec(t, "sum")
	if res.exit != 1 || !strings.Contains(string(res.stderr), "line 3") {
		t.Errorf("bad number: exit %d stderr %q", res.exit, res.stderr)
	}

	// Many keys (the table grows), from files, against Go.
	r := rand.New(rand.NewPCG(9, 9))
	sums := map[string]int64{}
	var in bytes.Buffer
	for range 50_000 {
		k := fmt.Sprintf("key%d", r.IntN(5000))
		v := r.Int64N(2_000_000) - 1_000_000
		sums[k] += v
		fmt.Fprintf(&in, "%s\t%d\n", k, v)
	}
	var want strings.Builder
	for _, k := range slices.Sorted(maps.Keys(sums)) {
		fmt.Fprintf(&want, "%s\t%d\n", k, sums[k])
	}
	half := bytes.IndexByte(in.Bytes()[in.Len()/2:], '\n') + in.Len()/2 + 1
	files := map[string][]byte{"1.tsv": in.Bytes()[:half], "2.tsv": in.Bytes()[half:]}
	if got := string(run{files: files}.ok(t, "sum", "/in/1.tsv", "/in/2.tsv")); got != want.String() {
		t.Errorf("many keys: output differs (%d vs %d bytes)", len(got), want.Len())
	}
}

// ---- csvselect ----

const people = "name,age,city,note\r\n" +
	"alice,30,\"New York, NY\",\"said \"\"hi\"\"\"\r\n" +
	"bob,25,Paris,\"line1\nline2\"\r\n" +
	"\r\n" +
	"carol,100,Berlin,\n" +
	"\"dave\",9,,x\n" +
	"eve,abc,Rome" // a short row, no final newline

func TestCSVSelect(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		// No condition: everything, re-quoted only where needed.
		{[]string{"-H"}, "name,age,city,note\nalice,30,\"New York, NY\",\"said \"\"hi\"\"\"\nbob,25,Paris,\"line1\nline2\"\ncarol,100,Berlin,\ndave,9,,x\neve,abc,Rome\n"},
		{[]string{"-H", "--select", "name,city"}, "name,city\nalice,\"New York, NY\"\nbob,Paris\ncarol,Berlin\ndave,\neve,Rome\n"},
		{[]string{"--header", "--select", "4, 1"}, "note,name\n\"said \"\"hi\"\"\",alice\n\"line1\nline2\",bob\n,carol\nx,dave\n,eve\n"},
		// Each operator; age compares as a number where it is one.
		{[]string{"-H", "--where", "age = 30", "--select", "name"}, "name\nalice\n"},
		{[]string{"-H", "--where", "age == 30.0", "--select", "name"}, "name\nalice\n"},
		{[]string{"-H", "--where", "age != 30", "--select", "name"}, "name\nbob\ncarol\ndave\neve\n"},
		{[]string{"-H", "--where", "age < 25", "--select", "name"}, "name\ndave\n"},
		{[]string{"-H", "--where", "age <= 25", "--select", "name"}, "name\nbob\ndave\n"},
		{[]string{"-H", "--where", "age > 25", "--select", "name"}, "name\nalice\ncarol\neve\n"}, // "abc" > "25" as strings
		{[]string{"-H", "--where", "age >= 30", "--select", "name"}, "name\nalice\ncarol\neve\n"},
		{[]string{"-H", "--where", "city contains York", "--select", "name"}, "name\nalice\n"},
		{[]string{"-H", "--where", "note contains \"\"", "--select", "name"}, "name\nalice\nbob\ncarol\ndave\neve\n"},
		{[]string{"-H", "--where", "note contains line2", "--select", "name"}, "name\nbob\n"},
		// Strings compare byte-wise; quoted values keep spaces.
		{[]string{"-H", "--where", "name < c", "--select", "name"}, "name\nalice\nbob\n"},
		{[]string{"-H", "--where", "city = 'New York, NY'", "--select", "name"}, "name\nalice\n"},
		{[]string{"-H", "--where", "city=", "--select", "name"}, "name\ndave\n"},
		{[]string{"-H", "--where", "note = ''", "--select", "name"}, "name\ncarol\neve\n"}, // missing reads as empty
		// Several conditions all hold; columns by number.
		{[]string{"-H", "--where", "age>=9", "--where", "name != 'bob'", "--where=3 contains r", "--select=1"}, "name\nalice\ncarol\n"},
		// Without -H the header is a row like the others.
		{[]string{"--where", "2 < 26", "--select", "1,2"}, "bob,25\ndave,9\n"},
	}
	for _, tt := range tests {
		res := run{stdin: []byte(people)}.exec(t, "csvselect", tt.args...)
		if string(res.stdout) != tt.want || res.exit != 0 {
			t.Errorf("csvselect %q:\n got %q exit %d (stderr %q)\nwant %q", tt.args, res.stdout, res.exit, res.stderr, tt.want)
		}
	}

	// Other delimiters, and a file under /in.
	r := run{files: map[string][]byte{"t.tsv": []byte("k\tv\na\t1\nb\t2\n"), "s.csv": []byte("k;v\n\"a;1\";1\nb;2\n")}}
	if got := string(r.ok(t, "csvselect", "-H", "-d", "tab", "--where", "v > 1", "/in/t.tsv")); got != "k\tv\nb\t2\n" {
		t.Errorf("tab: got %q", got)
	}
	if got := string(r.ok(t, "csvselect", "-H", "-d", ";", "--where", "v = 1", "/in/s.csv")); got != "k;v\n\"a;1\";1\n" {
		t.Errorf("semicolon: got %q", got)
	}

	// Errors exit 2.
	for _, args := range [][]string{
		{"-H", "--where", "nosuch = 1"},
		{"--where", "name = 1"}, // names need -H
		{"-H", "--where", "age ~ 1"},
		{"-H", "--select", "0"},
		{"-d", ",,"},
		{"/in/missing"},
	} {
		if res := (run{stdin: []byte(people)}).exec(t, "csvselect", args...); res.exit != 2 || len(res.stderr) == 0 {
			t.Errorf("csvselect %q: exit %d stderr %q, want exit 2 and a message", args, res.exit, res.stderr)
		}
	}
}

// TestCSVSelectRandom checks csvselect against encoding/csv on random
// records full of quotes, delimiters and newlines.
func TestCSVSelectRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	alphabet := []string{"a", "b", "z", ",", "\"", "\n", " ", "1", "é"}
	word := func() string {
		var s strings.Builder
		for range r.IntN(8) {
			s.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return s.String()
	}
	var in bytes.Buffer
	w := csv.NewWriter(&in)
	w.Write([]string{"id", "n", "text", "more"})
	var want [][]string
	want = append(want, []string{"text", "id"})
	for i := range 5000 {
		n := r.IntN(100)
		rec := []string{strconv.Itoa(i), strconv.Itoa(n), word(), word()}
		w.Write(rec)
		if n >= 50 && strings.Contains(rec[2], "a") {
			want = append(want, []string{rec[2], rec[0]})
		}
	}
	w.Flush()
	out := run{stdin: in.Bytes()}.ok(t, "csvselect", "-H", "--where", "n >= 50", "--where", "text contains a", "--select", "text,id")
	got, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v", err)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("got %d records, want %d", len(got), len(want))
	}
}

// ---- thumbnail and watermark ----

// picture returns a w x h image with gradients and detail.
func picture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x ^ y) & 0xff), 255})
		}
	}
	return img
}

func encode(t *testing.T, img image.Image, format string) []byte {
	var b bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decode(t *testing.T, data []byte, wantFormat string) image.Image {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output does not decode: %v (%d bytes)", err, len(data))
	}
	if format != wantFormat {
		t.Fatalf("output is %s, want %s", format, wantFormat)
	}
	return img
}

func TestThumbnail(t *testing.T) {
	landscape := encode(t, picture(640, 480), "png")
	portrait := encode(t, picture(300, 600), "jpeg")
	small := encode(t, picture(50, 40), "png")
	tests := []struct {
		name         string
		r            run
		args         []string
		format       string
		wantW, wantH int
	}{
		{"default box", run{stdin: landscape}, nil, "png", 128, 96},
		{"jpeg stays jpeg", run{stdin: portrait}, nil, "jpeg", 64, 128},
		{"WxH argument", run{stdin: portrait}, []string{"64x64"}, "jpeg", 32, 64},
		{"-size and -format", run{stdin: landscape}, []string{"-size", "200x100", "-format", "jpeg"}, "jpeg", 133, 100},
		{"env", run{stdin: landscape, env: map[string]string{"SIZE": "32x32", "FORMAT": "jpg"}}, nil, "jpeg", 32, 24},
		{"file", run{files: map[string][]byte{"p.jpg": portrait}}, []string{"--format=png", "/in/p.jpg"}, "png", 64, 128},
		{"never enlarges", run{stdin: small}, nil, "png", 50, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := decode(t, tt.r.ok(t, "thumbnail", tt.args...), tt.format)
			if b := img.Bounds(); b.Dx() != tt.wantW || b.Dy() != tt.wantH {
				t.Errorf("got %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.wantW, tt.wantH)
			}
		})
	}
	// The picture is still the picture: the top-left corner of the
	// gradient is dark in red and green, the bottom-right bright.
	img := decode(t, run{stdin: landscape}.ok(t, "thumbnail"), "png")
	r0, g0, _, _ := img.At(1, 1).RGBA()
	r1, g1, _, _ := img.At(126, 94).RGBA()
	if r0 > 0x2000 || g0 > 0x2000 || r1 < 0xe000 || g1 < 0xe000 {
		t.Errorf("corners %x,%x and %x,%x do not look like the input", r0, g0, r1, g1)
	}

	for _, in := range [][]byte{nil, []byte("not an image")} {
		if res := (run{stdin: in}).exec(t, "thumbnail"); res.exit == 0 || len(res.stderr) == 0 {
			t.Errorf("bad input %q: exit %d stderr %q", in, res.exit, res.stderr)
		}
	}
	if res := (run{stdin: landscape}).exec(t, "thumbnail", "-size", "0x10"); res.exit == 0 {
		t.Errorf("bad size accepted")
	}
	// A tiny PNG that claims to be 100000x100000 is refused before decoding.
	if res := (run{stdin: bomb(t)}).exec(t, "thumbnail"); res.exit == 0 || !strings.Contains(string(res.stderr), "100000x100000") {
		t.Errorf("decompression bomb: exit %d stderr %q", res.exit, res.stderr)
	}
}

// bomb returns a 1x1 PNG whose header says it is 100000x100000.
func bomb(t *testing.T) []byte {
	b := encode(t, picture(1, 1), "png")
	ihdr := b[8+8 : 8+8+13] // after the signature and the chunk's length and type
	binary.BigEndian.PutUint32(ihdr[0:], 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	binary.BigEndian.PutUint32(b[8+8+13:], crc32.ChecksumIEEE(b[8+4:8+8+13]))
	return b
}

func TestWatermark(t *testing.T) {
	src := picture(320, 240)
	out := decode(t, run{stdin: encode(t, src, "png")}.ok(t, "watermark", "hi there"), "png")
	if out.Bounds() != src.Bounds() {
		t.Fatalf("size changed: %v -> %v", src.Bounds(), out.Bounds())
	}
	changed := 0
	for y := range 240 {
		for x := range 320 {
			r0, g0, b0, _ := src.At(x, y).RGBA()
			r1, g1, b1, _ := out.At(x, y).RGBA()
			if r0 == r1 && g0 == g1 && b0 == b1 {
				continue
			}
			changed++
			if x < 160 || y < 180 {
				t.Fatalf("pixel (%d,%d) changed, outside the bottom-right corner", x, y)
			}
		}
	}
	if changed < 50 {
		t.Errorf("only %d pixels changed", changed)
	}

	// JPEG in, JPEG out; text from $TEXT; from a file; scaled text on a
	// bigger image.
	jpg := encode(t, picture(800, 600), "jpeg")
	for _, tt := range []struct {
		r    run
		args []string
	}{
		{run{stdin: jpg, env: map[string]string{"TEXT": "(c) insitu"}}, nil},
		{run{files: map[string][]byte{"x.jpg": jpg}}, []string{"-opacity", "0.8", "hello", "/in/x.jpg"}},
	} {
		img := decode(t, tt.r.ok(t, "watermark", tt.args...), "jpeg")
		if img.Bounds().Dx() != 800 || img.Bounds().Dy() != 600 {
			t.Errorf("%q: size %v", tt.args, img.Bounds())
		}
	}
	if res := (run{stdin: []byte("nope")}).exec(t, "watermark", "x"); res.exit == 0 {
		t.Errorf("bad input accepted")
	}
}

// ---- services ----

func TestServices(t *testing.T) {
	if got := string(run{}.ok(t, "hello")); got != "Content-Type: text/plain\r\n\r\nhello\n" {
		t.Errorf("hello: got %q", got)
	}
	r := run{
		stdin: []byte("the body\nof the request"),
		env:   map[string]string{"REQUEST_METHOD": "POST", "PATH_INFO": "/x", "QUERY_STRING": "a=1&b=2", "HTTP_X_TEST": "yes"},
	}
	want := "Content-Type: text/plain\r\n\r\n" +
		"HTTP_X_TEST=yes\nPATH_INFO=/x\nQUERY_STRING=a=1&b=2\nREQUEST_METHOD=POST\n\n" +
		"the body\nof the request"
	if got := string(r.ok(t, "echo")); got != want {
		t.Errorf("echo: got %q, want %q", got, want)
	}
}

// ---- The committed builds ----

// TestCommittedBuilds checks that the committed C builds are current: it
// rebuilds each with clang-14 and wasi-libc (skipped when they are not
// installed), with the flags apps.mk uses, and compares.
func TestCommittedBuilds(t *testing.T) {
	dir := t.TempDir()
	probe := exec.Command("clang-14", "--target=wasm32-wasi", "--sysroot=/usr", "-x", "c", "-o", filepath.Join(dir, "probe.wasm"), "-")
	probe.Stdin = strings.NewReader("int main(void) { return 0; }\n")
	if err := probe.Run(); err != nil {
		t.Skipf("no clang-14 with wasi-libc: %v", err)
	}
	for _, app := range []string{"wc", "grep", "sha256", "upper", "sum", "csvselect", "hello", "echo", "notes"} {
		committed := appPath(t, app)
		out := filepath.Join(dir, app+".wasm")
		cmd := exec.Command("clang-14", "--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-Wall", "-Wextra", "-Werror",
			"-Wl,--strip-all", "-o", out, strings.TrimSuffix(committed, ".wasm")+".c")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", app, err, msg)
		}
		a, _ := os.ReadFile(committed)
		b, _ := os.ReadFile(out)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the committed build differs from its source; run make examples", committed)
		}
	}
}

// ---- Benchmarks ----

// BenchmarkThroughput runs wc and sha256 over 64 MiB of text on stdin under
// wazero (no WithCloseOnContextDone), against, on the same bytes in a file,
// the system's wc and sha256sum and the same C source compiled natively
// with cc -O2 (when cc is installed).
func BenchmarkThroughput(b *testing.B) {
	data := text(12, 64<<20)
	dir := b.TempDir()
	file := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Fatal(err)
	}
	native := func(b *testing.B, name string, args ...string) {
		if _, err := exec.LookPath(name); err != nil {
			b.Skip("no " + name)
		}
		b.SetBytes(int64(len(data)))
		for range b.N {
			cmd := exec.Command(name, args...)
			cmd.Env = append(os.Environ(), "LC_ALL=C")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	}
	for _, app := range []struct{ name, system string }{{"wc", "wc"}, {"sha256", "sha256sum"}} {
		b.Run(app.name+"/wazero", func(b *testing.B) {
			r := run{stdin: data}
			want := ""
			if app.name == "wc" {
				want = wcCount(data) + "\n"
			}
			r.ok(b, app.name) // compile outside the timing
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for range b.N {
				out := r.ok(b, app.name)
				if want != "" && string(out) != want {
					b.Fatalf("got %q, want %q", out, want)
				}
			}
		})
		b.Run(app.name+"/native-c", func(b *testing.B) {
			bin := filepath.Join(dir, app.name)
			if _, err := exec.LookPath("cc"); err != nil {
				b.Skip("no cc")
			}
			if msg, err := exec.Command("cc", "-O2", "-o", bin, filepath.Join(app.name, app.name+".c")).CombinedOutput(); err != nil {
				b.Fatalf("cc: %v\n%s", err, msg)
			}
			native(b, bin, file)
		})
		b.Run(app.name+"/"+app.system, func(b *testing.B) { native(b, app.system, file) })
	}
}
