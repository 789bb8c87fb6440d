package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
)

// Defaults for the connection settings.
const (
	DefaultEndpoint = "http://127.0.0.1:8773"
	DefaultRegion   = sigv4.DefaultRegion
	DefaultProfile  = "default"
)

// Settings are the resolved connection settings of a client command.
type Settings struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
	// Profile is the profile name in use; ConfigFile the file it is read
	// from (which may not exist).
	Profile    string
	ConfigFile string
	// Insecure skips TLS certificate verification.
	Insecure bool
	// CACert is a PEM file of extra trusted CAs.
	CACert string
}

// setting describes one connection option: its flag, environment variable,
// profile key and default.
type setting struct {
	flag, env, key, def, usage string
	dst                        func(*Settings) *string
}

// settingsTable lists the string-valued options in flag order.
func settingsTable() []setting {
	return []setting{
		{"endpoint", "INSITU_ENDPOINT", "endpoint", DefaultEndpoint, "server URL", func(s *Settings) *string { return &s.Endpoint }},
		{"access-key", "INSITU_ACCESS_KEY", "access_key", "", "access key ID", func(s *Settings) *string { return &s.AccessKey }},
		{"secret-key", "INSITU_SECRET_KEY", "secret_key", "", "secret access key", func(s *Settings) *string { return &s.SecretKey }},
		{"region", "INSITU_REGION", "region", DefaultRegion, "signing region", func(s *Settings) *string { return &s.Region }},
		{"ca-cert", "INSITU_CA_CERT", "ca_cert", "", "PEM `file` of CA certificates to trust", func(s *Settings) *string { return &s.CACert }},
	}
}

// globals holds the streams and the root's persistent flags, shared by the
// client commands of one command tree.
type globals struct {
	streams   Streams
	lookupEnv func(string) (string, bool)
}

// addFlags declares the persistent connection flags on root. Their values
// are read back from the flag set at run time (see resolve), so a flag's
// Changed state decides precedence.
func (g *globals) addFlags(root *cobra.Command) {
	pf := root.PersistentFlags()
	for _, s := range settingsTable() {
		pf.String(s.flag, "", fmt.Sprintf("%s (env %s, profile key %s, default %q)", s.usage, s.env, s.key, s.def))
	}
	pf.String("profile", "", fmt.Sprintf("profile in the config file (env INSITU_PROFILE, default %q)", DefaultProfile))
	pf.Bool("insecure", false, "skip TLS certificate verification (env INSITU_INSECURE, profile key insecure)")
}

// env returns a non-empty environment variable.
func (g *globals) env(name string) (string, bool) {
	v, ok := g.lookupEnv(name)
	return v, ok && v != ""
}

// resolve computes the Settings for the command whose flags are fs:
// flag, then environment, then profile, then default.
func (g *globals) resolve(fs *pflag.FlagSet) (Settings, error) {
	var st Settings
	changed := func(name string) (string, bool) {
		f := fs.Lookup(name)
		if f == nil || !f.Changed {
			return "", false
		}
		return f.Value.String(), true
	}

	var explicit bool
	st.Profile, explicit = changed("profile")
	if !explicit {
		st.Profile, explicit = g.env("INSITU_PROFILE")
	}
	if !explicit {
		st.Profile = DefaultProfile
	}
	path, err := configPath(g.env)
	if err != nil {
		return st, err
	}
	st.ConfigFile = path
	prof, err := loadProfile(path, st.Profile, explicit)
	if err != nil {
		return st, err
	}

	for _, s := range settingsTable() {
		dst := s.dst(&st)
		if v, ok := changed(s.flag); ok {
			*dst = v
		} else if v, ok := g.env(s.env); ok {
			*dst = v
		} else if v, ok := prof[s.key]; ok && v != "" {
			*dst = v
		} else {
			*dst = s.def
		}
	}

	insecure, src := "", "--insecure"
	if v, ok := changed("insecure"); ok {
		insecure = v
	} else if v, ok := g.env("INSITU_INSECURE"); ok {
		insecure, src = v, "INSITU_INSECURE"
	} else if v, ok := prof["insecure"]; ok {
		insecure, src = v, "profile key insecure"
	}
	if insecure != "" {
		b, err := strconv.ParseBool(insecure)
		if err != nil {
			return st, fmt.Errorf("%s: %q is not a boolean", src, insecure)
		}
		st.Insecure = b
	}
	return st, nil
}

// configPath returns $XDG_CONFIG_HOME/insitu/config, or
// $HOME/.config/insitu/config when XDG_CONFIG_HOME is unset or relative.
func configPath(env func(string) (string, bool)) (string, error) {
	if dir, ok := env("XDG_CONFIG_HOME"); ok && filepath.IsAbs(dir) {
		return filepath.Join(dir, "insitu", "config"), nil
	}
	home, ok := env("HOME")
	if !ok {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot locate the config file: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".config", "insitu", "config"), nil
}

// loadProfile reads one profile's keys from the config file at path. A
// missing file or profile is an error only when the profile was asked for
// explicitly.
func loadProfile(path, profile string, explicit bool) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if explicit {
			return nil, fmt.Errorf("profile %q: config file %s does not exist", profile, path)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	sections, err := parseINI(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	prof, ok := sections[profile]
	if !ok && explicit {
		return nil, fmt.Errorf("profile %q not found in %s", profile, path)
	}
	return prof, nil
}
