package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// nativeWC runs GNU wc over the files, cfg.wcProcs processes at once
// (xargs -P), and adds up their per-file lines.
func nativeWC(ctx context.Context, cfg *config, files []string) (time.Duration, counts, error) {
	per := (len(files) + cfg.wcProcs - 1) / cfg.wcProcs
	cmd := exec.CommandContext(ctx, "xargs", "-0", "-P", strconv.Itoa(cfg.wcProcs), "-n", strconv.Itoa(per), "wc")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdin = strings.NewReader(strings.Join(files, "\x00"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		return took, counts{}, fmt.Errorf("native wc: %v: %s", err, errb.String())
	}
	var c counts
	seen := 0
	for line := range strings.Lines(out.String()) {
		f := strings.Fields(line)
		if len(f) != 4 || f[3] == "total" {
			continue
		}
		var v [3]int64
		for i := range v {
			if v[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
				return took, c, fmt.Errorf("native wc: line %q", line)
			}
		}
		c.add(counts{v[0], v[1], v[2]})
		seen++
	}
	if seen != len(files) {
		return took, c, fmt.Errorf("native wc: %d files counted, want %d", seen, len(files))
	}
	return took, c, nil
}
