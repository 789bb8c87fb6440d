package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes args in a fresh command tree and returns the exit status
// and what it wrote.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	isolateEnv(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"mb"}, "insitu: mb: expected s3://BUCKET..., got 0 argument(s) (see 'insitu mb --help')"},
		{[]string{"mb", "bucket"}, `expected s3://bucket[/key]`},
		{[]string{"mb", "s3://b/k"}, "without a key"},
		{[]string{"cp", "a"}, "expected SRC DST"},
		{[]string{"cp", "a", "b"}, "one of SRC and DST must be s3://"},
		{[]string{"rm", "s3://b"}, "names a bucket"},
		{[]string{"ls", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"cat", "s3://b"}, "expected s3://bucket/key"},
		{[]string{"nosuchcommand"}, `unknown command "nosuchcommand"`},
		{[]string{"server", "--log-format", "xml"}, "want text or json"},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, "", tt.args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tt.args, code, ExitUsage, errOut)
		}
		if !strings.HasPrefix(errOut, "insitu: ") || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: stderr %q, want it to contain %q", tt.args, errOut, tt.want)
		}
		if strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: stderr is not one line: %q", tt.args, errOut)
		}
		if out != "" {
			t.Errorf("%v: stdout %q, want nothing (no usage dump)", tt.args, out)
		}
	}
}

func TestMissingCredentials(t *testing.T) {
	isolateEnv(t)
	code, _, errOut := run(t, "", "ls")
	if code != ExitError || !strings.Contains(errOut, "insitu: no credentials") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	isolateEnv(t)
	code, _, errOut := run(t, "", "--endpoint", "http://127.0.0.1:1", "--access-key", "a", "--secret-key", "b", "mb", "s3://bkt")
	if code != ExitError || !strings.HasPrefix(errOut, "insitu: mb s3://bkt: ") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := run(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "insitu ") {
		t.Errorf("version: exit %d, out %q", code, out)
	}
	code, out, _ = run(t, "", "--help")
	if code != 0 || !strings.Contains(out, "cp") || !strings.Contains(out, "--endpoint") {
		t.Errorf("help: exit %d, out %q", code, out)
	}
}

func TestInterrupted(t *testing.T) {
	isolateEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var errb bytes.Buffer
	code := Main(ctx, []string{"--access-key", "a", "--secret-key", "b", "ls"}, Streams{Out: &bytes.Buffer{}, Err: &errb})
	if code != ExitInterrupted || errb.String() != "insitu: interrupted\n" {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

func TestConfigure(t *testing.T) {
	path := isolateEnv(t)
	writeConfig(t, path, "# mine\n[other]\nendpoint = http://other\n")
	// Endpoint from a flag; access key, secret key and region typed in.
	code, _, errOut := run(t, "AKTYPED\nSKTYPED\n\n", "configure", "--profile", "work", "--endpoint", "https://work:9000")
	if code != 0 {
		t.Fatalf("configure: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "access key ID [") {
		t.Errorf("no prompt on stderr: %q", errOut)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v, mode %v", err, fi.Mode())
	}
	t.Setenv("INSITU_PROFILE", "work")
	st, err := resolveArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	if st.Endpoint != "https://work:9000" || st.AccessKey != "AKTYPED" || st.SecretKey != "SKTYPED" || st.Region != DefaultRegion {
		t.Errorf("saved settings: %+v", st)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "# mine\n[other]\nendpoint = http://other\n") {
		t.Errorf("other content not kept:\n%s", data)
	}

	// Running again with empty answers keeps the values; stdin at EOF.
	if code, _, errOut := run(t, "", "configure"); code != 0 {
		t.Fatalf("configure again: exit %d: %s", code, errOut)
	}
	st, _ = resolveArgs(t)
	if st.AccessKey != "AKTYPED" || st.Endpoint != "https://work:9000" {
		t.Errorf("after re-run: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path))); err != nil {
		t.Error(err)
	}
}
