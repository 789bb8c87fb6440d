package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// exampleWasm reads a committed example app module.
func exampleWasm(t *testing.T, name string) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "examples", "apps", name, name+".wasm"))
	if err != nil {
		t.Fatalf("example app %s: %v", name, err)
	}
	return b
}

// withQuery adds a query parameter to an SDK request before it is signed.
func withQuery(k, v string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Build.Add(middleware.BuildMiddlewareFunc("insituQuery", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					q := req.URL.Query()
					q.Add(k, v)
					req.URL.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
				}
				return next.HandleBuild(ctx, in)
			}), middleware.After)
		})
	}
}

func apiClient(t *testing.T, node *apptest.Node, ak, sk string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: ak, SecretKey: sk, HTTPClient: node.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestComputeOnObjects(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	root := apiClient(t, node, node.AccessKey, node.SecretKey)
	s3c := node.S3("", "")

	if _, err := root.PushApp(ctx, "upper", "1.0.0", exampleWasm(t, "upper"), nil, false); err != nil {
		t.Fatalf("push upper: %v", err)
	}
	if _, err := root.PushApp(ctx, "wc", "", exampleWasm(t, "wc"), map[string]any{"description": "word count"}, true); err != nil {
		t.Fatalf("push wc: %v", err)
	}
	// A module that imports a host function that does not exist is refused.
	bad := []byte("\x00asm\x01\x00\x00\x00" + // header
		"\x01\x04\x01\x60\x00\x00" + // type section: () -> ()
		"\x02\x0b\x01\x03env\x03bad\x00\x00" + // import env.bad
		"\x03\x02\x01\x00" + // one function of type 0
		"\x07\x0a\x01\x06_start\x00\x01" + // export _start
		"\x0a\x04\x01\x02\x00\x0b") // code
	if _, err := root.PushApp(ctx, "bad", "1", bad, nil, false); !client.IsCode(err, "InvalidModule") {
		t.Fatalf("push of a module importing env.bad: %v", err)
	}

	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")}); err != nil {
		t.Fatal(err)
	}
	text := "hello world\nthe quick brown fox\n"
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("doc.txt"),
		Body: strings.NewReader(text), ContentType: aws.String("text/plain")}); err != nil {
		t.Fatal(err)
	}

	t.Run("run with stdin object", func(t *testing.T) {
		var out, errb bytes.Buffer
		rec, err := root.Run(ctx, client.RunSpec{App: "wc", Stdin: "s3://data/doc.txt"}, &out, &errb)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != "exited" || rec.ExitCode != 0 || strings.Fields(out.String())[0] != "2" || strings.Fields(out.String())[2] != "32" {
			t.Fatalf("wc: record %+v stdout %q stderr %q", rec, out.String(), errb.String())
		}
		if rec.StdinBytes != int64(len(text)) || rec.App != "root/wc:"+rec.App[strings.LastIndex(rec.App, ":")+1:] {
			t.Fatalf("record accounting: %+v", rec)
		}
		got, err := root.GetRun(ctx, rec.ID)
		if err != nil || got.ID != rec.ID {
			t.Fatalf("GetRun: %v %v", got, err)
		}
	})

	t.Run("run with input file and stdout object", func(t *testing.T) {
		rec, err := root.Run(ctx, client.RunSpec{App: "upper", Stdin: "s3://data/doc.txt", Stdout: "s3://data/out/upper.txt"}, io.Discard, io.Discard)
		if err != nil || rec.ExitCode != 0 {
			t.Fatalf("upper: %+v %v", rec, err)
		}
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("out/upper.txt")})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		if string(b) != strings.ToUpper(text) {
			t.Fatalf("stdout object %q", b)
		}
		var out bytes.Buffer
		rec, err = root.Run(ctx, client.RunSpec{App: "wc", Args: []string{"/in/x/doc.txt"},
			Inputs: []client.RunInput{{Object: "s3://data/doc.txt", Path: "/in/x/doc.txt"}}}, &out, io.Discard)
		if err != nil || rec.ExitCode != 0 || !strings.Contains(out.String(), "32") {
			t.Fatalf("wc /in file: %+v %q %v", rec, out.String(), err)
		}
	})

	t.Run("transform on GET", func(t *testing.T) {
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("doc.txt")}, withQuery("x-insitu-run", "upper"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(b) != strings.ToUpper(text) {
			t.Fatalf("transform: %q", b)
		}
		// Through a presigned URL, by any HTTP client.
		ps := s3.NewPresignClient(s3c)
		pre, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("doc.txt")},
			func(po *s3.PresignOptions) {
				po.ClientOptions = append(po.ClientOptions, withQuery("x-insitu-run", "wc"))
			})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := node.HTTPClient().Get(pre.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(strings.Fields(string(b))) < 3 || strings.Fields(string(b))[1] != "6" {
			t.Fatalf("presigned transform: %d %q", resp.StatusCode, b)
		}
		// An unknown app is an S3 XML error.
		_, err = s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("doc.txt")}, withQuery("x-insitu-run", "nope"))
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchApp" {
			t.Fatalf("unknown app: %v", err)
		}
	})

	t.Run("open-with", func(t *testing.T) {
		_, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("doc.txt")}, withQuery("open", ""))
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "NoOpenWith" {
			t.Fatalf("open without binding: %v", err)
		}
		if _, err := root.SetOpenWith(ctx, "data", "text/*", "upper"); err != nil {
			t.Fatal(err)
		}
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("doc.txt")}, withQuery("open", ""))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(b) != strings.ToUpper(text) {
			t.Fatalf("open-with: %q", b)
		}
	})

	t.Run("run on write", func(t *testing.T) {
		body := []byte("make me loud\n")
		req, _ := http.NewRequest(http.MethodPost, node.Endpoint()+"/data/loud.txt?x-insitu-run=upper", bytes.NewReader(body))
		signRaw(t, node, req, body)
		resp, err := node.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("x-insitu-run-id") == "" {
			t.Fatalf("run on write: %d %s", resp.StatusCode, msg)
		}
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("loud.txt")})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		if string(b) != "MAKE ME LOUD\n" {
			t.Fatalf("written object %q", b)
		}
	})

	t.Run("cross account", func(t *testing.T) {
		k, err := root.CreateUser(ctx, "mallory")
		if err != nil {
			t.Fatal(err)
		}
		m := apiClient(t, node, k.AccessKey, k.SecretKey)
		// Reading another account's object is refused before anything runs.
		_, err = m.Run(ctx, client.RunSpec{App: "wc", Stdin: "s3://data/doc.txt"}, io.Discard, io.Discard)
		if !client.IsCode(err, "AccessDenied") {
			t.Fatalf("cross-account stdin: %v", err)
		}
		if runs, err := m.ListRuns(ctx, 10); err != nil || len(runs) != 0 {
			t.Fatalf("a refused run left records: %v %v", runs, err)
		}
		// root's private app is invisible; its public app runs on mallory's own data.
		if _, err := m.Run(ctx, client.RunSpec{App: "root/upper", StdinData: "x"}, io.Discard, io.Discard); !client.IsCode(err, "NoSuchApp") {
			t.Fatalf("private app of another account: %v", err)
		}
		var out bytes.Buffer
		rec, err := m.Run(ctx, client.RunSpec{App: "root/wc", StdinData: "a b c\n"}, &out, io.Discard)
		if err != nil || rec.ExitCode != 0 || strings.Fields(out.String())[1] != "3" {
			t.Fatalf("public app: %+v %q %v", rec, out.String(), err)
		}
		ms3 := node.S3(k.AccessKey, k.SecretKey)
		_, err = ms3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("doc.txt")}, withQuery("x-insitu-run", "root/wc"))
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
			t.Fatalf("cross-account transform: %v", err)
		}
		policyGrantsCompute(t, node, m)
	})

	t.Run("account caps", func(t *testing.T) {
		k, err := root.CreateUser(ctx, "capped")
		if err != nil {
			t.Fatal(err)
		}
		cc := apiClient(t, node, k.AccessKey, k.SecretKey)
		// A ceiling below what wc needs to start: asking for more does not help.
		if err := root.SetCaps(ctx, "capped", map[string]string{"memory": "64KiB"}); err != nil {
			t.Fatal(err)
		}
		rec, err := cc.Run(ctx, client.RunSpec{App: "wc", StdinData: "a b\n", Limits: map[string]string{"memory": "64MiB"}}, io.Discard, io.Discard)
		if err != nil || rec.Status != "memory" {
			t.Fatalf("capped run: %+v %v", rec, err)
		}
		if err := cc.SetCaps(ctx, "capped", map[string]string{}); !client.IsCode(err, "AccessDenied") {
			t.Fatalf("an account set its own caps: %v", err)
		}
		if err := root.SetCaps(ctx, "capped", map[string]string{}); err != nil {
			t.Fatal(err)
		}
		if rec, err := cc.Run(ctx, client.RunSpec{App: "wc", StdinData: "a b\n"}, io.Discard, io.Discard); err != nil || rec.ExitCode != 0 {
			t.Fatalf("after clearing caps: %+v %v", rec, err)
		}
		if err := root.SetCaps(ctx, "capped", map[string]string{"memory": "lots"}); !client.IsCode(err, "InvalidCaps") {
			t.Fatalf("bad caps: %v", err)
		}
	})

	t.Run("runs ls", func(t *testing.T) {
		list, err := root.ListRuns(ctx, 100)
		if err != nil || len(list) < 6 {
			t.Fatalf("ListRuns: %d %v", len(list), err)
		}
		for i := 1; i < len(list); i++ {
			if list[i].Start.After(list[i-1].Start.Add(time.Millisecond)) {
				t.Fatalf("runs not newest first")
			}
		}
	})
}

func signRaw(t *testing.T, node *apptest.Node, req *http.Request, body []byte) {
	t.Helper()
	ph := sha256hex(body)
	req.Header.Set("x-amz-content-sha256", ph)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: node.AccessKey, SecretAccessKey: node.SecretKey},
		req, ph, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// policyGrantsCompute: once root's bucket policy grants m's account
// s3:GetObject on data/shared/*, m's runs read those objects (stdin and
// /in) and nothing else of root's; writing into root's bucket stays
// refused, and a Deny of plain HTTP (what a run's read counts as) wins.
func policyGrantsCompute(t *testing.T, node *apptest.Node, m *client.Client) {
	ctx := context.Background()
	s3c := node.S3("", "")
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("shared/words"),
		Body: strings.NewReader("one two three four\n")}); err != nil {
		t.Fatal(err)
	}
	who, err := m.WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	grant := fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::data/shared/*"}`, who.ID)
	putPolicy := func(statements ...string) {
		doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
		if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("data"), Policy: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	putPolicy(grant)
	var out bytes.Buffer
	rec, err := m.Run(ctx, client.RunSpec{App: "root/wc", Stdin: "s3://data/shared/words"}, &out, io.Discard)
	if err != nil || rec.ExitCode != 0 || strings.Fields(out.String())[1] != "4" {
		t.Fatalf("granted stdin: %+v %q %v", rec, out.String(), err)
	}
	if _, err := m.Run(ctx, client.RunSpec{App: "root/wc", Inputs: []client.RunInput{{Object: "s3://data/shared/words"}}}, io.Discard, io.Discard); err != nil {
		t.Fatalf("granted /in input: %v", err)
	}
	for what, spec := range map[string]client.RunSpec{
		"ungranted key":             {App: "root/wc", Stdin: "s3://data/doc.txt"},
		"ungranted input":           {App: "root/wc", Inputs: []client.RunInput{{Object: "s3://data/doc.txt"}}},
		"write into granted bucket": {App: "root/wc", Stdin: "s3://data/shared/words", Stdout: "s3://data/shared/out"},
	} {
		if _, err := m.Run(ctx, spec, io.Discard, io.Discard); !client.IsCode(err, "AccessDenied") {
			t.Fatalf("%s: %v", what, err)
		}
	}
	putPolicy(grant, `{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::data/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)
	if _, err := m.Run(ctx, client.RunSpec{App: "root/wc", Stdin: "s3://data/shared/words"}, io.Discard, io.Discard); !client.IsCode(err, "AccessDenied") {
		t.Fatalf("read under a Deny of plain HTTP: %v", err)
	}
	if _, err := s3c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("data")}); err != nil {
		t.Fatal(err)
	}
}
