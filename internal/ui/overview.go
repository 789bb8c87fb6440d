package ui

import (
	"net/http"
	"time"

	"github.com/insitu-cloud/insitu/internal/cluster"
)

// bar is one capacity bar of the cluster map.
type bar struct {
	Label      string
	Used, Size string
	Pct        float64
}

// nodeRow is one node on the overview.
type nodeRow struct {
	Name, Zone, State string
	Self, Draining    bool
	Bars              []bar
	Waiting           int
	UnderReplicated   int64
}

func nodeRows(st cluster.Status) []nodeRow {
	rows := make([]nodeRow, 0, len(st.Nodes))
	for _, n := range st.Nodes {
		u := n.Usage
		rows = append(rows, nodeRow{Name: n.Name, Zone: n.Zone, State: n.State, Self: n.Name == st.Self, Draining: n.Draining,
			Waiting: u.RunsWaiting, UnderReplicated: n.Repair.UnderReplicated,
			Bars: []bar{
				{Label: "sandbox slots", Used: itoa(u.SlotsUsed), Size: itoa(u.Slots), Pct: pct(int64(u.SlotsUsed), int64(u.Slots))},
				{Label: "memory", Used: humanBytes(u.MemoryUsed), Size: humanBytes(u.Memory), Pct: pct(u.MemoryUsed, u.Memory)},
				{Label: "disk", Used: humanBytes(u.DiskUsed), Size: humanBytes(u.Disk), Pct: pct(u.DiskUsed, u.Disk)},
			}})
	}
	return rows
}

// overview shows the cluster map (nodes by zone with their capacity and
// use, the replica count and how many objects lack copies), this node's
// requests over the last hour, and the account's recent failures.
func (h *Handler) overview(c *call) error {
	var st cluster.Status
	if h.cfg.Status != nil {
		var err error
		if st, err = h.cfg.Status(c.ctx); err != nil {
			return err
		}
	}
	failures, err := h.recentFailures(c.ctx, c.s)
	if err != nil {
		return err
	}
	var tr *traffic
	if h.cfg.Requests != nil {
		// The recorder stamps requests with the wall clock (obs's
		// middleware), so it is read with that clock, not cfg.Now: a moved
		// clock would show a window the stamps are not in.
		t := trafficOf(h.cfg.Requests.Minutes(time.Now()))
		tr = &t
	}
	data := struct {
		Nodes           []nodeRow
		Replicas        int
		UnderReplicated int64
		Traffic         *traffic
		Failures        []failureRow
	}{nodeRows(st), st.Replicas, st.UnderReplicated, tr, failures}
	return h.render(c, http.StatusOK, "overview", view{Title: "Overview", Nav: "overview", Data: data})
}
