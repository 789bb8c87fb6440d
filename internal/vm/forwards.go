package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// SetForwards makes the live hostfwd set equal fw: rules no longer
// wanted are removed and new ones added through the QMP human monitor
// (hostfwd_remove, hostfwd_add). A rule QEMU cannot set up (the address
// is in use, say) comes back as an error; the set then holds what was
// applied, and forwards.json records it for Adopt.
func (m *Machine) SetForwards(ctx context.Context, fw []Forward) error {
	if err := checkForwards(fw); err != nil {
		return err
	}
	return m.do(ctx, func(q *qmpConn) error {
		err := m.applyForwards(ctx, q, fw)
		if werr := writeForwards(m.dir, m.fwd); werr != nil && err == nil {
			err = werr
		}
		return err
	})
}

// applyForwards changes m.fwd toward want one rule at a time, stopping
// at the first failure. m.mu is held.
func (m *Machine) applyForwards(ctx context.Context, q *qmpConn, want []Forward) error {
	for _, f := range slices.Clone(m.fwd) {
		if slices.Contains(want, f) {
			continue
		}
		out, err := q.human(ctx, "hostfwd_remove "+netdevID+" tcp:"+f.key())
		if err == nil && !strings.Contains(out, "removed") && !strings.Contains(out, "not found") {
			err = fmt.Errorf("vm: hostfwd_remove %s: %s", f.key(), strings.TrimSpace(out))
		}
		if err != nil {
			return err
		}
		m.fwd = slices.DeleteFunc(m.fwd, func(g Forward) bool { return g == f })
	}
	for _, f := range want {
		if slices.Contains(m.fwd, f) {
			continue
		}
		out, err := q.human(ctx, "hostfwd_add "+netdevID+" "+f.rule())
		if err == nil && strings.TrimSpace(out) != "" {
			err = fmt.Errorf("vm: hostfwd_add %s: %s", f.rule(), strings.TrimSpace(out))
		}
		if err != nil {
			return err
		}
		m.fwd = append(m.fwd, f)
	}
	return nil
}

// Forwards returns the live hostfwd set.
func (m *Machine) Forwards() []Forward {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.fwd)
}

// writeForwards records fw in dir/forwards.json (write and rename).
func writeForwards(dir string, fw []Forward) error {
	b, err := json.Marshal(fw)
	if err != nil {
		return err
	}
	p := filepath.Join(dir, forwardsFile)
	if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	return nil
}

// readForwards reads dir/forwards.json; none is an empty set.
func readForwards(dir string) ([]Forward, error) {
	b, err := os.ReadFile(filepath.Join(dir, forwardsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	var fw []Forward
	if err := json.Unmarshal(b, &fw); err != nil {
		return nil, fmt.Errorf("vm: %s: %w", forwardsFile, err)
	}
	return fw, nil
}
