package services

import "testing"

// A direct worker runs guests: of what it journals, the server stores
// only its own account's run records.
func TestDirectRecordKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"runs/acct1/0193a1b2-0000-7000-8000-000000000000": true,
		"runs/acct1/":                            false,
		"runs/acct2/x":                           false,
		"runs/acct1/x/y":                         false,
		"runs/acct1/x\x00":                       false,
		"accounts/acct1":                         false,
		"services/hello":                         false,
		"runs/acct1x/y":                          false,
		"#svcstat":                               false,
		"runs/acct1/" + string(make([]byte, 65)): false,
	} {
		if got := directRecordKey(key, "acct1"); got != ok {
			t.Errorf("directRecordKey(%q) = %v, want %v", key, got, ok)
		}
	}
}

func TestJournalName(t *testing.T) {
	owner, name, ok := parseJournalName(journalName("root", "hello-2", 7))
	if !ok || owner != "root" || name != "hello-2" {
		t.Fatalf("round trip: %q %q %v", owner, name, ok)
	}
	for _, bad := range []string{"hello-3.journal", "a~b.journal", "../x~hello~1.journal", "a~Hello~1.journal", "a~b~c~d.journal"} {
		if _, _, ok := parseJournalName(bad); ok {
			t.Errorf("parseJournalName(%q) accepted", bad)
		}
	}
}
