package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestOpenWithGoesWithItsBucket: alice binds */* on her bucket to her
// public app and deletes the bucket; bob creates the same name. bob's
// GET ?open must not run alice's app, and bob sees no bindings.
func TestOpenWithGoesWithItsBucket(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	root := apiClient(t, node, node.AccessKey, node.SecretKey)
	ak, err := root.CreateUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	bk, err := root.CreateUser(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	alice, as3 := apiClient(t, node, ak.AccessKey, ak.SecretKey), node.S3(ak.AccessKey, ak.SecretKey)
	bob, bs3 := apiClient(t, node, bk.AccessKey, bk.SecretKey), node.S3(bk.AccessKey, bk.SecretKey)

	if _, err := alice.PushApp(ctx, "upper", "1.0.0", exampleWasm(t, "upper"), nil, true); err != nil {
		t.Fatal(err)
	}
	if _, err := as3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pics")}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SetOpenWith(ctx, "pics", "*/*", "alice/upper"); err != nil {
		t.Fatal(err)
	}
	if _, err := as3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("pics")}); err != nil {
		t.Fatal(err)
	}

	if _, err := bs3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pics")}); err != nil {
		t.Fatal(err)
	}
	if _, err := bs3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pics"), Key: aws.String("secret.txt"),
		Body: strings.NewReader("bob's secret\n"), ContentType: aws.String("text/plain")}); err != nil {
		t.Fatal(err)
	}
	out, err := bs3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pics"), Key: aws.String("secret.txt")}, withQuery("open", ""))
	if err == nil {
		out.Body.Close()
		t.Fatal("GET ?open on bob's object ran an app")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "NoOpenWith" {
		t.Fatalf("GET ?open on bob's object: want NoOpenWith, got %v", err)
	}
	list, err := bob.ListOpenWith(ctx, "pics")
	if err != nil || len(list) != 0 {
		t.Fatalf("bob's bindings on his new bucket: %+v %v", list, err)
	}
}
