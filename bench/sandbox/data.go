package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// textGen produces lower-case words separated by spaces, with a newline
// after about one word in ten: text for wc.
type textGen struct {
	rng   *rand.Rand
	vocab [][]byte
}

func newTextGen(seed uint64) *textGen {
	g := &textGen{rng: rand.New(rand.NewPCG(seed, 0x5eed))}
	g.vocab = make([][]byte, 4096)
	for i := range g.vocab {
		w := make([]byte, 1+g.rng.IntN(12))
		for j := range w {
			w[j] = byte('a' + g.rng.IntN(26))
		}
		g.vocab[i] = w
	}
	return g
}

// fill fills p with text.
func (g *textGen) fill(p []byte) {
	n := 0
	for n < len(p) {
		x := g.rng.Uint64()
		n += copy(p[n:], g.vocab[x&4095])
		if n < len(p) {
			if (x>>12)%10 == 0 {
				p[n] = '\n'
			} else {
				p[n] = ' '
			}
			n++
		}
	}
}

// wcCounter counts like wc.c: lines, words (maximal runs of bytes that
// are not C-locale whitespace) and bytes.
type wcCounter struct {
	lines, words, bytes int64
	inWord              bool
}

func (c *wcCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		s := b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r'
		if b == '\n' {
			c.lines++
		}
		if !s && !c.inWord {
			c.words++
		}
		c.inWord = !s
	}
	c.bytes += int64(len(p))
	return len(p), nil
}

func (c *wcCounter) String() string { return fmt.Sprintf("%d %d %d", c.lines, c.words, c.bytes) }

// dataset is the throughput input: one text and one random file of the
// same size, each as a plain file and as an object in a local store.
type dataset struct {
	size       int64
	textPath   string // plain files
	binPath    string
	st         *local.Engine
	bucket     string
	textKey    string
	binKey     string
	wantWC     string // "LINES WORDS BYTES"
	wantSHA256 string // hex
}

type datasetMeta struct {
	Size   int64  `json:"size"`
	WC     string `json:"wc"`
	SHA256 string `json:"sha256"`
}

// openDataset opens the data under dir, generating whatever is missing or
// of the wrong size. The meta file is written last, so its presence means
// the plain files are complete.
func openDataset(ctx context.Context, dir string, size int64) (*dataset, error) {
	if err := os.MkdirAll(filepath.Join(dir, "plain"), 0o755); err != nil {
		return nil, err
	}
	sz := strconv.FormatInt(size, 10)
	d := &dataset{
		size:     size,
		textPath: filepath.Join(dir, "plain", "text-"+sz+".txt"),
		binPath:  filepath.Join(dir, "plain", "random-"+sz+".bin"),
		bucket:   "bench", textKey: "text-" + sz + ".txt", binKey: "random-" + sz + ".bin",
	}
	metaPath := filepath.Join(dir, "meta-"+sz+".json")
	var meta datasetMeta
	ok := false
	if b, err := os.ReadFile(metaPath); err == nil && json.Unmarshal(b, &meta) == nil && meta.Size == size {
		ok = fileSize(d.textPath) == size && fileSize(d.binPath) == size
	}
	if !ok {
		fmt.Printf("generating %s of text and %s of random bytes under %s ...\n", mib(size), mib(size), dir)
		t0 := time.Now()
		var err error
		if meta.WC, err = writeFile(d.textPath, size, newTextGen(1).fill, nil); err != nil {
			return nil, err
		}
		if meta.SHA256, err = writeFile(d.binPath, size, nil, rand.NewChaCha8([32]byte{'i', 'n', 's', 'i', 't', 'u'})); err != nil {
			return nil, err
		}
		meta.Size = size
		b, _ := json.Marshal(meta)
		if err := os.WriteFile(metaPath, b, 0o644); err != nil {
			return nil, err
		}
		fmt.Printf("generated in %v\n", time.Since(t0).Round(time.Millisecond))
	}
	d.wantWC, d.wantSHA256 = meta.WC, meta.SHA256

	st, err := local.Open(ctx, filepath.Join(dir, "store"), nil)
	if err != nil {
		return nil, err
	}
	d.st = st
	if err := st.CreateBucket(ctx, store.BucketInfo{Name: d.bucket, Owner: "bench"}); err != nil &&
		!errors.Is(err, store.ErrBucketOwnedByYou) {
		st.Close()
		return nil, err
	}
	for _, o := range []struct{ key, path string }{{d.textKey, d.textPath}, {d.binKey, d.binPath}} {
		if info, err := st.HeadObject(ctx, d.bucket, o.key); err == nil && info.Size == size && ok {
			continue
		}
		fmt.Printf("storing %s as object %s/%s ...\n", o.path, d.bucket, o.key)
		f, err := os.Open(o.path)
		if err != nil {
			st.Close()
			return nil, err
		}
		_, err = st.PutObject(ctx, d.bucket, o.key, f, size, store.PutOptions{})
		f.Close()
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	return d, nil
}

func (d *dataset) close() { d.st.Close() }

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// writeFile writes size bytes from fill (text; returns the wc counts) or
// from src (bytes; returns the hex SHA-256) to path.
func writeFile(path string, size int64, fill func([]byte), src io.Reader) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var wc wcCounter
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		p := buf[:min(int64(len(buf)), left)]
		if fill != nil {
			fill(p)
			wc.Write(p)
		} else {
			if _, err := io.ReadFull(src, p); err != nil {
				return "", err
			}
			h.Write(p)
		}
		if _, err := w.Write(p); err != nil {
			return "", err
		}
		left -= int64(len(p))
	}
	if err := w.Flush(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if fill != nil {
		return wc.String(), nil
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
