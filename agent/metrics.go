package agent

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/drplan/drplan/internal/executor"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/status"
)

// metrics are the drplan_* Prometheus series, served with controller-runtime's on the metrics
// listener.
type metrics struct {
	a              *Agent
	clusterUp      *prometheus.GaugeVec
	requests       prometheus.Collector
	planValid      *prometheus.GaugeVec
	planBreach     *prometheus.GaugeVec
	backupAge      *prometheus.GaugeVec
	lag            *prometheus.GaugeVec
	volumeBreach   *prometheus.GaugeVec
	standbyState   *prometheus.GaugeVec
	failoverPhase  *prometheus.GaugeVec
	actions        *prometheus.CounterVec
	passDuration   prometheus.Histogram
	sourceFailing  prometheus.Gauge
	sourceRevision *prometheus.GaugeVec
	// missingPermissions is set by the permission checks (permissions.go), on every replica.
	missingPermissions *prometheus.GaugeVec
	// scheduledBackups counts the backups of agent-run schedules (schedules.go).
	scheduledBackups *prometheus.CounterVec
	lifecycle        *prometheus.GaugeVec
	drillPhase       *prometheus.GaugeVec
	drillRTO         *prometheus.GaugeVec
	drillWave        *prometheus.GaugeVec
	drillDataLoss    *prometheus.GaugeVec
	drillSucceeded   *prometheus.GaugeVec
}

func newMetrics(a *Agent) *metrics {
	return &metrics{
		a:              a,
		clusterUp:      prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_cluster_reachable", Help: "1 when the cluster's API server answers."}, []string{"cluster"}),
		requests:       requestCounts{a: a},
		planValid:      prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_plan_valid", Help: "1 when the plan has no validation problem."}, []string{"plan"}),
		planBreach:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_plan_rpo_breach", Help: "1 when a volume of the plan lags more than its RPO."}, []string{"plan"}),
		backupAge:      prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_volume_backup_age_seconds", Help: "Age of the newest completed backup of the source volume."}, []string{"plan", "volume"}),
		lag:            prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_volume_replication_lag_seconds", Help: "Now minus the snapshot time of the newest backup the standby volume restored."}, []string{"plan", "volume"}),
		volumeBreach:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_volume_rpo_breach", Help: "1 when the standby volume lags more than the plan's RPO."}, []string{"plan", "volume"}),
		standbyState:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_volume_standby_state", Help: "1 for the standby volume's current state."}, []string{"plan", "volume", "state"}),
		failoverPhase:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_failover_phase", Help: "1 for the phase of the plan's failover, once failover is true in Git (or was)."}, []string{"plan", "phase"}),
		actions:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drplan_actions_total", Help: "Actions carried out, by cluster, kind and result."}, []string{"cluster", "kind", "result"}),
		passDuration:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "drplan_pass_duration_seconds", Help: "Duration of a reconciliation pass.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}),
		sourceFailing:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "drplan_source_failing", Help: "1 while fetching the plans repo fails (the last good revision stays in force)."}),
		sourceRevision: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_source_revision_info", Help: "1 for the plans revision in force."}, []string{"revision"}),
		missingPermissions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_cluster_missing_permissions",
			Help: "Permissions of the agent's ClusterRole its credentials lack in the cluster, as last checked."}, []string{"cluster"}),
		scheduledBackups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drplan_scheduled_backups_total",
			Help: "Backups of application-consistent schedules the agent took, by plan, consistency achieved and result."}, []string{"plan", "consistency", "result"}),
		lifecycle: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_plan_lifecycle",
			Help: "1 for where the plan stands in the DR cycle."}, []string{"plan", "lifecycle"}),
		drillPhase: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_drill_phase",
			Help: "1 for the phase of the plan's drill (the one running or the last one)."}, []string{"plan", "drill", "phase"}),
		drillRTO: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_drill_rto_seconds",
			Help: "What a failover would take after catch-up, as the plan's last succeeded drill measured it (its waves' time)."}, []string{"plan"}),
		drillWave: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_drill_wave_seconds",
			Help: "Time each wave took in the plan's last succeeded drill."}, []string{"plan", "wave"}),
		drillDataLoss: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_drill_data_loss_seconds",
			Help: "Data-loss window of each volume at the start of the plan's last drill."}, []string{"plan", "volume"}),
		drillSucceeded: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "drplan_drill_last_success_timestamp_seconds",
			Help: "When the plan's last succeeded drill finished (Unix time), while its record is kept."}, []string{"plan"}),
	}
}

// collectors are every drplan_* series' collector.
func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.clusterUp, m.requests, m.planValid, m.planBreach, m.backupAge, m.lag,
		m.volumeBreach, m.standbyState, m.failoverPhase, m.actions, m.passDuration, m.sourceFailing, m.sourceRevision,
		m.missingPermissions, m.scheduledBackups, m.lifecycle, m.drillPhase, m.drillRTO, m.drillWave, m.drillDataLoss, m.drillSucceeded}
}

func (m *metrics) register() error {
	for _, c := range m.collectors() {
		if err := ctrlmetrics.Registry.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if errors.As(err, &already) {
				continue
			}
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}

// observe updates every series from one pass.
func (m *metrics) observe(st status.Status, outcomes []executor.Outcome, d time.Duration) {
	m.passDuration.Observe(d.Seconds())
	for name, c := range st.Clusters {
		m.clusterUp.WithLabelValues(name).Set(b2f(c.Reachable))
	}
	m.planValid.Reset()
	m.planBreach.Reset()
	m.backupAge.Reset()
	m.lag.Reset()
	m.volumeBreach.Reset()
	m.standbyState.Reset()
	m.failoverPhase.Reset()
	for _, g := range []*prometheus.GaugeVec{m.lifecycle, m.drillPhase, m.drillRTO, m.drillWave, m.drillDataLoss, m.drillSucceeded} {
		g.Reset()
	}
	for _, p := range st.Plans {
		m.planValid.WithLabelValues(p.Name).Set(b2f(!p.Invalid))
		m.planBreach.WithLabelValues(p.Name).Set(b2f(p.RPOBreach))
		if f := p.FailoverStatus; f != nil {
			m.failoverPhase.WithLabelValues(p.Name, string(f.Phase)).Set(1)
		}
		if p.Lifecycle != "" {
			m.lifecycle.WithLabelValues(p.Name, string(p.Lifecycle)).Set(1)
		}
		if d := p.Drill; d != nil {
			m.observeDrill(p.Name, d)
		}
		for _, v := range p.Volumes {
			if v.LastBackup != "" {
				m.backupAge.WithLabelValues(p.Name, v.Name).Set(v.BackupAge.Seconds())
			}
			if v.LagKnown {
				m.lag.WithLabelValues(p.Name, v.Name).Set(v.Lag.Seconds())
			}
			m.volumeBreach.WithLabelValues(p.Name, v.Name).Set(b2f(v.RPOBreach))
			m.standbyState.WithLabelValues(p.Name, v.Name, string(v.State)).Set(1)
		}
	}
	for _, o := range outcomes {
		result := "ok"
		if o.Err != nil {
			result = "error"
		}
		m.actions.WithLabelValues(o.Action.Cluster(), actionKind(o.Action), result).Inc()
	}
	m.sourceFailing.Set(b2f(!st.Source.FailingSince.IsZero()))
	m.sourceRevision.Reset()
	if st.Source.Revision != "" {
		m.sourceRevision.WithLabelValues(st.Source.Revision).Set(1)
	}
}

// observeDrill sets a plan's drill series: its phase, and what it measured.
func (m *metrics) observeDrill(plan string, d *planner.DrillReport) {
	m.drillPhase.WithLabelValues(plan, d.ID, string(d.Phase)).Set(1)
	for _, v := range d.Volumes {
		if v.DataLossKnown {
			m.drillDataLoss.WithLabelValues(plan, v.Name).Set(v.DataLoss.Seconds())
		}
	}
	if d.RTO.Duration <= 0 {
		return // not succeeded
	}
	m.drillRTO.WithLabelValues(plan).Set(d.RTO.Seconds())
	m.drillSucceeded.WithLabelValues(plan).Set(float64(d.FinishedAt.Unix()))
	for _, s := range d.Steps {
		if s.Wave != "" {
			m.drillWave.WithLabelValues(plan, s.Wave).Set(s.Duration.Seconds())
		}
	}
}

func actionKind(a planner.Action) string {
	t := reflect.TypeOf(a)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var (
	requestsDesc = prometheus.NewDesc("drplan_cluster_requests_total",
		"HTTP requests the agent sent to the cluster's API server, watch streams aside: lists, reads, writes, events.",
		[]string{"cluster", "verb"}, nil)
	watchesDesc = prometheus.NewDesc("drplan_cluster_watches_total",
		"Watch streams the agent's caches opened on the cluster's API server: one per kind at start, then one each time the server ends one (every 5 to 10 minutes) or the connection drops.",
		[]string{"cluster"}, nil)
)

// requestCounts reads each cluster's request counters when scraped.
type requestCounts struct{ a *Agent }

func (r requestCounts) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- watchesDesc
}

func (r requestCounts) Collect(ch chan<- prometheus.Metric) {
	for name, c := range r.a.clusters {
		for verb, n := range c.RequestsByVerb() {
			ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(n), name, verb)
		}
		ch <- prometheus.MustNewConstMetric(watchesDesc, prometheus.CounterValue, float64(c.Watches()), name)
	}
}
