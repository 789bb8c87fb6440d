package s3api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// boto3Post signs a POST policy with boto3's generate_presigned_post,
// whose conditions use the {"field": "value"} form minio-go never sends.
// Its second argument is the signature version: s3v4, or s3 (SigV2:
// AWSAccessKeyId, policy and signature fields).
const boto3Post = `
import json, sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
    config=Config(signature_version=sys.argv[2], s3={"addressing_style": "path"}))
print(json.dumps(s3.generate_presigned_post("boto", "up/${filename}",
    Fields={"Content-Type": "text/plain", "success_action_status": "201"},
    Conditions=[{"Content-Type": "text/plain"}, {"success_action_status": "201"},
        ["starts-with", "$key", "up/"], ["content-length-range", 1, 100]],
    ExpiresIn=600)))
`

// TestPostObjectBoto3 uploads with forms boto3 signed, SigV4 and SigV2:
// stored when it keeps to the policy, refused (and not stored) past its
// length range or with a signature that does not match.
func TestPostObjectBoto3(t *testing.T) {
	py := testtool.Need(t, "python3", "python3")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		testtool.Missing(t, "python3 cannot import boto3 (apt-get install python3-boto3; .ci/run installs it)")
	}
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("boto")}); err != nil {
		t.Fatal(err)
	}
	for _, sigv := range []string{"s3v4", "s3"} {
		t.Run(sigv, func(t *testing.T) { boto3PostUpload(t, py, node, sigv) })
	}
}

func boto3PostUpload(t *testing.T, py string, node *apptest.Node, sigv string) {
	ctx := context.Background()
	c := node.S3("", "")
	cmd := exec.Command(py, "-c", boto3Post, node.Endpoint(), sigv)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+node.AccessKey, "AWS_SECRET_ACCESS_KEY="+node.SecretKey, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v", err)
	}
	var post struct {
		URL    string            `json:"url"`
		Fields map[string]string `json:"fields"`
	}
	if err := json.Unmarshal(out, &post); err != nil {
		t.Fatalf("boto3 printed %s: %v", out, err)
	}
	if _, v2 := post.Fields["AWSAccessKeyId"]; v2 != (sigv == "s3") {
		t.Fatalf("boto3 %s form fields %v", sigv, post.Fields)
	}
	name := sigv + ".txt"
	resp := postUpload(t, node, post.URL, post.Fields, name, []byte("from boto3"), "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("boto3 form: %d", resp.StatusCode)
	}
	o, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("boto"), Key: aws.String("up/" + name)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(o.Body)
	o.Body.Close()
	if string(got) != "from boto3" || aws.ToString(o.ContentType) != "text/plain" {
		t.Fatalf("stored %q as %q", got, aws.ToString(o.ContentType))
	}
	resp = postUpload(t, node, post.URL, post.Fields, "big.txt", bytes.Repeat([]byte("x"), 101), "")
	if code, _ := errorCode(t, resp); code != "EntityTooLarge" {
		t.Fatalf("101 bytes past a range of 1..100: %d %s", resp.StatusCode, code)
	}
	forged := maps.Clone(post.Fields)
	for _, f := range []string{"signature", "x-amz-signature"} {
		if _, ok := forged[f]; ok {
			forged[f] = "AAAA" + forged[f][4:]
		}
	}
	resp = postUpload(t, node, post.URL, forged, "forged.txt", []byte("x"), "")
	if code, _ := errorCode(t, resp); code != "SignatureDoesNotMatch" {
		t.Fatalf("forged signature: %d %s", resp.StatusCode, code)
	}
	for _, k := range []string{"up/big.txt", "up/forged.txt"} {
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("boto"), Key: aws.String(k)}); err == nil {
			t.Fatalf("refused upload %s stored", k)
		}
	}
}
