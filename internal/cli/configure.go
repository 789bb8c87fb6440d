package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// newConfigureCmd builds "configure": write a profile to the config file.
func newConfigureCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "configure",
		Short: "Save connection settings to a profile in the config file",
		Long: `Save endpoint, access key, secret key and region to a profile (--profile,
default "default") in $XDG_CONFIG_HOME/insitu/config (default
~/.config/insitu/config), written with mode 0600. Values given as flags are
saved as is; the others are asked for on the terminal, an empty answer
keeping the current value. Other profiles, keys and comments are kept.`,
		Example: `  insitu configure
  insitu configure --profile prod --endpoint https://s3.example.com --access-key AK... --secret-key ...`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.configure(cmd)
		},
	}
}

func (g *globals) configure(cmd *cobra.Command) error {
	fs := cmd.Flags()
	profile, ok := "", false
	if f := fs.Lookup("profile"); f != nil && f.Changed {
		profile, ok = f.Value.String(), true
	}
	if !ok {
		profile, ok = g.env("INSITU_PROFILE")
	}
	if !ok {
		profile = DefaultProfile
	}
	if strings.ContainsAny(profile, "[]\n") || strings.TrimSpace(profile) != profile || profile == "" {
		return fmt.Errorf("configure: invalid profile name %q", profile)
	}
	path, err := configPath(g.env)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	sections, err := parseINI(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	current := sections[profile]

	in := bufio.NewReader(g.streams.In)
	var values [][2]string
	for _, s := range settingsTable() {
		if s.key == "ca_cert" && !fs.Changed(s.flag) && current[s.key] == "" {
			continue // rarely needed: only saved when given
		}
		v := current[s.key]
		if v == "" {
			v = s.def
		}
		if fs.Changed(s.flag) {
			v = fs.Lookup(s.flag).Value.String()
		} else {
			v, err = prompt(in, g.streams.Err, s.usage, v, s.key == "secret_key")
			if err != nil {
				return err
			}
		}
		if strings.ContainsAny(v, "\n\r") {
			return fmt.Errorf("configure: %s must be one line", s.key)
		}
		values = append(values, [2]string{s.key, v})
	}
	if fs.Changed("insecure") {
		values = append(values, [2]string{"insecure", fs.Lookup("insecure").Value.String()})
	}
	if err := writeFileAtomic(path, setProfile(data, profile, values)); err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Err, "Saved profile %q to %s\n", profile, path)
	return nil
}

// prompt asks for one value on w and reads a line from in; an empty answer
// or end of input keeps cur. Secrets are shown masked.
func prompt(in *bufio.Reader, w io.Writer, label, cur string, secret bool) (string, error) {
	shown := cur
	if secret && len(cur) > 4 {
		shown = strings.Repeat("*", 8) + cur[len(cur)-4:]
	}
	fmt.Fprintf(w, "%s [%s]: ", label, shown)
	line, err := in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if errors.Is(err, io.EOF) && line == "" {
		fmt.Fprintln(w)
	}
	if v := strings.TrimSpace(line); v != "" {
		return v, nil
	}
	return cur, nil
}

// writeFileAtomic writes data to path (mode 0600, parent 0700) through a
// temporary file and a rename.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".config-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
