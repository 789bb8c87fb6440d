package s3load

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MinioHelp says how to get the minio binary; the benchmarks never
// download anything at run time.
const MinioHelp = `minio binary not found. Build it outside this repository, e.g.
	GOBIN=/tmp/minio-bin go install github.com/minio/minio@latest
then pass -minio /tmp/minio-bin/minio or set INSITU_BENCH_MINIO=/tmp/minio-bin/minio`

// FindMinio resolves the minio binary: given (a flag or environment
// value) if set, then PATH, then $(go env GOPATH)/bin.
func FindMinio(given string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("-minio %s: %w\n%s", given, err, MinioHelp)
		}
		return given, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "minio")
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
	}
	return "", errors.New(MinioHelp)
}

// VersionOf runs bin with arg and returns the first line it prints.
func VersionOf(bin string, arg string) string {
	out, err := exec.Command(bin, arg).Output()
	if err != nil {
		return "version unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
