package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/insitu-cloud/insitu/internal/client"
)

// newAppCmd builds the "app" group: the app registry.
func newAppCmd(g *globals) *cobra.Command {
	app := &cobra.Command{Use: "app", Short: "Push, list, show and remove WebAssembly apps"}
	app.AddCommand(newAppPushCmd(g), newAppLsCmd(g), newAppShowCmd(g), newAppRmCmd(g))
	return app
}

// splitRef splits "[owner/]name[:version]".
func splitRef(ref string) (owner, name, version string) {
	rest := ref
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		owner, rest = rest[:i], rest[i+1:]
	}
	name, version, _ = strings.Cut(rest, ":")
	return owner, name, version
}

func newAppPushCmd(g *globals) *cobra.Command {
	var manifestPath string
	var public, asJSON bool
	cmd := &cobra.Command{
		Use:   "push NAME[:VERSION] FILE.wasm",
		Short: "Validate and store a WASI module as an app",
		Long: `Push a WebAssembly module (WASI preview1 command) as NAME[:VERSION].
The server validates and compiles it first: a module that imports anything
but WASI preview1 is refused. --manifest reads an app.json (description,
args, env, limits, content_types).`,
		Args: exactArgs(2, "NAME[:VERSION] FILE.wasm"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, name, version := splitRef(args[0])
			wasm, err := os.ReadFile(args[1])
			if err != nil {
				return fmt.Errorf("app push: %w", err)
			}
			var manifest map[string]any
			if manifestPath != "" {
				b, err := os.ReadFile(manifestPath)
				if err != nil {
					return fmt.Errorf("app push: %w", err)
				}
				if err := json.Unmarshal(b, &manifest); err != nil {
					return fmt.Errorf("app push: manifest %s: %w", manifestPath, err)
				}
				delete(manifest, "name") // the NAME argument wins
				if version != "" {
					delete(manifest, "version")
				}
			}
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			a, err := c.PushApp(cmd.Context(), name, version, wasm, manifest, public)
			if err != nil {
				return fmt.Errorf("app push %s: %w", args[0], err)
			}
			if asJSON {
				return printJSON(g.streams.Out, a)
			}
			_, err = fmt.Fprintf(g.streams.Out, "pushed %s:%s (%d bytes, sha256 %s)\n", a.Name, a.Version, a.Size, a.Digest[:12])
			return err
		},
	}
	cmd.Flags().StringVar(&manifestPath, "manifest", "", "app.json manifest")
	cmd.Flags().BoolVar(&public, "public", false, "let every account run this app")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newAppLsCmd(g *globals) *cobra.Command {
	var public, asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List your apps (with --public, also other accounts' public apps)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			list, err := c.ListApps(cmd.Context(), public)
			if err != nil {
				return fmt.Errorf("app ls: %w", err)
			}
			return printList(g.streams.Out, asJSON, "apps", list, "OWNER\tNAME\tVERSION\tSIZE\tPUBLIC\tCREATED", func(a client.App) string {
				return fmt.Sprintf("%s\t%s\t%s\t%d\t%v\t%s", a.Owner, a.Name, a.Version, a.Size, a.Public, a.Created.Format("2006-01-02 15:04:05"))
			})
		},
	}
	cmd.Flags().BoolVar(&public, "public", false, "include other accounts' public apps")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newAppShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show [OWNER/]NAME[:VERSION]",
		Short: "Show an app's record and manifest as JSON",
		Args:  exactArgs(1, "[OWNER/]NAME[:VERSION]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			owner, name, version := splitRef(args[0])
			a, err := c.GetApp(cmd.Context(), owner, name, version)
			if err != nil {
				return fmt.Errorf("app show %s: %w", args[0], err)
			}
			return printJSON(g.streams.Out, a)
		},
	}
}

func newAppRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME[:VERSION]...",
		Short: "Remove an app version, or every version of an app",
		Args:  rangeArgs(1, -1, "NAME[:VERSION]..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.api(cmd)
			if err != nil {
				return err
			}
			for _, ref := range args {
				_, name, version := splitRef(ref)
				if err := c.RemoveApp(cmd.Context(), name, version); err != nil {
					return fmt.Errorf("app rm %s: %w", ref, err)
				}
			}
			return nil
		},
	}
}
