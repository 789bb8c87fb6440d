package cluster

import "github.com/prometheus/client_golang/prometheus"

// Register adds the cluster's metrics to reg, read from the membership
// view and this node's repair progress at scrape time.
func (c *Cluster) Register(reg prometheus.Registerer) error {
	repair := func(f func(RepairStats) float64) func() float64 {
		return func() float64 { return f(c.view.repairStats()) }
	}
	nodes := func(state string) func() float64 {
		return func() float64 {
			k := 0
			for _, n := range c.Nodes() {
				if n.State == state {
					k++
				}
			}
			return float64(k)
		}
	}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "insitu_cluster_under_replicated",
			Help: "Objects this node found with fewer copies than wanted and has not repaired yet."},
			repair(func(r RepairStats) float64 { return float64(r.UnderReplicated) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "insitu_cluster_objects",
			Help: "Objects this node held at its last repair pass."},
			repair(func(r RepairStats) float64 { return float64(r.Objects) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "insitu_cluster_repair_passes_total",
			Help: "Repair passes this node completed."},
			repair(func(r RepairStats) float64 { return float64(r.Passes) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "insitu_cluster_repair_copied_total",
			Help: "Replicas this node's repair wrote (to others or to itself)."},
			repair(func(r RepairStats) float64 { return float64(r.Copied) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "insitu_cluster_repair_dropped_total",
			Help: "Local copies this node's repair dropped (moved, stale, or expired tombstones)."},
			repair(func(r RepairStats) float64 { return float64(r.Dropped) })),
	}
	for _, st := range []string{StateUp, StateDown, StateDraining} {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "insitu_cluster_nodes",
			Help: "Nodes in the cluster by state, as this node sees them.", ConstLabels: prometheus.Labels{"state": st}}, nodes(st)))
	}
	for _, col := range cs {
		if err := reg.Register(col); err != nil {
			return err
		}
	}
	return nil
}
