package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// resolveArgs parses global flags from args and resolves the settings with
// the real environment (set by t.Setenv).
func resolveArgs(t *testing.T, args ...string) (Settings, error) {
	t.Helper()
	g := &globals{lookupEnv: os.LookupEnv}
	root := &cobra.Command{Use: "insitu"}
	g.addFlags(root)
	fs := root.PersistentFlags()
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return g.resolve(fs)
}

// isolateEnv clears every variable resolve reads and points the config at
// a fresh XDG_CONFIG_HOME, returning the config file path.
func isolateEnv(t *testing.T) string {
	t.Helper()
	for _, s := range settingsTable() {
		t.Setenv(s.env, "")
	}
	t.Setenv("INSITU_PROFILE", "")
	t.Setenv("INSITU_INSECURE", "")
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	return filepath.Join(dir, "insitu", "config")
}

func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

const testConfig = `[default]
endpoint = http://profile-default:1
access_key = AKPROFILE
secret_key = SKPROFILE
region = profile-region

[prod]
endpoint = https://prod:443
access_key = AKPROD
secret_key = SKPROD
insecure = true
`

func TestSettingsDefaults(t *testing.T) {
	path := isolateEnv(t)
	st, err := resolveArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{Endpoint: DefaultEndpoint, Region: DefaultRegion, Profile: DefaultProfile, ConfigFile: path}
	if st != want {
		t.Errorf("settings = %+v, want %+v", st, want)
	}
}

func TestSettingsPrecedence(t *testing.T) {
	path := isolateEnv(t)
	writeConfig(t, path, testConfig)

	// Profile over defaults.
	st, err := resolveArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	if st.Endpoint != "http://profile-default:1" || st.AccessKey != "AKPROFILE" || st.SecretKey != "SKPROFILE" || st.Region != "profile-region" {
		t.Errorf("profile: %+v", st)
	}

	// Environment over profile.
	t.Setenv("INSITU_ENDPOINT", "http://env:2")
	t.Setenv("INSITU_ACCESS_KEY", "AKENV")
	st, err = resolveArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	if st.Endpoint != "http://env:2" || st.AccessKey != "AKENV" || st.SecretKey != "SKPROFILE" {
		t.Errorf("env: %+v", st)
	}

	// Flags over environment.
	st, err = resolveArgs(t, "--endpoint", "http://flag:3", "--region", "flag-region")
	if err != nil {
		t.Fatal(err)
	}
	if st.Endpoint != "http://flag:3" || st.AccessKey != "AKENV" || st.Region != "flag-region" {
		t.Errorf("flags: %+v", st)
	}

	// An explicitly empty flag still wins.
	st, err = resolveArgs(t, "--access-key=")
	if err != nil {
		t.Fatal(err)
	}
	if st.AccessKey != "" {
		t.Errorf("empty flag: access key %q", st.AccessKey)
	}
}

func TestSettingsProfileSelection(t *testing.T) {
	path := isolateEnv(t)
	writeConfig(t, path, testConfig)

	t.Setenv("INSITU_PROFILE", "prod")
	st, err := resolveArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	if st.Profile != "prod" || st.Endpoint != "https://prod:443" || st.AccessKey != "AKPROD" || !st.Insecure || st.Region != DefaultRegion {
		t.Errorf("env profile: %+v", st)
	}

	// --profile over INSITU_PROFILE; --insecure=false over the profile.
	st, err = resolveArgs(t, "--profile", "default", "--insecure=false")
	if err != nil {
		t.Fatal(err)
	}
	if st.Profile != "default" || st.AccessKey != "AKPROFILE" || st.Insecure {
		t.Errorf("flag profile: %+v", st)
	}

	// A named profile that does not exist is an error.
	if _, err := resolveArgs(t, "--profile", "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing profile: err = %v", err)
	}
}

func TestSettingsMissingFile(t *testing.T) {
	isolateEnv(t)
	if _, err := resolveArgs(t); err != nil {
		t.Errorf("default profile without a file: %v", err)
	}
	if _, err := resolveArgs(t, "--profile", "prod"); err == nil {
		t.Error("explicit profile without a file: no error")
	}
}

func TestSettingsHomeFallback(t *testing.T) {
	isolateEnv(t)
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", "relative/ignored")
	t.Setenv("HOME", home)
	writeConfig(t, filepath.Join(home, ".config", "insitu", "config"), testConfig)
	st, err := resolveArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	if st.AccessKey != "AKPROFILE" || st.ConfigFile != filepath.Join(home, ".config", "insitu", "config") {
		t.Errorf("home fallback: %+v", st)
	}
}

func TestSettingsBadValues(t *testing.T) {
	path := isolateEnv(t)
	t.Setenv("INSITU_INSECURE", "maybe")
	if _, err := resolveArgs(t); err == nil {
		t.Error("INSITU_INSECURE=maybe accepted")
	}
	t.Setenv("INSITU_INSECURE", "")
	writeConfig(t, path, "[default]\ngarbage\n")
	if _, err := resolveArgs(t); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("malformed config: err = %v", err)
	}
}
