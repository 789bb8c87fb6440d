package main

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"time"
)

// hangups measures what clients that hang up cost t (a server in its own
// process, with workers: insitu): n requests, each on a new connection
// closed right after the request is sent (a pause between them, so each
// is its own event), the server's CPU for them (t.pids, reaped children
// included) per hang-up, and whether its worker processes are the same
// after: a run killed because its client left costs a new worker process.
func hangups(t target, n int) error {
	u, err := url.Parse(t.url)
	if err != nil {
		return err
	}
	req := []byte("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\n\r\n")
	workersBefore := liveChildren(t)
	before := cpuOf(t.pids())
	for range n {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			return err
		}
		if _, err := c.Write(req); err != nil {
			c.Close()
			return err
		}
		c.Close()
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the runs of the last ones end or are killed
	cpu := cpuOf(t.pids()) - before
	same := slices.Equal(workersBefore, liveChildren(t))
	fmt.Printf("| %s | %d | %s | %v |\n", t.name, n, perRequest(cpu, int64(n)), same)
	return nil
}

// liveChildren is t's live worker processes, sorted.
func liveChildren(t target) []int {
	var kids []int
	for _, p := range t.pids() {
		if p > 0 {
			kids = append(kids, p)
		}
	}
	slices.Sort(kids)
	return kids
}
