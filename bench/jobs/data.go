package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// ensureData writes (once) cfg.objects text files totalling cfg.total bytes
// under cfg.cache and returns their paths. The text is words of 1 to 12
// lowercase letters from a fixed vocabulary, about 12 to a line, from a
// seeded generator, so every run counts the same words.
func ensureData(cfg *config) ([]string, error) {
	dir := filepath.Join(cfg.cache, fmt.Sprintf("%d-objects-%d-bytes", cfg.objects, cfg.total))
	files := make([]string, cfg.objects)
	sizes := make([]int64, cfg.objects)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("obj-%05d.txt", i))
		sizes[i] = cfg.total / int64(cfg.objects)
		if int64(i) < cfg.total%int64(cfg.objects) {
			sizes[i]++
		}
	}
	done := filepath.Join(dir, "COMPLETE")
	if _, err := os.Stat(done); err == nil {
		return files, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([][]byte, 5000)
	for i := range vocab {
		w := make([]byte, 1+rng.IntN(12))
		for j := range w {
			w[j] = byte('a' + rng.IntN(26))
		}
		vocab[i] = w
	}
	for i, name := range files {
		if err := writeText(name, sizes[i], rng, vocab); err != nil {
			return nil, err
		}
	}
	return files, os.WriteFile(done, nil, 0o644)
}

func writeText(name string, size int64, rng *rand.Rand, vocab [][]byte) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	inLine := 0
	for n < size-1 {
		word := vocab[rng.IntN(len(vocab))]
		if int64(len(word)) > size-1-n {
			word = word[:size-1-n]
		}
		w.Write(word)
		n += int64(len(word))
		if n >= size-1 {
			break
		}
		sep := byte(' ')
		if inLine++; inLine == 12 {
			sep, inLine = '\n', 0
		}
		w.WriteByte(sep)
		n++
	}
	w.WriteByte('\n')
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// space is wc's word separators in the C locale.
var space = func() (t [256]bool) {
	for _, c := range []byte(" \t\n\v\f\r") {
		t[c] = true
	}
	return
}()

// countReader counts like wc: lines are '\n' bytes, a word is a maximal run
// of bytes that are not spaces.
func countReader(r io.Reader, buf []byte) (counts, error) {
	var c counts
	inSpace := true
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			s := space[b]
			if b == '\n' {
				c.lines++
			}
			if inSpace && !s {
				c.words++
			}
			inSpace = s
		}
		c.bytes += int64(n)
		if err == io.EOF {
			return c, nil
		}
		if err != nil {
			return c, err
		}
	}
}
