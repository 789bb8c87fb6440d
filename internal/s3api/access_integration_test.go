package s3api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// account is a test account: its S3 client, id and keys.
type account struct {
	s3     *s3.Client
	id     string
	ak, sk string
}

func newAccount(t *testing.T, node *apptest.Node, name string) account {
	t.Helper()
	ctx := context.Background()
	admin, err := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: node.AccessKey, SecretKey: node.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateUser(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: k.AccessKey, SecretKey: k.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	who, err := c.WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return account{s3: node.S3(k.AccessKey, k.SecretKey), id: who.ID, ak: k.AccessKey, sk: k.SecretKey}
}

// anon sends an unsigned request and returns its status and S3 error code.
func anon(t *testing.T, node *apptest.Node, method, path, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, node.Endpoint()+path, r)
	if err != nil {
		t.Fatal(err)
	}
	return s3Error(t, node.HTTPClient(), req)
}

func put(t *testing.T, c *s3.Client, bucket, key, body string, acl types.ObjectCannedACL) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body), ACL: acl})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

func putPolicy(t *testing.T, c *s3.Client, bucket, doc string) error {
	t.Helper()
	_, err := c.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(doc)})
	return err
}

func statement(effect, principal, action, resource, cond string) string {
	s := fmt.Sprintf(`{"Effect":%q,"Principal":%s,"Action":%s,"Resource":%s`, effect, principal, action, resource)
	if cond != "" {
		s += `,"Condition":` + cond
	}
	return s + "}"
}

func policyDoc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

// TestBucketPolicy: Put/Get/DeleteBucketPolicy through aws-sdk-go-v2 with
// S3's error codes, an anonymous GET allowed on a prefix only, an
// aws:SourceIp Deny that binds even the owner (who can still remove it),
// and a signed request with a bad signature never served as anonymous.
func TestBucketPolicy(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	alice := newAccount(t, node, "alice")
	if _, err := alice.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pics")}); err != nil {
		t.Fatal(err)
	}
	put(t, alice.s3, "pics", "public/a.txt", "hello", "")
	put(t, alice.s3, "pics", "private/b.txt", "secret", "")

	_, err := alice.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("pics")})
	wantCode(t, err, "NoSuchBucketPolicy")
	for _, bad := range []string{
		`{"Version":"2012-10-17"`,
		policyDoc(statement("Allow", `"*"`, `"s3:GetObject"`, `"arn:aws:s3:::pics/*"`, `{"StringAlmost":{"s3:prefix":"a"}}`)),
		policyDoc(statement("Allow", `"*"`, `"s3:GetObject"`, `"arn:aws:s3:::other/*"`, "")),
		policyDoc(statement("Allow", `{"AWS":"arn:aws:iam::not an id:root"}`, `"s3:GetObject"`, `"arn:aws:s3:::pics/*"`, "")),
	} {
		wantCode(t, putPolicy(t, alice.s3, "pics", bad), "MalformedPolicy")
	}
	if st, code := anon(t, node, "GET", "/pics/public/a.txt", ""); st != 403 || code != "AccessDenied" {
		t.Fatalf("anonymous GET before any policy: %d %s", st, code)
	}

	pub := policyDoc(statement("Allow", `"*"`, `"s3:GetObject"`, `"arn:aws:s3:::pics/public/*"`, ""))
	if err := putPolicy(t, alice.s3, "pics", pub); err != nil {
		t.Fatal(err)
	}
	got, err := alice.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("pics")})
	if err != nil || aws.ToString(got.Policy) != pub {
		t.Fatalf("GetBucketPolicy = %q, %v; want the document put", aws.ToString(got.Policy), err)
	}
	if st, code := anon(t, node, "GET", "/pics/public/a.txt", ""); st != 200 {
		t.Fatalf("anonymous GET of a public prefix: %d %s", st, code)
	}
	for _, path := range []string{"/pics/private/b.txt", "/pics?list-type=2", "/", "/pics?policy", "/pics/public/a.txt?x-insitu-run=wc", "/pics/public/a.txt?open"} {
		if st, code := anon(t, node, "GET", path, ""); st != 403 || code != "AccessDenied" {
			t.Fatalf("anonymous GET %s: %d %s, want 403 AccessDenied", path, st, code)
		}
	}
	if st, code := anon(t, node, "PUT", "/pics/public/new", "x"); st != 403 || code != "AccessDenied" {
		t.Fatalf("anonymous PUT under a GetObject grant: %d %s", st, code)
	}
	req := signedRequest(t, node, http.MethodGet, "/pics/public/a.txt", nil, alice.ak, "wrong", time.Now())
	if st, code := s3Error(t, node.HTTPClient(), req); st != 403 || code != "SignatureDoesNotMatch" {
		t.Fatalf("bad signature on a public object: %d %s", st, code)
	}

	deny := policyDoc(statement("Deny", `"*"`, `"s3:GetObject"`, `"arn:aws:s3:::pics/*"`, `{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`))
	if err := putPolicy(t, alice.s3, "pics", deny); err != nil {
		t.Fatal(err)
	}
	_, err = alice.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pics"), Key: aws.String("private/b.txt")})
	wantCode(t, err, "AccessDenied")
	if _, err := alice.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("pics")}); err != nil {
		t.Fatalf("the owner removes a policy that denies it: %v", err)
	}
	if _, err := alice.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pics"), Key: aws.String("private/b.txt")}); err != nil {
		t.Fatalf("GET after the Deny is gone: %v", err)
	}
	_, err = alice.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("pics")})
	wantCode(t, err, "NoSuchBucketPolicy")

	// A deleted bucket takes its policy along: the name's next owner starts clean.
	if err := putPolicy(t, alice.s3, "pics", pub); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"public/a.txt", "private/b.txt"} {
		if _, err := alice.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("pics"), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("pics")}); err != nil {
		t.Fatal(err)
	}
	root := node.S3("", "")
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pics")}); err != nil {
		t.Fatal(err)
	}
	put(t, root, "pics", "public/a.txt", "root's", "")
	_, err = root.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("pics")})
	wantCode(t, err, "NoSuchBucketPolicy")
	if st, _ := anon(t, node, "GET", "/pics/public/a.txt", ""); st != 403 {
		t.Fatalf("an old bucket's policy serves the new one: %d", st)
	}
}

// TestCrossAccountPolicy: bob may read, write and list in alice's bucket
// exactly where alice's policy names his account (by ARN with his id),
// within the prefix the condition allows; he never changes her policy or
// ACLs, and a third account gets nothing.
func TestCrossAccountPolicy(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	alice, bob, carol := newAccount(t, node, "alice"), newAccount(t, node, "bob"), newAccount(t, node, "carol")
	if _, err := alice.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	put(t, alice.s3, "shared", "team/doc", "v1", "")
	get := func(c *s3.Client, key string) error {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("shared"), Key: aws.String(key)})
		if err == nil {
			out.Body.Close()
		}
		return err
	}
	wantCode(t, get(bob.s3, "team/doc"), "AccessDenied")

	bobARN := fmt.Sprintf(`{"AWS":"arn:aws:iam::%s:root"}`, bob.id)
	doc := policyDoc(
		statement("Allow", bobARN, `["s3:GetObject","s3:PutObject"]`, `"arn:aws:s3:::shared/team/*"`, ""),
		statement("Allow", fmt.Sprintf(`{"AWS":[%q]}`, bob.id), `"s3:ListBucket"`, `"arn:aws:s3:::shared"`, `{"StringLike":{"s3:prefix":"team/*"}}`))
	if err := putPolicy(t, alice.s3, "shared", doc); err != nil {
		t.Fatal(err)
	}
	if err := get(bob.s3, "team/doc"); err != nil {
		t.Fatalf("bob GET under the grant: %v", err)
	}
	put(t, bob.s3, "shared", "team/from-bob", "hi", "")
	if _, err := bob.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("shared"), Prefix: aws.String("team/")}); err != nil {
		t.Fatalf("bob lists team/: %v", err)
	}
	_, err := bob.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("shared")})
	wantCode(t, err, "AccessDenied")
	_, err = bob.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared"), Key: aws.String("root-level"), Body: strings.NewReader("x")})
	wantCode(t, err, "AccessDenied")
	_, err = bob.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("shared"), Key: aws.String("team/doc")})
	wantCode(t, err, "AccessDenied")
	wantCode(t, get(carol.s3, "team/doc"), "AccessDenied")
	del, err := bob.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("shared"),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("team/doc")}}}})
	if err != nil || len(del.Errors) != 1 || aws.ToString(del.Errors[0].Code) != "AccessDenied" {
		t.Fatalf("bob DeleteObjects without s3:DeleteObject: %+v %v", del, err)
	}
	if err := get(alice.s3, "team/doc"); err != nil {
		t.Fatalf("object gone after a refused DeleteObjects: %v", err)
	}

	// Bob can never change who may do what in alice's bucket, even where
	// her policy grants him every action.
	all := policyDoc(doc[len(`{"Version":"2012-10-17","Statement":[`):len(doc)-2],
		statement("Allow", bobARN, `"s3:*"`, `"arn:aws:s3:::shared"`, `{"StringLike":{"s3:prefix":"team/*"}}`),
		statement("Allow", bobARN, `"*"`, `["arn:aws:s3:::shared","arn:aws:s3:::shared/team/*"]`, `{"Null":{"s3:prefix":"true"}}`))
	if err := putPolicy(t, alice.s3, "shared", all); err != nil {
		t.Fatal(err)
	}
	wantCode(t, putPolicy(t, bob.s3, "shared", policyDoc(statement("Allow", `"*"`, `"s3:*"`, `"arn:aws:s3:::shared/*"`, ""))), "AccessDenied")
	_, err = bob.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("shared")})
	wantCode(t, err, "AccessDenied")
	_, err = bob.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("shared")})
	wantCode(t, err, "AccessDenied")
	_, err = bob.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("shared"), ACL: types.BucketCannedACLPublicReadWrite})
	wantCode(t, err, "AccessDenied")
	_, err = bob.s3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String("shared"), Key: aws.String("team/doc"), ACL: types.ObjectCannedACLPublicRead})
	wantCode(t, err, "AccessDenied")
	_, err = bob.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared"), Key: aws.String("team/pub"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
	wantCode(t, err, "AccessDenied")
	_, err = bob.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("shared"), PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{}})
	wantCode(t, err, "AccessDenied")
	_, err = bob.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("shared")})
	wantCode(t, err, "AccessDenied")

	if _, err := alice.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, get(bob.s3, "team/doc"), "AccessDenied")
}
