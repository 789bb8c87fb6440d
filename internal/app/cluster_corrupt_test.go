package app_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// A copy that fails its checksums on the key's primary (the holder every
// GET reads from) is never served: a GET through the other holder and
// one through a node holding nothing both get the exact bytes, the
// primary's cut stream failing over to the other holder mid-body; the
// primary then drops its copy and repair writes a good one back.
func TestClusterCorruptPrimaryCopy(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: 2})
	ctx := context.Background()
	s0 := cl.Nodes[0].S3("", "")
	if _, err := s0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("crc")}); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20+100) // 17 blocks of the data file, the last one short
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	putObj(t, s0, "crc", "big", data)
	names, err := cl.API(0).Replicas(ctx, "crc", "big")
	if err != nil || len(names) != 2 {
		t.Fatalf("replicas %v, %v", names, err)
	}
	primary := nodeIndex(t, names[0])
	path := dataFileOf(t, cl.Nodes[primary].DataDir, data)
	if path == "" {
		t.Fatalf("no data file with the object's bytes under %s", cl.Nodes[primary].DataDir)
	}
	flipByteAt(t, path, 5<<16+17) // in block 5: the stream is cut after 320 KiB

	other, none := nodeIndex(t, names[1]), 3-primary-nodeIndex(t, names[1])
	for _, n := range []int{other, none} {
		got, err := getObj(cl.Nodes[n].S3("", ""), "crc", "big")
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GET through node%d with node%d's copy corrupt: %d bytes (want %d), equal %v, err %v",
				n, primary, len(got), len(data), bytes.Equal(got, data), err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for dataFileOf(t, cl.Nodes[primary].DataDir, data) == "" {
		if time.Now().After(deadline) {
			t.Fatalf("node%d holds no good copy 30 s after its copy failed its checksums", primary)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, err := getObj(cl.Nodes[primary].S3("", ""), "crc", "big"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GET through node%d after repair: %d bytes, %v", primary, len(got), err)
	}
}

// dataFileOf returns a file under dir whose first len(want) bytes are
// want (an object's data file: its blocks' bytes come first), or "".
func dataFileOf(t *testing.T, dir string, want []byte) string {
	t.Helper()
	found := ""
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // removed while walking
			}
			return err
		}
		if found != "" || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err != nil || fi.Size() < int64(len(want)) || strings.HasSuffix(p, ".sst") {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		got := make([]byte, len(want))
		if _, err := io.ReadFull(f, got); err == nil && bytes.Equal(got, want) {
			found = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func flipByteAt(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
