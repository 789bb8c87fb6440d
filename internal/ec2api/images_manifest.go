package ec2api

import (
	"bytes"
	"encoding/json"
	"strings"
)

// imageManifest is an image's manifest.json: the names of its files,
// relative to the manifest's prefix, and the kernel command line.
// kernel and initrd are required; root (a raw disk image) and cmdline are
// optional; other fields (name, ...) are ignored.
type imageManifest struct {
	Kernel  string `json:"kernel"`
	Initrd  string `json:"initrd"`
	Root    string `json:"root"`
	Cmdline string `json:"cmdline"`
}

// maxManifest caps the manifest object's size.
const maxManifest = 64 << 10

// maxCmdline caps the kernel command line a manifest may give (Linux's
// own limit on x86 is 2048 bytes).
const maxCmdline = 2048

// splitLocation splits an ImageLocation BUCKET/KEY.
func splitLocation(loc string) (bucket, key string, err error) {
	bucket, key, ok := strings.Cut(loc, "/")
	if !ok || bucket == "" || key == "" || strings.HasSuffix(key, "/") {
		return "", "", errInvalid("Invalid ImageLocation '%s': expected BUCKET/PREFIX/manifest.json.", loc)
	}
	return bucket, key, nil
}

// parseManifest decodes and checks a manifest read from location.
func parseManifest(location string, b []byte) (imageManifest, error) {
	var m imageManifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return m, errInvalid("The manifest %s is not a valid JSON object: %v", location, err)
	}
	if dec.More() {
		return m, errInvalid("The manifest %s has data after its JSON object.", location)
	}
	if m.Kernel == "" {
		return m, errInvalid("The manifest %s names no kernel.", location)
	}
	if m.Initrd == "" {
		return m, errInvalid("The manifest %s names no initrd.", location)
	}
	for _, f := range []struct{ field, p string }{{"kernel", m.Kernel}, {"initrd", m.Initrd}, {"root", m.Root}} {
		if f.p != "" && !relativePath(f.p) {
			return m, errInvalid("The manifest %s gives %s %q: file names must be relative to the manifest, without '.' or '..' parts.", location, f.field, f.p)
		}
	}
	if len(m.Cmdline) > maxCmdline || strings.ContainsAny(m.Cmdline, "\x00\n\r") {
		return m, errInvalid("The manifest %s gives a cmdline over %d bytes or with control characters.", location, maxCmdline)
	}
	return m, nil
}

// relativePath reports whether p is a plain relative object name: no
// leading slash, no empty, "." or ".." parts, no backslash.
func relativePath(p string) bool {
	if strings.ContainsAny(p, "\\\x00") {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// manifestDir is the prefix a manifest's file names are relative to:
// the manifest key's directory with its slash ("" at the bucket's top).
func manifestDir(key string) string {
	return key[:strings.LastIndex(key, "/")+1]
}
