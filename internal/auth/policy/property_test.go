package policy

import (
	"encoding/json"
	"math/rand"
	"regexp"
	"strings"
	"testing"
)

// TestExplicitDenyWins is the property: whatever else a policy holds, a
// request that a Deny statement without conditions names (its principal,
// action and resource) is never allowed. Seeded, so a failure repeats.
func TestExplicitDenyWins(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	principals := []string{"*", "AIDAAAAAAAAAAAAAAAAA", bobID, "root"}
	actions := []string{"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "s3:Get*", "s3:*", "*"}
	resources := []string{"arn:aws:s3:::pics", "arn:aws:s3:::pics/*", "arn:aws:s3:::pics/a/*", "arn:aws:s3:::pics/a/b", "arn:aws:s3:::pics/?/b"}
	pick := func(list []string) string { return list[rng.Intn(len(list))] }
	for iter := 0; iter < 2000; iter++ {
		var stmts []map[string]any
		for n := rng.Intn(5); n > 0; n-- {
			st := map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": pick(principals)},
				"Action": pick(actions), "Resource": pick(resources)}
			if rng.Intn(3) == 0 {
				st["Condition"] = map[string]any{"StringNotLike": map[string]any{"s3:prefix": "x*"}}
			}
			stmts = append(stmts, st)
		}
		dp, da, dr := pick(principals), pick(actions), pick(resources)
		deny := map[string]any{"Effect": "Deny", "Principal": map[string]any{"AWS": dp}, "Action": da, "Resource": dr}
		at := rng.Intn(len(stmts) + 1)
		stmts = append(stmts[:at], append([]map[string]any{deny}, stmts[at:]...)...)
		doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
		p, err := Parse(doc, "pics")
		if err != nil {
			t.Fatalf("Parse(%s): %v", doc, err)
		}
		for try := 0; try < 20; try++ {
			req := Request{Principal: pick(principals[1:]), Action: pick(actions[:4]),
				Resource: pick([]string{"arn:aws:s3:::pics", "arn:aws:s3:::pics/a/b", "arn:aws:s3:::pics/c", "arn:aws:s3:::pics/a/*b", "arn:aws:s3:::pics/?/b"}),
				Context:  map[string][]string{"s3:prefix": {pick([]string{"a", "xy"})}}}
			named := (dp == "*" || dp == req.Principal) && globMatch(toLower(da), toLower(req.Action)) && globMatch(dr, req.Resource)
			if named && p.Evaluate(req) != Denied {
				t.Fatalf("policy %s allows %+v, which its Deny names", doc, req)
			}
		}
	}
}

// globMatch is an oracle for Match written independently of it: the
// pattern as a regular expression.
func globMatch(pattern, s string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile("(?s)" + re).MatchString(s)
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
