package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// fakeMembers returns n members named n0.., spread round-robin over zones
// z0..z(zones-1), all of weight 1.
func fakeMembers(n, zones int) []Member {
	out := make([]Member, n)
	for i := range out {
		out[i] = Member{Name: fmt.Sprintf("n%d", i), Zone: fmt.Sprintf("z%d", i%zones), Weight: 1}
	}
	return out
}

func names(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

func sortedNames(ms []Member) []string {
	out := names(ms)
	slices.Sort(out)
	return out
}

func zoneCount(ms []Member) int {
	z := map[string]bool{}
	for _, m := range ms {
		z[m.Zone] = true
	}
	return len(z)
}

func TestPlaceZoneSpread(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ nodes, zones int }{
		{1, 1}, {3, 3}, {4, 3}, {5, 2}, {9, 3}, {12, 5}, {20, 4},
	} {
		members := fakeMembers(tc.nodes, tc.zones)
		for n := 1; n <= tc.nodes+1; n++ {
			for k := 0; k < 300; k++ {
				key := fmt.Sprintf("k%d", rng.Uint64())
				got := Place(members, "b", key, n)
				want := min(n, tc.nodes)
				if len(got) != want {
					t.Fatalf("%+v n=%d: %d picks, want %d", tc, n, len(got), want)
				}
				if u := len(slices.Compact(sortedNames(got))); u != want {
					t.Fatalf("%+v n=%d: duplicates in %v", tc, n, names(got))
				}
				wantZones := min(n, tc.zones)
				if z := zoneCount(got[:wantZones]); z != wantZones {
					t.Fatalf("%+v n=%d: first %d picks %v cover %d zones", tc, n, wantZones, got, z)
				}
			}
		}
	}
}

// TestPlaceZoneOrder pins the documented order: the zone picks are the
// best member of each zone in rank order, then the rest by rank.
func TestPlaceZoneOrder(t *testing.T) {
	members := fakeMembers(7, 3)
	for k := 0; k < 500; k++ {
		key := fmt.Sprintf("key-%d", k)
		ranked := Rank(members, "b", key)
		var want, rest []Member
		seen := map[string]bool{}
		for _, m := range ranked {
			if !seen[m.Zone] {
				seen[m.Zone] = true
				want = append(want, m)
			} else {
				rest = append(rest, m)
			}
		}
		want = append(want, rest...)
		for n := 1; n <= 8; n++ {
			got := Place(members, "b", key, n)
			if !slices.Equal(names(got), names(want[:min(n, 7)])) {
				t.Fatalf("key %s n=%d: got %v want %v", key, n, names(got), names(want[:min(n, 7)]))
			}
		}
	}
}

func TestPlaceEdges(t *testing.T) {
	members := fakeMembers(3, 2)
	for _, tc := range []struct {
		name    string
		members []Member
		n, want int
	}{
		{"zero n", members, 0, 0},
		{"negative n", members, -1, 0},
		{"no members", nil, 3, 0},
		{"n beyond members", members, 10, 3},
	} {
		if got := Place(tc.members, "b", "k", tc.n); len(got) != tc.want {
			t.Errorf("%s: %d picks, want %d", tc.name, len(got), tc.want)
		}
	}
	if r := Rank(nil, "b", "k"); len(r) != 0 {
		t.Errorf("Rank(nil) = %v", r)
	}
}

// TestPlaceMinimalMovement adds and removes one member and checks that a
// key's set changes only to take in the new member, or only where the
// removed member was; for n=1 the moved fraction is close to 1/(M+1).
func TestPlaceMinimalMovement(t *testing.T) {
	const keys = 10000
	for _, tc := range []struct{ nodes, zones, n int }{
		{10, 1, 1}, {10, 3, 1}, {10, 3, 2}, {10, 3, 3}, {10, 3, 4}, {6, 2, 3}, {5, 5, 3},
	} {
		t.Run(fmt.Sprintf("M%d_Z%d_n%d", tc.nodes, tc.zones, tc.n), func(t *testing.T) {
			before := fakeMembers(tc.nodes, tc.zones)
			added := Member{Name: "new", Zone: "z0", Weight: 1}
			if tc.zones == tc.nodes {
				added.Zone = "znew" // a new zone: the hardest case
			}
			after := append(slices.Clone(before), added)
			moved := 0
			for k := 0; k < keys; k++ {
				key := fmt.Sprintf("obj/%d", k)
				old := sortedNames(Place(before, "bkt", key, tc.n))
				cur := sortedNames(Place(after, "bkt", key, tc.n))
				if !slices.Equal(old, cur) {
					moved++
					if !slices.Contains(cur, "new") {
						t.Fatalf("join: key %s moved %v -> %v without the new member", key, old, cur)
					}
				}
				// Removing an old member moves only keys it held.
				gone := before[k%len(before)].Name
				less := slices.DeleteFunc(slices.Clone(before), func(m Member) bool { return m.Name == gone })
				if shrunk := sortedNames(Place(less, "bkt", key, tc.n)); !slices.Equal(old, shrunk) && !slices.Contains(old, gone) {
					t.Fatalf("leave %s: key %s moved %v -> %v though it did not hold it", gone, key, old, shrunk)
				}
			}
			if tc.n == 1 {
				frac, want := float64(moved)/keys, 1/float64(tc.nodes+1)
				if math.Abs(frac-want) > 0.015 {
					t.Fatalf("moved %.4f of keys, want %.4f ± 0.015", frac, want)
				}
			}
		})
	}
}

func TestPlaceWeights(t *testing.T) {
	const keys = 20000
	members := []Member{
		{Name: "a", Zone: "z", Weight: 1},
		{Name: "b", Zone: "z", Weight: 1},
		{Name: "c", Zone: "z", Weight: 2},
		{Name: "d", Zone: "z", Weight: 0}, // counts as 1
	}
	first := map[string]int{}
	for k := 0; k < keys; k++ {
		first[Place(members, "bkt", fmt.Sprintf("w%d", k), 1)[0].Name]++
	}
	// Shares are weight/sum(weights): 1/5, 1/5, 2/5, 1/5.
	for name, w := range map[string]float64{"a": 1, "b": 1, "c": 2, "d": 1} {
		want := keys * w / 5
		if got := float64(first[name]); math.Abs(got-want) > 0.06*want {
			t.Errorf("%s (weight %v): %v first picks, want %v ± 6%%", name, w, got, want)
		}
	}
	if r := float64(first["c"]) / float64(first["a"]); math.Abs(r-2) > 0.2 {
		t.Errorf("weight 2 / weight 1 first picks = %.2f, want 2 ± 0.2", r)
	}
}

func TestPlaceMemberOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	members := fakeMembers(9, 3)
	members[4].Weight = 3
	for k := 0; k < 2000; k++ {
		key := fmt.Sprintf("o%d", k)
		want := names(Place(members, "b", key, 4))
		wantRank := names(Rank(members, "b", key))
		shuffled := slices.Clone(members)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := names(Place(shuffled, "b", key, 4)); !slices.Equal(got, want) {
			t.Fatalf("key %s: Place %v after shuffle, want %v", key, got, want)
		}
		if got := names(Rank(shuffled, "b", key)); !slices.Equal(got, wantRank) {
			t.Fatalf("key %s: Rank %v after shuffle, want %v", key, got, wantRank)
		}
	}
}

// TestRankStable pins the hash: placements must agree across processes,
// machines and releases, so a change of these values is a data migration.
func TestRankStable(t *testing.T) {
	members := fakeMembers(5, 5)
	for _, tc := range []struct {
		bucket, key string
		want        []string
	}{
		{"photos", "a.jpg", []string{"n0", "n1", "n3", "n2", "n4"}},
		{"photos", "b.jpg", []string{"n1", "n0", "n3", "n4", "n2"}},
		{"logs", "2026/11/29", []string{"n1", "n4", "n3", "n0", "n2"}},
	} {
		if got := names(Rank(members, tc.bucket, tc.key)); !slices.Equal(got, tc.want) {
			t.Errorf("%s/%s: Rank %q, want %q", tc.bucket, tc.key, got, tc.want)
		}
	}
}

// TestRankKeyBoundary checks that the bucket/key separator matters:
// "ab"+"c" and "a"+"bc" rank independently.
func TestRankKeyBoundary(t *testing.T) {
	members := fakeMembers(20, 1)
	same := 0
	for k := 0; k < 200; k++ {
		x := Rank(members, fmt.Sprintf("b%dx", k), "y")
		y := Rank(members, fmt.Sprintf("b%d", k), "xy")
		if slices.Equal(names(x), names(y)) {
			same++
		}
	}
	if same > 2 {
		t.Fatalf("%d of 200 bucket/key splits ranked identically", same)
	}
}
