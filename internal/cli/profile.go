package cli

import (
	"bytes"
	"fmt"
	"strings"
)

// The config file is INI-style:
//
//	# comment
//	[default]
//	endpoint = http://127.0.0.1:8773
//	access_key = AK...
//	secret_key = ...
//	region = us-east-1
//
// A section header may also be written "[profile NAME]". Keys are
// case-insensitive; values may be quoted with '"' or '\''.

// sectionName returns the profile name of a "[...]" line, or ok=false.
func sectionName(line string) (name string, ok bool) {
	if !strings.HasPrefix(line, "[") || !strings.HasSuffix(line, "]") {
		return "", false
	}
	name = strings.TrimSpace(line[1 : len(line)-1])
	if rest, found := strings.CutPrefix(name, "profile "); found {
		name = strings.TrimSpace(rest)
	}
	return name, true
}

// keyValue splits a "key = value" line.
func keyValue(line string) (key, value string, ok bool) {
	k, v, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", false
	}
	key = strings.ToLower(strings.TrimSpace(k))
	value = strings.TrimSpace(v)
	if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
		value = value[1 : len(value)-1]
	}
	return key, value, key != ""
}

func isComment(line string) bool {
	return line == "" || line[0] == '#' || line[0] == ';'
}

// parseINI parses the config file into profile -> key -> value.
func parseINI(data []byte) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	var cur map[string]string
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if isComment(line) {
			continue
		}
		if name, ok := sectionName(line); ok {
			if name == "" {
				return nil, fmt.Errorf("line %d: empty section name", i+1)
			}
			if out[name] == nil {
				out[name] = map[string]string{}
			}
			cur = out[name]
			continue
		}
		k, v, ok := keyValue(line)
		if !ok {
			return nil, fmt.Errorf("line %d: expected [profile] or key = value", i+1)
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: %q is outside a [profile] section", i+1, k)
		}
		cur[k] = v
	}
	return out, nil
}

// setProfile returns data with profile's keys set to values (in the order
// given), editing lines in place: comments, other profiles and other keys
// are kept. A missing profile is appended; missing keys are added at the
// end of their section.
func setProfile(data []byte, profile string, values [][2]string) []byte {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(data) == 0 {
		lines = nil
	}
	start, end := -1, len(lines) // the section's header line and its end
	for i, raw := range lines {
		name, ok := sectionName(strings.TrimSpace(raw))
		if !ok {
			continue
		}
		if start >= 0 {
			end = i
			break
		}
		if name == profile {
			start = i
		}
	}
	if start < 0 {
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines, "["+profile+"]")
		start, end = len(lines)-1, len(lines)
	}
	done := map[string]bool{}
	set := map[string]string{}
	for _, kv := range values {
		set[kv[0]] = kv[1]
	}
	for i := start + 1; i < end; i++ {
		k, _, ok := keyValue(strings.TrimSpace(lines[i]))
		if v, want := set[k]; ok && want && !isComment(strings.TrimSpace(lines[i])) {
			lines[i] = k + " = " + v
			done[k] = true
		}
	}
	// Insert missing keys after the section's last non-blank line.
	at := end
	for at > start+1 && strings.TrimSpace(lines[at-1]) == "" {
		at--
	}
	var add []string
	for _, kv := range values {
		if !done[kv[0]] {
			add = append(add, kv[0]+" = "+kv[1])
		}
	}
	lines = append(lines[:at], append(add, lines[at:]...)...)
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
