package cluster

// nonceLen is the length in bytes of a request nonce (hex on the wire).
const nonceLen = 16

// nonces is a replay memory: a set of nonces and, in the order they
// arrived, each one with the time its request carried. It is not safe for
// concurrent use; Signer guards it.
type nonces struct {
	set   map[[nonceLen]byte]struct{}
	queue []seenNonce // arrival order; queue[head:] are live
	head  int
}

type seenNonce struct {
	n [nonceLen]byte
	t int64 // the request's time, Unix ns
}

// add records n with its request time t and reports whether it was new.
func (s *nonces) add(n [nonceLen]byte, t int64) bool {
	if _, dup := s.set[n]; dup {
		return false
	}
	s.set[n] = struct{}{}
	s.queue = append(s.queue, seenNonce{n: n, t: t})
	return true
}

// forget drops, from the front of the arrival order, the nonces whose
// request time is before cutoff. A nonce behind a newer one waits for it:
// kept longer, never dropped early. The queue's storage is reused once
// half of it is dead.
func (s *nonces) forget(cutoff int64) {
	for s.head < len(s.queue) && s.queue[s.head].t < cutoff {
		delete(s.set, s.queue[s.head].n)
		s.head++
	}
	if s.head > 1024 && s.head*2 >= len(s.queue) {
		s.queue = append(s.queue[:0], s.queue[s.head:]...)
		s.head = 0
	}
}
