package cluster

import (
	"math"
	"sort"
)

// Member is one node as placement sees it.
type Member struct {
	Name   string // unique node name
	Zone   string
	Weight float64 // relative capacity (e.g. disk bytes or slots); <= 0 counts as 1
}

// Place returns up to n distinct members for the object bucket/key, best
// first, by weighted rendezvous (highest random weight) hashing of
// bucket+"\x00"+key with each member's name: the first picks cover as many
// distinct zones as exist (one per zone, in rank order), then the rest are
// filled by rank from the remaining members. Deterministic for a given
// member set (order of the members slice does not matter). n > len(members)
// returns all members ranked; n <= 0 returns nil.
//
// Adding a member changes the chosen set of a key only to include the new
// member, and removing one changes only the sets that held it. Place is a
// pure function: safe for concurrent use, members is not modified.
func Place(members []Member, bucket, key string, n int) []Member {
	if n <= 0 || len(members) == 0 {
		return nil
	}
	ranked := Rank(members, bucket, key)
	n = min(n, len(ranked))
	out := make([]Member, 0, n)
	taken := make([]bool, len(ranked))
	seenZone := make(map[string]bool, n)
	for i, m := range ranked {
		if len(out) == n {
			break
		}
		if !seenZone[m.Zone] {
			seenZone[m.Zone] = true
			taken[i] = true
			out = append(out, m)
		}
	}
	for i, m := range ranked {
		if len(out) == n {
			break
		}
		if !taken[i] {
			out = append(out, m)
		}
	}
	return out
}

// Rank returns every member ordered by its rendezvous score for bucket/key
// (highest first, ignoring zones). Equal scores, which need equal hashes,
// are ordered by name so the result never depends on the input order.
// The result is a new slice; members is not modified.
func Rank(members []Member, bucket, key string) []Member {
	type scored struct {
		m     Member
		score float64
	}
	base := fnvString(fnvOffset, bucket)
	base = fnvByte(base, 0)
	base = fnvString(base, key)
	base = fnvByte(base, 0)
	all := make([]scored, len(members))
	for i, m := range members {
		all[i] = scored{m, score(base, m)}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			return all[i].score > all[j].score
		}
		return all[i].m.Name < all[j].m.Name
	})
	out := make([]Member, len(all))
	for i, s := range all {
		out[i] = s.m
	}
	return out
}

// score is the weighted rendezvous score -weight/ln(u) of one member, where
// u in (0,1) comes from the key's hash state base extended by the member's
// name. A member of weight w is first for a share w/sum(weights) of keys.
func score(base uint64, m Member) float64 {
	w := m.Weight
	if w <= 0 || math.IsNaN(w) || math.IsInf(w, 0) {
		w = 1
	}
	h := mix64(fnvString(base, m.Name))
	// 53 high bits, offset by half a step: u is never 0 nor 1.
	u := (float64(h>>11) + 0.5) / (1 << 53)
	return -w / math.Log(u)
}

const (
	fnvOffset = 14695981039346656037 // FNV-1a 64 offset basis
	fnvPrime  = 1099511628211        // FNV-1a 64 prime
)

// fnvString extends the FNV-1a 64 state h with the bytes of s. The result
// is the same on every process and machine (unlike hash/maphash).
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = fnvByte(h, s[i])
	}
	return h
}

func fnvByte(h uint64, b byte) uint64 {
	return (h ^ uint64(b)) * fnvPrime
}

// mix64 is the splitmix64 finalizer: it spreads FNV's weak high bits so
// that the derived u is close to uniform.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
