package apps

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzNameRules holds validName and validVersion to the expressions they
// replace: the same answer for every string.
func FuzzNameRules(f *testing.F) {
	nameRE := regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	versionRE := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)
	for _, s := range []string{"", "a", "hello", "Hello", "1.0.0+build", "-x", ".x", "x-", "a_b.c-d", "é", "a\n",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "v" + strings.Repeat("9", 63), "a b", "A+", "+A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validName(s), nameRE.MatchString(s); got != want {
			t.Errorf("validName(%q) = %v, the expression says %v", s, got, want)
		}
		if got, want := validVersion(s), versionRE.MatchString(s); got != want {
			t.Errorf("validVersion(%q) = %v, the expression says %v", s, got, want)
		}
	})
}
