package ec2api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// send signs a request to /services/compute for service (GET: the form as
// the query; POST: as the body) and returns the status and body.
func send(t *testing.T, n *apptest.Node, method, service string, form url.Values) (int, string) {
	t.Helper()
	return sendTo(t, n, "/services/compute", method, service, form)
}

func sendTo(t *testing.T, n *apptest.Node, path, method, service string, form url.Values) (int, string) {
	t.Helper()
	u := n.Endpoint() + path
	var body string
	if method == http.MethodGet {
		u += "?" + form.Encode()
	} else {
		body = form.Encode()
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: n.AccessKey, SecretAccessKey: n.SecretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, n.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := n.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type errorDoc struct {
	XMLName xml.Name `xml:"Response"`
	Errors  []struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Errors>Error"`
	RequestID string `xml:"RequestID"`
}

func wantErrorDoc(t *testing.T, status int, body string, wantStatus int, code string) {
	t.Helper()
	var d errorDoc
	if err := xml.Unmarshal([]byte(body), &d); err != nil || status != wantStatus || len(d.Errors) != 1 ||
		d.Errors[0].Code != code || d.Errors[0].Message == "" || d.RequestID == "" {
		t.Fatalf("want %d %s in EC2's error format, got %d %s", wantStatus, code, status, body)
	}
}

// TestQueryProtocol: GET and POST forms, the response namespace and
// requestId, and EC2's error document for unknown actions, missing
// parameters, bad indexes and a signature for the wrong service.
func TestQueryProtocol(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	form := url.Values{"Action": {"DescribeRegions"}, "Version": {"2016-11-15"}}
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		st, body := send(t, node, m, "ec2", form)
		var doc struct {
			XMLName   xml.Name
			RequestID string `xml:"requestId"`
			Region    string `xml:"regionInfo>item>regionName"`
		}
		if err := xml.Unmarshal([]byte(body), &doc); err != nil || st != 200 || doc.XMLName.Local != "DescribeRegionsResponse" ||
			doc.XMLName.Space != "http://ec2.amazonaws.com/doc/2016-11-15/" || doc.RequestID == "" || doc.Region != node.Region {
			t.Fatalf("%s: %d %s (%+v)", m, st, body, doc)
		}
	}
	if st, body := sendTo(t, node, "/services/compute/", http.MethodPost, "ec2", form); st != 200 || !strings.Contains(body, "<regionName>") {
		t.Fatalf("with a trailing slash: %d %s", st, body)
	}
	st, body := send(t, node, http.MethodPost, "ec2", url.Values{"Action": {"LaunchRockets"}, "Version": {"2016-11-15"}})
	wantErrorDoc(t, st, body, 400, "InvalidAction")
	st, body = send(t, node, http.MethodPost, "ec2", url.Values{"Action": {"CreateSecurityGroup"}, "Version": {"2016-11-15"}, "GroupName": {"x"}})
	wantErrorDoc(t, st, body, 400, "MissingParameter")
	st, body = send(t, node, http.MethodPost, "ec2", url.Values{"Action": {"DescribeKeyPairs"}, "Version": {"2016-11-15"}, "KeyName.01": {"x"}})
	wantErrorDoc(t, st, body, 400, "InvalidParameterValue")
	st, body = send(t, node, http.MethodPost, "ec2", url.Values{"Action": {"DescribeRegions"}})
	wantErrorDoc(t, st, body, 400, "MissingParameter")
	st, body = send(t, node, http.MethodPost, "s3", form)
	wantErrorDoc(t, st, body, 400, "IncompleteSignature")
	st, body = send(t, node, http.MethodPost, "ec2", url.Values{"Action": {"DescribeRegions"}, "Version": {"2016-11-15"}, "DryRun": {"yes"}})
	wantErrorDoc(t, st, body, 400, "InvalidParameterValue")
}

// TestServicesPathLeavesS3Alone: "services" stays a reserved bucket name
// (the path belongs to the EC2 face), while keys under services/ in other
// buckets, path style and virtual-host style, are S3 as before.
func TestServicesPathLeavesS3Alone(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("services")})
	wantCode(t, err, "InvalidBucketName")
	must[*s3.CreateBucketOutput](t)(c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")}))
	must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("services/compute"), Body: strings.NewReader("x")}))
	out := must[*s3.ListObjectsV2Output](t)(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("data")}))
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "services/compute" {
		t.Fatalf("listing: %+v", out.Contents)
	}
	// Virtual-host style: data.localhost/services/compute is the object.
	req, _ := http.NewRequest(http.MethodGet, node.Endpoint()+"/services/compute", nil)
	req.Host = "data.localhost"
	sum := sha256.Sum256(nil)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	creds := aws.Credentials{AccessKeyID: node.AccessKey, SecretAccessKey: node.SecretKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "s3", node.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := node.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "x" {
		t.Fatalf("virtual-host GET services/compute: %d %s", resp.StatusCode, b)
	}
}

// TestMetricsNameKnownActionsOnly: /metrics labels EC2 requests by action
// only for actions that exist, so made-up actions cannot grow its series.
func TestMetricsNameKnownActionsOnly(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	send(t, node, http.MethodPost, "ec2", url.Values{"Action": {"DescribeRegions"}, "Version": {"2016-11-15"}})
	send(t, node, http.MethodPost, "ec2", url.Values{"Action": {"Made-Up-Action-42"}, "Version": {"2016-11-15"}})
	resp, err := node.HTTPClient().Get(node.Endpoint() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `op="DescribeRegions"`) || strings.Contains(string(b), "Made-Up-Action-42") {
		t.Fatalf("metrics:\n%s", b)
	}
}
