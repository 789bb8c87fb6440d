package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/auth"
)

// seedApps pushes every app under cfg.SeedApps for the root account, as
// public apps. Each subdirectory DIR holds DIR.wasm (or any single .wasm)
// and optionally app.json. Versions already present are left alone.
func (n *Node) seedApps(ctx context.Context) error {
	if n.cfg.SeedApps == "" {
		return nil
	}
	entries, err := os.ReadDir(n.cfg.SeedApps)
	if err != nil {
		return fmt.Errorf("app: seed apps: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(n.cfg.SeedApps, e.Name())
		wasm, err := os.ReadFile(filepath.Join(dir, e.Name()+".wasm"))
		if errors.Is(err, os.ErrNotExist) {
			continue // not built here (for example no clang); skip quietly
		}
		if err != nil {
			return fmt.Errorf("app: seed %s: %w", e.Name(), err)
		}
		m := apps.Manifest{}
		if b, err := os.ReadFile(filepath.Join(dir, "app.json")); err == nil {
			if m, err = apps.ParseManifest(b); err != nil {
				return fmt.Errorf("app: seed %s: %w", e.Name(), err)
			}
		}
		m.Public = true
		a, err := n.apps.Push(ctx, auth.RootName, e.Name(), "", wasm, m)
		if errors.Is(err, apps.ErrAppExists) {
			continue
		}
		if err != nil {
			return fmt.Errorf("app: seed %s: %w", e.Name(), err)
		}
		n.log.Debug("seeded app", "app", a.Ref())
	}
	return nil
}
