package e2e

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// theKey is the object key every tool round-trips: it needs URL encoding in
// the path, in listings (encoding-type=url) and in SigV4's canonical URI.
const theKey = `&+-é"/x y`

// toolTimeout bounds one tool invocation.
const toolTimeout = 2 * time.Minute

type sample struct {
	name string
	size int
	path string
	data []byte
}

// samples writes the three files every tool round-trips.
func samples(t *testing.T) []sample {
	t.Helper()
	dir := t.TempDir()
	out := []sample{{name: "2KiB", size: 2 << 10}, {name: "5MiB", size: 5 << 20}, {name: "21MiB", size: 21 << 20}}
	for i := range out {
		out[i].path, out[i].data = randomFile(t, dir, out[i].name+".bin", out[i].size)
	}
	return out
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// ---- aws CLI ----

// awsBinaries returns every distinct aws CLI installed: the one first on
// PATH (here possibly pip's v1) and Debian's /usr/bin/aws (v2 from apt).
func awsBinaries(t *testing.T) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if _, err := os.Stat(p); err != nil {
			return
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			real = p
		}
		if !seen[real] {
			seen[real] = true
			out = append(out, p)
		}
	}
	if p, err := exec.LookPath("aws"); err == nil {
		add(p)
	}
	add("/usr/bin/aws")
	if len(out) == 0 {
		needTool(t, "aws") // skips or fails
	}
	return out
}

var awsVersionRE = regexp.MustCompile(`aws-cli/(\d+)\.(\d+)\.(\d+)`)

// TestAWSCLI round-trips the samples with `aws s3 cp` and with `aws s3api`
// (put/head/list/get/delete), over HTTP, and the 21 MiB file over TLS
// (where botocore sends aws-chunked bodies with checksum trailers), with
// every aws CLI installed (each in its own parallel subtest).
func TestAWSCLI(t *testing.T) {
	t.Parallel()
	bins := awsBinaries(t)
	files := samples(t)
	plain := startServer(t, serverOpts{})
	cert := newTestCert(t)
	secure := startServer(t, serverOpts{TLS: cert})
	t.Cleanup(func() {
		// After the parallel subtests: both servers must exit 0 on SIGTERM.
		plain.Stop()
		secure.Stop()
	})
	for i, bin := range bins {
		env := toolEnv(t, rootAK, rootSK)
		verOut, err := runTool(env, toolTimeout, bin, "--version")
		if err != nil {
			t.Fatalf("%s --version: %v", bin, err)
		}
		ver := awsVersionRE.FindString(verOut)
		if ver == "" {
			ver = "aws"
		}
		t.Logf("%s: %s", bin, strings.TrimSpace(verOut))
		t.Run(strings.ReplaceAll(ver, "/", "-"), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			bucket := fmt.Sprintf("e2e-aws-%d", i)
			a := awsRunner{t: t, bin: bin, env: env, endpoint: plain.Endpoint}
			a.run("s3", "mb", "s3://"+bucket)
			for j, f := range files {
				t.Run(f.name, func(t *testing.T) {
					a := a
					a.t = t
					awsS3Cp(a, bucket, f)
					awsS3api(a, bucket, f, j == 0)
				})
			}
			// rb without --force fails unless delete-object emptied it.
			a.run("s3", "rb", "s3://"+bucket)

			// Over TLS botocore sends aws-chunked bodies with trailers.
			// Trust the test CA through AWS_CA_BUNDLE for s3 cp, and use
			// --no-verify-ssl for s3api.
			tenv := append(append([]string(nil), env...), "AWS_CA_BUNDLE="+cert.CAFile)
			ta := awsRunner{t: t, bin: bin, env: tenv, endpoint: secure.Endpoint}
			tb := fmt.Sprintf("e2e-aws-tls-%d", i)
			ta.run("s3", "mb", "s3://"+tb)
			big := files[len(files)-1]
			t.Run("tls-"+big.name, func(t *testing.T) {
				ta := ta
				ta.t = t
				url := "s3://" + tb + "/" + theKey
				ta.run("s3", "cp", "--no-progress", "--only-show-errors", big.path, url)
				out := filepath.Join(t.TempDir(), "tls-s3cp.bin")
				ta.run("s3", "cp", "--no-progress", "--only-show-errors", url, out)
				checkFile(t, "tls: aws s3 cp download", out, big.data)

				nv := awsRunner{t: t, bin: bin, env: env, endpoint: secure.Endpoint, extra: []string{"--no-verify-ssl"}}
				wantETag := `"` + md5hex(big.data) + `"`
				var put struct{ ETag string }
				nv.json(&put, "s3api", "put-object", "--bucket", tb, "--key", theKey, "--body", big.path)
				if put.ETag != wantETag {
					t.Errorf("tls: put-object ETag %s, want %s", put.ETag, wantETag)
				}
				out = filepath.Join(t.TempDir(), "tls-getobject.bin")
				var get struct {
					ContentLength int64
					ETag          string
				}
				nv.json(&get, "s3api", "get-object", "--bucket", tb, "--key", theKey, out)
				if get.ContentLength != int64(big.size) || get.ETag != wantETag {
					t.Errorf("tls: get-object: ContentLength %d ETag %s, want %d %s", get.ContentLength, get.ETag, big.size, wantETag)
				}
				checkFile(t, "tls: aws s3api get-object", out, big.data)
				nv.run("s3api", "delete-object", "--bucket", tb, "--key", theKey)
			})
			ta.run("s3", "rb", "s3://"+tb)
			t.Logf("%s: %v", ver, time.Since(start).Round(time.Millisecond))
		})
	}
}

type awsRunner struct {
	t        *testing.T
	bin      string
	env      []string
	endpoint string
	extra    []string
}

func (a awsRunner) run(args ...string) string {
	a.t.Helper()
	full := append([]string{"--endpoint-url", a.endpoint}, a.extra...)
	return mustRun(a.t, a.env, toolTimeout, a.bin, append(full, args...)...)
}

func (a awsRunner) json(v any, args ...string) {
	a.t.Helper()
	out := a.run(append(args, "--output", "json")...)
	if strings.TrimSpace(out) == "" {
		out = "{}" // aws CLI v2 prints nothing for an empty result
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		a.t.Fatalf("aws %s: bad JSON output: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// awsS3Cp uploads with `aws s3 cp` (multipart above 8 MiB), lists with
// `aws s3 ls --recursive`, downloads and compares.
func awsS3Cp(a awsRunner, bucket string, f sample) {
	t := a.t
	t.Helper()
	url := "s3://" + bucket + "/" + theKey
	a.run("s3", "cp", "--no-progress", "--only-show-errors", f.path, url)
	ls := a.run("s3", "ls", "--recursive", "s3://"+bucket+"/")
	found := false
	for _, line := range strings.Split(strings.TrimSpace(ls), "\n") {
		// "2026-11-10 10:00:00    2048 &+-é\"/x y"
		fields := strings.Fields(line)
		if len(fields) < 4 {
			continue
		}
		idx := strings.Index(line, fields[2]+" ")
		name := line[idx+len(fields[2])+1:]
		if name != theKey {
			t.Errorf("aws s3 ls: unexpected key %q in %q", name, line)
			continue
		}
		found = true
		if size, _ := strconv.Atoi(fields[2]); size != f.size {
			t.Errorf("aws s3 ls: size %s, want %d (%q)", fields[2], f.size, line)
		}
	}
	if !found {
		t.Errorf("aws s3 ls: key %q not listed:\n%s", theKey, ls)
	}
	out := filepath.Join(t.TempDir(), "s3cp.bin")
	a.run("s3", "cp", "--no-progress", "--only-show-errors", url, out)
	checkFile(t, "aws s3 cp download", out, f.data)
}

// awsS3api does put-object (one PUT of the whole file), head-object,
// list-objects-v2, get-object and delete-object.
func awsS3api(a awsRunner, bucket string, f sample, prefixList bool) {
	t := a.t
	t.Helper()
	wantETag := `"` + md5hex(f.data) + `"`
	var put struct{ ETag string }
	a.json(&put, "s3api", "put-object", "--bucket", bucket, "--key", theKey, "--body", f.path)
	if put.ETag != wantETag {
		t.Errorf("put-object ETag %s, want %s", put.ETag, wantETag)
	}
	var head struct {
		ContentLength int64
		ETag          string
	}
	a.json(&head, "s3api", "head-object", "--bucket", bucket, "--key", theKey)
	if head.ContentLength != int64(f.size) || head.ETag != wantETag {
		t.Errorf("head-object: ContentLength %d ETag %s, want %d %s", head.ContentLength, head.ETag, f.size, wantETag)
	}
	var list struct {
		Contents []struct {
			Key  string
			Size int64
			ETag string
		}
	}
	a.json(&list, "s3api", "list-objects-v2", "--bucket", bucket)
	if len(list.Contents) != 1 || list.Contents[0].Key != theKey || list.Contents[0].Size != int64(f.size) {
		t.Errorf("list-objects-v2: got %+v, want one object %q of %d bytes", list.Contents, theKey, f.size)
	}
	if prefixList {
		// A prefix that needs encoding, and a delimiter.
		var pl struct {
			CommonPrefixes []struct{ Prefix string }
		}
		a.json(&pl, "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "&+-é", "--delimiter", "/")
		if len(pl.CommonPrefixes) != 1 || pl.CommonPrefixes[0].Prefix != `&+-é"/` {
			t.Errorf("list-objects-v2 --prefix &+-é --delimiter /: CommonPrefixes %+v, want [&+-é\"/]", pl.CommonPrefixes)
		}
	}
	out := filepath.Join(t.TempDir(), "getobject.bin")
	var get struct {
		ContentLength int64
		ETag          string
	}
	a.json(&get, "s3api", "get-object", "--bucket", bucket, "--key", theKey, out)
	if get.ContentLength != int64(f.size) || get.ETag != wantETag {
		t.Errorf("get-object: ContentLength %d ETag %s, want %d %s", get.ContentLength, get.ETag, f.size, wantETag)
	}
	checkFile(t, "aws s3api get-object", out, f.data)
	a.run("s3api", "delete-object", "--bucket", bucket, "--key", theKey)
}

// ---- rclone ----

// TestRclone round-trips the samples with rclone (s3 backend, provider
// Other, path style, from a temporary config file; multipart above 5 MiB).
func TestRclone(t *testing.T) {
	t.Parallel()
	bin := needTool(t, "rclone")
	files := samples(t)
	srv := startServer(t, serverOpts{})
	start := time.Now()
	home := t.TempDir()
	conf := filepath.Join(home, "rclone.conf")
	cfg := strings.Join([]string{
		"[e2e]",
		"type = s3",
		"provider = Other",
		"env_auth = false",
		"access_key_id = " + rootAK,
		"secret_access_key = " + rootSK,
		"endpoint = " + srv.Endpoint,
		"region = us-east-1",
		"force_path_style = true",
		"upload_cutoff = 5M",
		"chunk_size = 5M",
		"",
	}, "\n")
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := toolEnv(t, "", "", "RCLONE_CONFIG="+conf)
	rc := func(t *testing.T, args ...string) string {
		t.Helper()
		full := append([]string{"--config", conf, "--retries", "1", "--low-level-retries", "1"}, args...)
		return mustRun(t, env, toolTimeout, bin, full...)
	}
	const bucket = "e2e-rclone"
	remote := "e2e:" + bucket + "/" + theKey
	rc(t, "mkdir", "e2e:"+bucket)
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			rc(t, "copyto", f.path, remote)
			ls := rc(t, "lsf", "-R", "--files-only", "--format", "sp", "--separator", "\t", "e2e:"+bucket)
			want := fmt.Sprintf("%d\t%s", f.size, theKey)
			if strings.TrimSpace(ls) != want {
				t.Errorf("rclone lsf: got %q, want %q", ls, want)
			}
			got := rc(t, "cat", remote)
			checkBytes(t, "rclone cat", []byte(got), f.data)
			out := filepath.Join(t.TempDir(), "rclone.bin")
			rc(t, "copyto", remote, out)
			checkFile(t, "rclone copyto download", out, f.data)
			rc(t, "deletefile", remote)
			if ls := rc(t, "lsf", "-R", "e2e:"+bucket); strings.TrimSpace(ls) != "" {
				t.Errorf("rclone lsf after deletefile: %q, want nothing", ls)
			}
		})
	}
	rc(t, "rmdir", "e2e:"+bucket)
	t.Logf("rclone: %v", time.Since(start).Round(time.Millisecond))
	srv.Stop()
}

// ---- s3cmd ----

// TestS3cmd round-trips the samples with s3cmd (SigV4, path style, from a
// temporary config file; multipart above 5 MiB).
func TestS3cmd(t *testing.T) {
	t.Parallel()
	bin := needTool(t, "s3cmd")
	files := samples(t)
	srv := startServer(t, serverOpts{})
	start := time.Now()
	home := t.TempDir()
	conf := filepath.Join(home, "s3cfg")
	cfg := strings.Join([]string{
		"[default]",
		"access_key = " + rootAK,
		"secret_key = " + rootSK,
		"host_base = " + srv.Addr,
		"host_bucket = " + srv.Addr,
		"use_https = False",
		"signature_v2 = False",
		"bucket_location = us-east-1",
		"multipart_chunk_size_mb = 5",
		"progress_meter = False",
		"",
	}, "\n")
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := toolEnv(t, "", "")
	s3 := func(t *testing.T, args ...string) string {
		t.Helper()
		return mustRun(t, env, toolTimeout, bin, append([]string{"-c", conf}, args...)...)
	}
	const bucket = "e2e-s3cmd"
	url := "s3://" + bucket + "/" + theKey
	s3(t, "mb", "s3://"+bucket)
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			s3(t, "put", "--no-progress", f.path, url)
			ls := s3(t, "ls", "--recursive", "s3://"+bucket)
			found := false
			for _, line := range strings.Split(strings.TrimSpace(ls), "\n") {
				// "2026-11-10 10:00         2048  s3://e2e-s3cmd/&+-é\"/x y"
				i := strings.Index(line, "s3://")
				if i < 0 {
					continue
				}
				if line[i:] != url {
					t.Errorf("s3cmd ls: unexpected entry %q", line)
					continue
				}
				found = true
				fields := strings.Fields(line[:i])
				if len(fields) == 0 || fields[len(fields)-1] != strconv.Itoa(f.size) {
					t.Errorf("s3cmd ls: %q, want size %d", line, f.size)
				}
			}
			if !found {
				t.Errorf("s3cmd ls: %q not listed:\n%s", url, ls)
			}
			out := filepath.Join(t.TempDir(), "s3cmd.bin")
			s3(t, "get", "--no-progress", "--force", url, out)
			checkFile(t, "s3cmd get", out, f.data)
			s3(t, "del", url)
			if ls := s3(t, "ls", "--recursive", "s3://"+bucket); strings.TrimSpace(ls) != "" {
				t.Errorf("s3cmd ls after del: %q, want nothing", ls)
			}
		})
	}
	s3(t, "rb", "s3://"+bucket)
	t.Logf("s3cmd: %v", time.Since(start).Round(time.Millisecond))
	srv.Stop()
}
