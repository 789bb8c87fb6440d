package scheduler

// idTable maps node ids to entry numbers for one placeIndexed call: open
// addressing with linear probing over a power-of-two array at most half
// full, holding entry number + 1 (0: empty). It holds no pointers, so
// building it costs one allocation the collector does not scan (a Go map
// of 5,000 string keys was most of the index's build time).
type idTable struct {
	slots []int32
	mask  uint64
}

func newIDTable(n int) idTable {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	return idTable{slots: make([]int32, size), mask: uint64(size - 1)}
}

// hashID is 64-bit FNV-1a with the high half folded into the low bits the
// mask keeps.
func hashID(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h ^ h>>32
}

// find returns id's entry number (-1: absent) and the slot that holds it
// or would.
func (t idTable) find(x *index, id string) (int, uint64) {
	for p := hashID(id) & t.mask; ; p = (p + 1) & t.mask {
		v := t.slots[p]
		if v == 0 {
			return -1, p
		}
		if x.id(int(v-1)) == id {
			return int(v - 1), p
		}
	}
}
