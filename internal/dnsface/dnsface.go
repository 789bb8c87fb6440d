package dnsface

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Defaults for Config fields left zero.
const (
	DefaultDomain       = "insitu."
	DefaultTTL          = 5
	DefaultQueryTimeout = 2 * time.Second
)

// NodeInfo is one node as the DNS face sees it.
type NodeInfo struct {
	Name string // one DNS label; matched without regard to case
	Zone string
	IP   net.IP // IPv4 answers A, IPv6 answers AAAA
	Port int    // the node's insitu port, for SRV records
	Up   bool
}

// Source supplies the records. Its methods are called on every query,
// concurrently, and must be safe for that.
type Source interface {
	// Nodes returns every known node, up or not.
	Nodes(ctx context.Context) ([]NodeInfo, error)
	// Services returns the names of the services that exist, public or
	// not: service names are global.
	Services(ctx context.Context) ([]string, error)
}

// Config configures a Server.
type Config struct {
	Addr         string        // HOST:PORT for UDP and TCP both; port 0 picks a free one
	Domain       string        // zone apex; default "insitu."; a trailing dot is added
	TTL          uint32        // TTL of every record; default 5 (seconds)
	QueryTimeout time.Duration // bound on the Source calls of one query; default 2s
	Source       Source        // required
	Logger       *slog.Logger  // default discards
}

// New checks cfg, fills its defaults and returns a Server that is not yet
// listening.
func New(cfg Config) (*Server, error) {
	if cfg.Source == nil {
		return nil, errors.New("dnsface: Config.Source is required")
	}
	if cfg.Addr == "" {
		return nil, errors.New("dnsface: Config.Addr is required")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("dnsface: address %q: %w", cfg.Addr, err)
	}
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	cfg.Domain = strings.ToLower(dns.Fqdn(cfg.Domain))
	if _, ok := dns.IsDomainName(cfg.Domain); !ok || cfg.Domain == "." {
		return nil, fmt.Errorf("dnsface: domain %q is not a domain name below the root", cfg.Domain)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = DefaultQueryTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	base, cancel := context.WithCancel(context.Background())
	return &Server{
		base:   base,
		cancel: cancel,
		cfg:    cfg,
		labels: dns.SplitDomainName(cfg.Domain),
		log:    cfg.Logger.With("face", "dns"),
	}, nil
}
