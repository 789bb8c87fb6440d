package images_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/images"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store/local"
	"github.com/insitu-cloud/insitu/internal/testtool"
	"github.com/insitu-cloud/insitu/internal/vm"
)

// tinyDir is the tiny image built by `make images`: $INSITU_TINY_IMAGE,
// else examples/images/tiny in this module. It returns the manifest's
// file names too.
func tinyDir(t *testing.T) (string, []string) {
	t.Helper()
	testtool.NeedQEMU(t)
	dir, m := testtool.TinyImage(t)
	return dir, m.Files()
}

// TestTinyImageBoots: the tiny image, uploaded as objects and registered
// through the EC2 face, comes out of the node's cache byte for byte and
// boots under QEMU from the cached files (kernel, initrd, read-only root
// disk as the overlay's base).
func TestTinyImageBoots(t *testing.T) {
	src, names := tinyDir(t)
	ctx := context.Background()
	data := t.TempDir()
	node := apptest.Start(t, apptest.Options{DataDir: data})
	s3c := node.S3("", "")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("imgs")}); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		f, err := os.Open(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("imgs"), Key: aws.String("tiny/" + name), Body: f})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	ec := ec2.New(ec2.Options{BaseEndpoint: aws.String(node.Endpoint() + ec2api.Path), Region: node.Region,
		Credentials: credentials.NewStaticCredentialsProvider(node.AccessKey, node.SecretKey, ""), HTTPClient: node.HTTPClient()})
	reg, err := ec.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("tiny"), ImageLocation: aws.String("imgs/tiny/manifest.json")})
	if err != nil {
		t.Fatal(err)
	}
	node.Stop() // the node's stores, opened again below as the lifecycle sees them
	files := fetchTiny(ctx, t, data, aws.ToString(reg.ImageId))
	for i, got := range []string{files.Kernel, files.Initrd, files.Root} {
		if fileSum(t, got) != fileSum(t, filepath.Join(src, names[i+1])) {
			t.Fatalf("cached %s differs from %s", got, names[i+1])
		}
	}
	bootTiny(ctx, t, files)
}

// fetchTiny reads image id from the stopped node's control plane and
// fetches its files through a Cache over the node's store.
func fetchTiny(ctx context.Context, t *testing.T, data, id string) images.Files {
	t.Helper()
	kv, err := meta.OpenLocal(filepath.Join(data, "control"))
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := local.Open(ctx, filepath.Join(data, "store"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	img, err := ec2api.New(ec2api.Config{KV: kv, Logger: log}).Image(ctx, "root", id)
	if err != nil {
		t.Fatal(err)
	}
	files, err := images.New(filepath.Join(data, "images"), eng, log).Fetch(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if files.Root == "" || files.Cmdline == "" {
		t.Fatalf("files %+v", files)
	}
	return files
}

// bootTiny boots files under TCG until the guest says it is ready.
func bootTiny(ctx context.Context, t *testing.T, files images.Files) {
	t.Helper()
	dir := t.TempDir()
	m, err := vm.Start(ctx, vm.Spec{Dir: dir, Kernel: files.Kernel, Initrd: files.Initrd, RootBase: files.Root,
		Cmdline: files.Cmdline, MemoryMiB: 128, VCPUs: 1, Accel: vm.AccelTCG}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer func() {
		if err := m.Kill(ctx); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	for {
		b, _ := vm.ConsoleTail(dir, 1<<20)
		if bytes.Contains(b, []byte("insitu-tiny: ready")) {
			t.Logf("booted from the cache to \"insitu-tiny: ready\" in %s", time.Since(start))
			return
		}
		select {
		case <-m.Done():
			t.Fatalf("QEMU exited before the guest was ready; console:\n%s", b)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("no \"insitu-tiny: ready\" within 2 minutes; console:\n%s", b)
		}
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
