package dnsface

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// captureWriter is a dns.ResponseWriter that keeps what the handler writes,
// over UDP or TCP as told.
type captureWriter struct {
	tcp  bool
	msgs []*dns.Msg
}

func (w *captureWriter) LocalAddr() net.Addr {
	if w.tcp {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
	}
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
}
func (w *captureWriter) RemoteAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 5353}
}
func (w *captureWriter) WriteMsg(m *dns.Msg) error   { w.msgs = append(w.msgs, m); return nil }
func (w *captureWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *captureWriter) Close() error                { return nil }
func (w *captureWriter) TsigStatus() error           { return nil }
func (w *captureWriter) TsigTimersOnly(bool)         {}
func (w *captureWriter) Hijack()                     {}

// FuzzDNSQuery feeds arbitrary bytes, parsed as the server parses a packet,
// to the handler: it must never panic, and every parseable query gets
// exactly one reply that packs, matches the query's id and question, and
// fits the client's size over UDP.
func FuzzDNSQuery(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"n1.node.insitu.", dns.TypeA}, {"node.insitu.", dns.TypeA}, {"_insitu._tcp.node.insitu.", dns.TypeSRV},
		{"THUMBS.svc.insitu.", dns.TypeANY}, {"_thumbs._tcp.svc.insitu.", dns.TypeSRV}, {"b.zone.insitu.", dns.TypeAAAA},
		{"insitu.", dns.TypeSOA}, {"nope.svc.insitu.", dns.TypeA}, {"example.com.", dns.TypeA},
	} {
		m := new(dns.Msg).SetQuestion(q.name, q.qtype)
		b, _ := m.Pack()
		f.Add(b)
		b, _ = m.SetEdns0(1232, true).Pack()
		f.Add(b)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	s, err := New(Config{Addr: "127.0.0.1:0", Source: manyNodes(60)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(dns.Msg)
		if req.Unpack(data) != nil {
			return
		}
		w := &captureWriter{tcp: len(data)%2 == 1}
		s.ServeDNS(w, req)
		checkReply(t, req, w)
	})
}

// checkReply checks the one reply in w against req.
func checkReply(t *testing.T, req *dns.Msg, w *captureWriter) {
	if len(w.msgs) != 1 {
		t.Fatalf("%d replies", len(w.msgs))
	}
	r := w.msgs[0]
	wire, err := r.Pack()
	if err != nil {
		t.Fatalf("reply does not pack: %v\n%v", err, r)
	}
	back := new(dns.Msg)
	if err := back.Unpack(wire); err != nil {
		t.Fatalf("reply does not parse back: %v", err)
	}
	if back.Id != req.Id || !back.Response || back.Opcode != req.Opcode {
		t.Fatalf("reply header %v for query %v", back.MsgHdr, req.MsgHdr)
	}
	if len(req.Question) == 1 && (len(back.Question) != 1 || back.Question[0] != req.Question[0]) {
		t.Fatalf("reply question %v for %v", back.Question, req.Question)
	}
	limit := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		limit = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDP)
	}
	if !w.tcp && len(wire) > limit {
		t.Fatalf("udp reply of %d bytes, client takes %d", len(wire), limit)
	}
}

// manyNodes is a Source of n up nodes in three zones, enough for answers to
// need truncation.
func manyNodes(n int) staticSource {
	src := fixture()
	for i := range n {
		src.nodes = append(src.nodes, NodeInfo{
			Name: "m" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Zone: string(rune('a' + i%3)),
			IP: net.IPv4(10, 0, byte(i/250), byte(i%250+1)), Port: 9000 + i, Up: true,
		})
	}
	return src
}
