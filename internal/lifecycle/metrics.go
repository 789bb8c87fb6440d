package lifecycle

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	expired, versions, aborted, locked, passes, errors prometheus.Counter
	lastEnd                                            prometheus.Gauge
}

// newMetrics makes the runner's metrics, registered with reg when set.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		expired: prometheus.NewCounter(prometheus.CounterOpts{Name: "insitu_lifecycle_expired_objects_total",
			Help: "Objects removed by lifecycle expiration."}),
		versions: prometheus.NewCounter(prometheus.CounterOpts{Name: "insitu_lifecycle_expired_versions_total",
			Help: "Noncurrent versions and expired delete markers removed by lifecycle rules."}),
		aborted: prometheus.NewCounter(prometheus.CounterOpts{Name: "insitu_lifecycle_aborted_uploads_total",
			Help: "Multipart uploads aborted by lifecycle rules."}),
		locked: prometheus.NewCounter(prometheus.CounterOpts{Name: "insitu_lifecycle_locked_skipped_total",
			Help: "Versions a lifecycle rule made due that Object Lock kept (retention or legal hold)."}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{Name: "insitu_lifecycle_passes_total",
			Help: "Lifecycle passes completed."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "insitu_lifecycle_pass_errors_total",
			Help: "Lifecycle passes stopped by an error (the next one resumes)."}),
		lastEnd: prometheus.NewGauge(prometheus.GaugeOpts{Name: "insitu_lifecycle_last_pass_end_seconds",
			Help: "Unix time (by the runner's clock) the last complete lifecycle pass ended."}),
	}
	if reg != nil {
		reg.MustRegister(m.expired, m.versions, m.aborted, m.locked, m.passes, m.errors, m.lastEnd)
	}
	return m
}
