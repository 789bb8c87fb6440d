// Package freeport picks TCP ports for servers that must be told their
// port before they bind it (an etcd member advertises its URLs first).
//
// A port the kernel hands out for "port 0" comes from its ephemeral
// range, the same range outgoing connections take their local ports
// from; between the probe closing and the server binding, a connection
// may take it ("address already in use"). Pick chooses below that
// range instead, where only an explicit bind can take a port.
package freeport

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// floor is the lowest port Pick chooses: above the registered ports most
// local services use.
const floor = 10000

// tries bounds how many random ports Pick probes.
const tries = 64

// Pick returns a port on host that was free a moment ago, chosen at
// random between 10000 and the start of the ephemeral range. Where that
// range starts too low to leave room, it falls back to the kernel's
// choice (port 0). Safe for concurrent use.
func Pick(host string) (int, error) {
	lo := ephemeralStart()
	if lo-floor < 1000 {
		return probe(host, 0)
	}
	var err error
	for range tries {
		var p int
		if p, err = probe(host, floor+rand.IntN(lo-floor)); err == nil {
			return p, nil
		}
	}
	return 0, err
}

// probe binds host:port and closes it, returning the port bound.
func probe(host string, port int) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ephemeralStart returns the first port of the kernel's ephemeral range,
// or 0 where it cannot be read (not Linux).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return n
}
