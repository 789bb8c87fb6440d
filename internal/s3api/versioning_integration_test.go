package s3api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// vput puts body as bucket/key and returns the new version id.
func vput(t *testing.T, c *s3.Client, bucket, key, body string) string {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return aws.ToString(out.VersionId)
}

// vget returns the body and version id of bucket/key's version vid ("" for
// the latest).
func vget(t *testing.T, c *s3.Client, bucket, key, vid string) (string, string, error) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	out, err := c.GetObject(context.Background(), in)
	if err != nil {
		return "", "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), aws.ToString(out.VersionId), err
}

// respHeader returns header name of the HTTP response behind err.
func respHeader(err error, name string) string {
	var re *awshttp.ResponseError
	if !errorsAs(err, &re) || re.Response == nil {
		return ""
	}
	return re.Response.Header.Get(name)
}

func setVersioning(t *testing.T, c *s3.Client, bucket string, st types.BucketVersioningStatus) error {
	t.Helper()
	_, err := c.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: st}})
	return err
}

// TestVersioningSDK runs bucket versioning through aws-sdk-go-v2: the
// configuration, version ids on every write, reads and deletes by version,
// delete markers and their errors, copies from a version, listings with
// markers, DeleteObjects with versions, Suspended null versions and
// DeleteBucket of a bucket that holds only versions.
func TestVersioningSDK(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	ctx := context.Background()
	b := "vers"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	gv, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
	if err != nil || gv.Status != "" {
		t.Fatalf("new bucket versioning = %q, %v", gv.Status, err)
	}
	if vid := vput(t, c, b, "k", "v0"); vid != "" {
		t.Fatalf("unversioned put has version id %q", vid)
	}
	wantCode(t, setVersioning(t, c, b, "Bogus"), "IllegalVersioningConfigurationException")
	if err := setVersioning(t, c, b, types.BucketVersioningStatusEnabled); err != nil {
		t.Fatal(err)
	}
	gv, err = c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
	if err != nil || gv.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning = %q, %v", gv.Status, err)
	}
	v1, v2 := vput(t, c, b, "k", "v1"), vput(t, c, b, "k", "v2")
	if v1 == "" || v2 == "" || v1 == v2 {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	for vid, want := range map[string]string{"": "v2", v1: "v1", v2: "v2", "null": "v0"} {
		got, gotID, err := vget(t, c, b, "k", vid)
		if err != nil || got != want || (vid != "" && gotID != vid) {
			t.Fatalf("get version %q = %q (%s), %v; want %q", vid, got, gotID, err, want)
		}
	}
	hd, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v1)})
	if err != nil || aws.ToString(hd.VersionId) != v1 || aws.ToInt64(hd.ContentLength) != 2 {
		t.Fatalf("head v1 = %+v, %v", hd, err)
	}
	at, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v1),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectSize, types.ObjectAttributesEtag}})
	if err != nil || aws.ToString(at.VersionId) != v1 || aws.ToInt64(at.ObjectSize) != 2 {
		t.Fatalf("attributes of v1 = %+v, %v", at, err)
	}
	versioningErrors(t, c, b)
	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("delete = %+v, %v", del, err)
	}
	marker := aws.ToString(del.VersionId)
	_, _, err = vget(t, c, b, "k", "")
	wantCode(t, err, "NoSuchKey")
	if respHeader(err, "x-amz-delete-marker") != "true" || respHeader(err, "x-amz-version-id") != marker {
		t.Fatalf("GET behind a delete marker: headers %q %q", respHeader(err, "x-amz-delete-marker"), respHeader(err, "x-amz-version-id"))
	}
	_, _, err = vget(t, c, b, "k", marker)
	wantCode(t, err, "MethodNotAllowed")
	wantStatus(t, err, http.StatusMethodNotAllowed)
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(marker)})
	wantStatus(t, err, http.StatusMethodNotAllowed)
	if respHeader(err, "x-amz-delete-marker") != "true" {
		t.Fatal("HEAD of a delete marker: no x-amz-delete-marker")
	}
	versioningCopies(t, c, b, v1)
	versioningListing(t, c, b, []string{marker, v2, v1, "null"})
	versioningDeleteObjects(t, c, b, marker, v1)
	versioningSuspended(t, c, b)
}

// versioningErrors checks the errors of bad version ids.
func versioningErrors(t *testing.T, c *s3.Client, b string) {
	t.Helper()
	_, _, err := vget(t, c, b, "k", "not-a-version")
	wantCode(t, err, "InvalidArgument")
	_, _, err = vget(t, c, b, "k", strings.Repeat("0", 24))
	wantCode(t, err, "NoSuchVersion")
	_, err = c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("bad")})
	wantCode(t, err, "InvalidArgument")
}

// versioningCopies copies version v1 of k with CopyObject and UploadPartCopy.
func versioningCopies(t *testing.T, c *s3.Client, b, v1 string) {
	t.Helper()
	ctx := context.Background()
	cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"), CopySource: aws.String(b + "/k?versionId=" + v1)})
	if err != nil || aws.ToString(cp.CopySourceVersionId) != v1 || aws.ToString(cp.VersionId) == "" {
		t.Fatalf("copy = %+v, %v", cp, err)
	}
	if got, _, err := vget(t, c, b, "copy", ""); err != nil || got != "v1" {
		t.Fatalf("copy of v1 = %q, %v", got, err)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"), CopySource: aws.String(b + "/k?versionId=zz")})
	wantCode(t, err, "InvalidArgument")
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String(b + "/k?versionId=" + v1)})
	if err != nil || aws.ToString(pc.CopySourceVersionId) != v1 {
		t.Fatalf("upload part copy = %+v, %v", pc, err)
	}
	done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: pc.CopyPartResult.ETag}}}})
	if err != nil || aws.ToString(done.VersionId) == "" {
		t.Fatalf("complete = %+v, %v", done, err)
	}
	if got, vid, err := vget(t, c, b, "mp", ""); err != nil || got != "v1" || vid != aws.ToString(done.VersionId) {
		t.Fatalf("mp = %q %q, %v", got, vid, err)
	}
}

// versioningListing pages through k's versions one at a time and checks
// want (newest first, the first a delete marker), then lists with
// encoding-type=url.
func versioningListing(t *testing.T, c *s3.Client, b string, want []string) {
	t.Helper()
	var got []string
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(b), Prefix: aws.String("k"), MaxKeys: aws.Int32(1)}
	for {
		out, err := c.ListObjectVersions(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.DeleteMarkers {
			got = append(got, "M"+aws.ToString(m.VersionId))
			if !aws.ToBool(m.IsLatest) {
				t.Fatal("the delete marker is not the latest")
			}
		}
		for _, v := range out.Versions {
			got = append(got, aws.ToString(v.VersionId))
			if aws.ToBool(v.IsLatest) {
				t.Fatalf("version %s is latest behind a delete marker", aws.ToString(v.VersionId))
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	want = append([]string{"M" + want[0]}, want[1:]...)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("versions of k = %v, want %v", got, want)
	}
	vput(t, c, b, "a b+c", "x")
	out, err := c.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(b), Prefix: aws.String("a "), EncodingType: types.EncodingTypeUrl})
	// The SDK hands back the key as sent (encoded).
	if err != nil || len(out.Versions) != 1 || aws.ToString(out.Versions[0].Key) != "a%20b%2Bc" {
		t.Fatalf("encoded listing = %+v, %v", out, err)
	}
	_, err = c.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(b), VersionIdMarker: aws.String("null")})
	wantCode(t, err, "InvalidArgument")
}

// versioningDeleteObjects removes the marker and v1 by version, deletes
// "copy" (a new marker) and checks the DeleteObjects result, then that
// DeleteBucket refuses the bucket while versions remain.
func versioningDeleteObjects(t *testing.T, c *s3.Client, b, marker, v1 string) {
	t.Helper()
	ctx := context.Background()
	out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("k"), VersionId: aws.String(marker)},
		{Key: aws.String("k"), VersionId: aws.String(v1)},
		{Key: aws.String("copy")},
		{Key: aws.String("k"), VersionId: aws.String("bogus")},
	}}})
	if err != nil || len(out.Deleted) != 3 || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "NoSuchVersion" {
		t.Fatalf("DeleteObjects = %+v, %v", out, err)
	}
	d := out.Deleted
	if aws.ToString(d[0].VersionId) != marker || !aws.ToBool(d[0].DeleteMarker) || aws.ToString(d[0].DeleteMarkerVersionId) != marker {
		t.Fatalf("deleted marker entry = %+v", d[0])
	}
	if aws.ToString(d[1].VersionId) != v1 || aws.ToBool(d[1].DeleteMarker) {
		t.Fatalf("deleted version entry = %+v", d[1])
	}
	if !aws.ToBool(d[2].DeleteMarker) || aws.ToString(d[2].DeleteMarkerVersionId) == "" {
		t.Fatalf("plain delete entry = %+v", d[2])
	}
	if got, _, err := vget(t, c, b, "k", ""); err != nil || got != "v2" {
		t.Fatalf("latest after removing the marker = %q, %v", got, err)
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
	wantCode(t, err, "BucketNotEmpty")
}

// versioningSuspended: a Suspended bucket writes the null version, each
// write replacing it, while older versions stay; then every version is
// removed and the bucket deleted.
func versioningSuspended(t *testing.T, c *s3.Client, b string) {
	t.Helper()
	ctx := context.Background()
	if err := setVersioning(t, c, b, types.BucketVersioningStatusSuspended); err != nil {
		t.Fatal(err)
	}
	if vid := vput(t, c, b, "k", "s1"); vid != "null" {
		t.Fatalf("suspended put version %q", vid)
	}
	vput(t, c, b, "k", "s2")
	if got, _, err := vget(t, c, b, "k", "null"); err != nil || got != "s2" {
		t.Fatalf("null version = %q, %v", got, err)
	}
	for {
		out, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		var ids []types.ObjectIdentifier
		nulls := 0
		for _, v := range out.Versions {
			ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
			if aws.ToString(v.Key) == "k" && aws.ToString(v.VersionId) == "null" {
				nulls++
			}
		}
		for _, m := range out.DeleteMarkers {
			ids = append(ids, types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if nulls > 1 {
			t.Fatalf("%d null versions of k", nulls)
		}
		if len(ids) == 0 {
			break
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: ids}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
}

// TestVersioningRawErrors sends what SDKs never send: PutBucketVersioning
// bodies that are not a VersioningConfiguration, MFA delete, an empty
// versionId, and checks the DELETE headers of a marker.
func TestVersioningRawErrors(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("raw")}); err != nil {
		t.Fatal(err)
	}
	hc := node.HTTPClient()
	for _, tc := range []struct{ body, code string }{
		{"<VersioningConfiguration><Status>Enabled", "MalformedXML"},
		{"<Other><Status>Enabled</Status></Other>", "MalformedXML"},
		{"", "MalformedXML"},
		{"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>", "IllegalVersioningConfigurationException"},
		{"<VersioningConfiguration/>", "IllegalVersioningConfigurationException"},
		{"<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>", "NotImplemented"},
	} {
		req := signedRequest(t, node, http.MethodPut, "/raw?versioning", []byte(tc.body), node.AccessKey, node.SecretKey, time.Now())
		if _, code := s3Error(t, hc, req); code != tc.code {
			t.Errorf("PutBucketVersioning %q: %s, want %s", tc.body, code, tc.code)
		}
	}
	on := "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>"
	if st, code := s3Error(t, hc, signedRequest(t, node, http.MethodPut, "/raw?versioning", []byte(on), node.AccessKey, node.SecretKey, time.Now())); st != 200 {
		t.Fatalf("enable: %d %s", st, code)
	}
	if st, code := s3Error(t, hc, signedRequest(t, node, http.MethodGet, "/raw/k?versionId=", nil, node.AccessKey, node.SecretKey, time.Now())); st != 400 || code != "InvalidArgument" {
		t.Fatalf("empty versionId: %d %s", st, code)
	}
	resp, err := hc.Do(signedRequest(t, node, http.MethodDelete, "/raw/k", nil, node.AccessKey, node.SecretKey, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("x-amz-delete-marker") != "true" || len(resp.Header.Get("x-amz-version-id")) != 24 {
		t.Fatalf("DELETE in a versioned bucket: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestVersioningCluster: a cluster's versioning configuration, set
// through one node, reads the same through every node, Enabled and then
// Suspended. internal/app's TestClusterVersioning* cover the versions.
func TestVersioningCluster(t *testing.T) {
	ctx := context.Background()
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"}})
	c := cl.Nodes[0].S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("clvers")}); err != nil {
		t.Fatal(err)
	}
	for i, st := range []types.BucketVersioningStatus{types.BucketVersioningStatusEnabled, types.BucketVersioningStatusSuspended} {
		if err := setVersioning(t, cl.Nodes[i].S3("", ""), "clvers", st); err != nil {
			t.Fatal(err)
		}
		for n := range cl.Nodes {
			deadline := time.Now().Add(30 * time.Second)
			for {
				gv, err := cl.Nodes[n].S3("", "").GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("clvers")})
				if err == nil && gv.Status == st {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("versioning through node%d: %v, want %s", n, err, st)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
}

// TestVersioningACL: PutObjectAcl with a versionId sets that version's ACL
// in place (no new version) and GetObjectAcl with the id shows it, while
// the latest stays private.
func TestVersioningACL(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	ctx := context.Background()
	b := aws.String("vacl")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if err := setVersioning(t, c, "vacl", types.BucketVersioningStatusEnabled); err != nil {
		t.Fatal(err)
	}
	v1 := vput(t, c, "vacl", "k", "one")
	vput(t, c, "vacl", "k", "two")
	if _, err := c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: b, Key: aws.String("k"), VersionId: aws.String(v1), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	grants := func(vid string) int {
		in := &s3.GetObjectAclInput{Bucket: b, Key: aws.String("k")}
		if vid != "" {
			in.VersionId = aws.String(vid)
		}
		out, err := c.GetObjectAcl(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Grants)
	}
	if g1, gl := grants(v1), grants(""); g1 != 2 || gl != 1 {
		t.Fatalf("grants: v1 %d, latest %d; want 2 and 1", g1, gl)
	}
	out, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b})
	if err != nil || len(out.Versions) != 2 {
		t.Fatalf("versions after PutObjectAcl: %d, %v", len(out.Versions), err)
	}
	if st, _ := anon(t, node, http.MethodGet, "/vacl/k?versionId="+v1, ""); st != http.StatusOK {
		t.Fatalf("anonymous GET of the public version: %d", st)
	}
}

// TestCopySourceVersionACL: a copy of a named source version is allowed or
// refused by that version's own ACL, not the latest version's.
func TestCopySourceVersionACL(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	alice, bob := newAccount(t, node, "alice"), newAccount(t, node, "bob")
	for _, b := range []struct {
		c    *s3.Client
		name string
	}{{alice.s3, "vsrc"}, {bob.s3, "bdst"}} {
		if _, err := b.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.name)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := setVersioning(t, alice.s3, "vsrc", types.BucketVersioningStatusEnabled); err != nil {
		t.Fatal(err)
	}
	v1 := vput(t, alice.s3, "vsrc", "k", "one")
	v2 := vput(t, alice.s3, "vsrc", "k", "two")
	setACL := func(vid string, acl types.ObjectCannedACL) {
		if _, err := alice.s3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String("vsrc"), Key: aws.String("k"), VersionId: aws.String(vid), ACL: acl}); err != nil {
			t.Fatal(err)
		}
	}
	copyAs := func(src string) error {
		_, err := bob.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bdst"), Key: aws.String("c"), CopySource: aws.String(src)})
		return err
	}
	for _, c := range []struct {
		public, private string
	}{{v2, v1}, {v1, v2}} {
		setACL(c.public, types.ObjectCannedACLPublicRead)
		setACL(c.private, types.ObjectCannedACLPrivate)
		if err := copyAs("vsrc/k?versionId=" + c.public); err != nil {
			t.Errorf("bob's copy of the public-read version %s: %v", c.public, err)
		}
		if err := copyAs("vsrc/k?versionId=" + c.private); apiCode(err) != "AccessDenied" {
			t.Errorf("bob's copy of the private version %s: %v, want AccessDenied", c.private, err)
		}
	}
}
