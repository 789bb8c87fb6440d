package dnsface

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Server is the DNS face. Start binds and serves; Close stops. Its methods
// are safe for concurrent use; ServeDNS may run on many goroutines at once.
type Server struct {
	cfg    Config
	labels []string // cfg.Domain split into labels, lower case
	log    *slog.Logger
	turn   atomic.Uint64 // round-robin position, one step per query

	mu      sync.Mutex
	started bool
	base    context.Context    // parent of every query's context; set by New, cancelled by shutdown
	cancel  context.CancelFunc // cancels base
	udp     *dns.Server
	tcp     *dns.Server
	addr    string
	stop    func() bool // unregisters the Start ctx watcher
	wg      sync.WaitGroup
	once    sync.Once
	closed  bool
}

// ioTimeout bounds each read and write on a connection.
const ioTimeout = 2 * time.Second

// Start binds cfg.Addr over UDP and TCP (the same port; with port 0 one free
// for both) and serves each in a goroutine the Server owns. It returns once
// both are serving. Cancelling ctx later shuts the server down as Close
// does (Close must still be called to wait for it). Start may be called once.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return errors.New("dnsface: already started or closed")
	}
	s.started = true
	pc, ln, err := listen(s.cfg.Addr)
	if err != nil {
		return err
	}
	s.addr = pc.LocalAddr().String()
	s.udp = &dns.Server{PacketConn: pc, Handler: s, ReadTimeout: ioTimeout, WriteTimeout: ioTimeout}
	s.tcp = &dns.Server{Listener: ln, Handler: s, ReadTimeout: ioTimeout, WriteTimeout: ioTimeout}
	if err := s.serve(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		s.shutdown()
		s.wg.Wait()
		return err
	}
	s.stop = context.AfterFunc(ctx, s.shutdown)
	s.log.InfoContext(ctx, "dns face listening", "addr", s.addr, "domain", s.cfg.Domain)
	return nil
}

// serve runs the UDP and TCP servers and waits until both serve. On failure
// it shuts down whatever started.
func (s *Server) serve() error {
	ready := make(chan struct{}, 2)
	failed := make(chan error, 2)
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		srv.NotifyStartedFunc = func() { ready <- struct{}{} }
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := srv.ActivateAndServe(); err != nil {
				s.log.Warn("dns face stopped", "err", err)
				failed <- err
			}
		}()
	}
	for range 2 {
		select {
		case <-ready:
		case err := <-failed:
			s.shutdown()
			// A server that had not started yet serves until its socket closes.
			s.udp.PacketConn.Close()
			s.tcp.Listener.Close()
			s.wg.Wait()
			return fmt.Errorf("dnsface: serve: %w", err)
		}
	}
	return nil
}

// shutdown stops both servers once; it does not wait for their goroutines.
func (s *Server) shutdown() {
	s.once.Do(func() {
		s.cancel()
		for _, srv := range []*dns.Server{s.udp, s.tcp} {
			// "server not started" only when it already stopped on its own.
			_ = srv.Shutdown()
		}
	})
}

// Addr returns the bound address (host:port of the UDP socket; TCP uses the
// same port), or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Close stops serving and waits for the serving goroutines and the queries
// in flight. It is idempotent and safe before Start.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if !s.started {
		s.cancel()
		return nil
	}
	if s.stop != nil {
		s.stop()
	}
	s.shutdown()
	s.wg.Wait()
	return nil
}

// listen binds addr over UDP, then TCP on the same port. With port 0 it
// retries a few times when the UDP port it got is taken for TCP.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dnsface: address %q: %w", addr, err)
	}
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dnsface: listen udp: %w", err)
		}
		_, got, _ := net.SplitHostPort(pc.LocalAddr().String())
		ln, err := net.Listen("tcp", net.JoinHostPort(host, got))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || try == 4 {
			return nil, nil, fmt.Errorf("dnsface: listen tcp: %w", err)
		}
	}
}
