package ec2api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// newImageHandler is a Handler over a real meta store and a real local
// engine holding bucket "b" of account "alice".
func newImageHandler(t *testing.T, objects map[string]string) *Handler {
	t.Helper()
	ctx := context.Background()
	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "meta"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := local.Open(ctx, filepath.Join(t.TempDir(), "store"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if err := eng.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "alice"}); err != nil {
		t.Fatal(err)
	}
	for k, v := range objects {
		if _, err := eng.PutObject(ctx, "b", k, strings.NewReader(v), int64(len(v)), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return New(Config{KV: kv, Objects: eng, Logger: log})
}

func hexSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestImageAccessor: the record RegisterImage keeps pins every file's
// bucket, key, size and SHA-256; Image shows it to its owner only (and to
// everyone once public); ids are checked.
func TestImageAccessor(t *testing.T) {
	ctx := context.Background()
	h := newImageHandler(t, map[string]string{
		"img/manifest.json": `{"kernel": "k/vmlinuz", "initrd": "initrd.img", "cmdline": "quiet"}`,
		"img/k/vmlinuz":     "KERNEL", "img/initrd.img": "INITRD!",
	})
	c := &call{ctx: ctx, account: "alice", p: Params{"Name": "tiny", "ImageLocation": "b/img/manifest.json"}}
	resp, err := h.registerImage(c)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.(*registerImageResp).ImageID
	img, err := h.Image(ctx, "alice", id)
	if err != nil {
		t.Fatal(err)
	}
	want := Image{ID: id, Name: "tiny", OwnerID: "alice", Location: "b/img/manifest.json", State: "available", Architecture: "x86_64",
		Created: img.Created, Cmdline: "quiet",
		Kernel: ImageFile{Bucket: "b", Key: "img/k/vmlinuz", Size: 6, SHA256: hexSHA("KERNEL")},
		Initrd: ImageFile{Bucket: "b", Key: "img/initrd.img", Size: 7, SHA256: hexSHA("INITRD!")}}
	if img != want || img.Created.IsZero() {
		t.Fatalf("image:\n got %+v\nwant %+v", img, want)
	}
	if _, err := h.Image(ctx, "bob", id); !isCode(err, "InvalidAMIID.NotFound") {
		t.Fatalf("another account: %v", err)
	}
	if _, err := h.Image(ctx, "alice", "ami-123"); !isCode(err, "InvalidAMIID.Malformed") {
		t.Fatalf("malformed: %v", err)
	}
	if _, err := h.Image(ctx, "alice", "ami-0123456789abcdef0"); !isCode(err, "InvalidAMIID.NotFound") {
		t.Fatalf("unknown: %v", err)
	}
	if err := updateJSON(ctx, h.cfg.KV, imageKey(id), func(i *Image) error { i.Public = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Image(ctx, "bob", id); err != nil {
		t.Fatalf("a public image for another account: %v", err)
	}
	bob := &call{ctx: ctx, account: "bob", p: Params{"ImageId": id}}
	if _, err := h.deregisterImage(bob); !isCode(err, "UnauthorizedOperation") {
		t.Fatalf("deregister another's public image: %v", err)
	}
}

func TestParseManifest(t *testing.T) {
	for _, tc := range []struct {
		in  string
		err string // "" for success
	}{
		{`{"kernel": "a", "initrd": "b"}`, ""},
		{`{"name": "x", "kernel": "d/a", "initrd": "b", "root": "r.img", "cmdline": "quiet", "extra": 1}`, ""},
		{`{"initrd": "b"}`, "names no kernel"},
		{`{"kernel": "a"}`, "names no initrd"},
		{`{"kernel": "/a", "initrd": "b"}`, "relative"},
		{`{"kernel": "a", "initrd": "x/../b"}`, "relative"},
		{`{"kernel": "a", "initrd": "b", "root": "./r"}`, "relative"},
		{`{"kernel": "a//x", "initrd": "b"}`, "relative"},
		{`{"kernel": "a", "initrd": "b", "cmdline": "x\ny"}`, "cmdline"},
		{`{"kernel": "a", "initrd": "b"} {}`, "after"},
		{`[1]`, "not a valid JSON"},
		{``, "not a valid JSON"},
	} {
		_, err := parseManifest("b/m.json", []byte(tc.in))
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: got %v, want %q", tc.in, err, tc.err)
		}
	}
	for key, dir := range map[string]string{"m.json": "", "a/m.json": "a/", "a//b/m.json": "a//b/"} {
		if got := manifestDir(key); got != dir {
			t.Errorf("manifestDir(%q) = %q, want %q", key, got, dir)
		}
	}
}

// FuzzParseManifest: any bytes in a manifest object are refused or give
// a manifest whose file names stay under the manifest's prefix.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"kernel": "vmlinuz", "initrd": "initrd.img", "root": "root.img", "cmdline": "quiet"}`))
	f.Add([]byte(`{"kernel": "../x", "initrd": "/y"}`))
	f.Add([]byte(`{"kernel": "a", "initrd": "b"} trailing`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseManifest("b/m.json", b)
		if err != nil {
			return
		}
		if m.Kernel == "" || m.Initrd == "" {
			t.Fatalf("accepted an empty kernel or initrd: %+v", m)
		}
		for _, p := range []string{m.Kernel, m.Initrd, m.Root} {
			if strings.HasPrefix(p, "/") || strings.Contains("/"+p+"/", "/../") {
				t.Fatalf("accepted a path outside the prefix: %q", p)
			}
		}
	})
}
