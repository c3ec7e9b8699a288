package fleet

import (
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/examples/integration"
)

// Metrics are the worker's Prometheus metrics, registered on their own
// registry (served by [Handler] at /metrics). Safe for concurrent use.
type Metrics struct {
	// Registry holds every metric below plus the Go and process collectors.
	Registry *prometheus.Registry

	// Runs counts finished runs by result: ok, budget (stopped at the run
	// budget with work left; the next run goes on at once), failed (some changes
	// failed), held (the revoke guard held cuts), busy (another run held
	// the lease), unresolved (creates of unknown outcome still to look
	// up), error (the run could not start or plan).
	Runs *prometheus.CounterVec
	// Changes counts what runs did, by kind: created, replaced, deleted,
	// expired, adopted, forgotten, users_created, invitations.
	Changes *prometheus.CounterVec
	// Failures counts failed changes by the reconciler's failure class
	// (systemic, missing, quota, refused, unknown, transient), and runs
	// that failed before they could plan as "run".
	Failures *prometheus.CounterVec
	// ScopeFailures counts, run by run, failures by the scope they stop
	// (organization, group, user, change, quota, host; see [ScopeGroup]
	// and the others): a run that stopped or could not plan counts once
	// for its organization (or for the host, when the snapshot could not
	// be loaded), each failed change once for its scope.
	ScopeFailures *prometheus.CounterVec
	// HeldRevocations counts the revocations the revoke guard held back.
	HeldRevocations prometheus.Counter
	// Undone counts, run by run, what a run left undone, by kind and
	// cause: "skipped" snapshot records by the record error's cause
	// (invalid_email, unknown_time_zone, …), "parked" changes by their
	// failure class (missing, forbidden, quota, …), "held" cuts by their
	// cut kind (vanished, explained). An item left undone in every run
	// counts once per run.
	Undone *prometheus.CounterVec
	// KisiResponses counts Kisi responses by status code class ("2xx",
	// "4xx", "429", "5xx", "error" for a transport failure); 429 has its
	// own label.
	KisiResponses *prometheus.CounterVec
	// Events counts platform events (POST /events) by outcome: queued,
	// unauthorized, malformed, unknown.
	Events *prometheus.CounterVec
	// Webhooks counts Kisi webhook deliveries by outcome: woken (the
	// organization runs a Verify), ignored (an event that changes no
	// access), echo (the reconciler's own write), duplicate, failed (not
	// recorded), or the status of a refused delivery ("401", "400", "413").
	Webhooks *prometheus.CounterVec
	// RunDuration is the time one run takes, load and Verify included.
	RunDuration prometheus.Histogram
	// NextRunLag is how late a run started after the time it was due
	// (Report.NextRun clamped, or the wake).
	NextRunLag prometheus.Histogram
}

// registerLateGrants exports l's late grants (see [SharedLimiter.Late]).
func (m *Metrics) registerLateGrants(l *SharedLimiter) error {
	err := m.Registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "kisisync_fleet_rate_late_grants_total",
		Help: "Grants of the shared pace that came too late for their request to use (the database answered, or the connection was ready, over 50 ms after asking); each cost its Kisi user a slot.",
	}, func() float64 { return float64(l.Late()) }))
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) { // another worker on the same registry (tests): the first one's is exported
		return nil
	}
	return err
}

// NewMetrics returns the metrics on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kisisync_fleet_runs_total", Help: "Runs finished, by result (ok, failed, held, busy, unresolved, error).",
		}, []string{"result"}),
		Changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kisisync_fleet_changes_total", Help: "Changes made in Kisi and the Store, by kind.",
		}, []string{"kind"}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kisisync_fleet_failures_total", Help: "Failed changes by failure class; runs that could not plan as run.",
		}, []string{"class"}),
		ScopeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kisisync_fleet_scope_failures_total",
			Help: "Failures by the scope they stop (organization, group, user, change, quota, host), counted at each run.",
		}, []string{"scope"}),
		HeldRevocations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kisisync_fleet_held_revocations_total", Help: "Revocations held back by the revoke guard.",
		}),
		Undone: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kisisync_fleet_undone_total", Help: "Items runs left undone, per run: skipped records, parked changes, held cuts, by cause.",
		}, []string{"kind", "cause"}),
		KisiResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kisisync_fleet_kisi_responses_total", Help: "Kisi responses by status class; 429 counted on its own.",
		}, []string{"code"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kisisync_fleet_events_total", Help: "Platform events by outcome (queued, unauthorized, malformed, unknown).",
		}, []string{"outcome"}),
		Webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kisisync_fleet_webhooks_total", Help: "Kisi webhook deliveries by outcome (woken, ignored, echo, duplicate, failed, or the status of a refusal).",
		}, []string{"outcome"}),
		RunDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kisisync_fleet_run_duration_seconds", Help: "Duration of one organization's run.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
		NextRunLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kisisync_fleet_next_run_lag_seconds", Help: "How late a run started after it was due.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
	}
	for _, scope := range allScopes { // every scope shows, at 0 until it fails
		m.ScopeFailures.WithLabelValues(scope)
	}
	m.Registry.MustRegister(m.Runs, m.Changes, m.Failures, m.ScopeFailures, m.HeldRevocations, m.Undone, m.KisiResponses, m.Events, m.Webhooks,
		m.RunDuration, m.NextRunLag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeReport adds a run's report to the change counters.
func (m *Metrics) observeReport(r *access.Report) {
	if r == nil {
		return
	}
	for kind, n := range map[string]int{
		"created": r.Created, "replaced": r.Replaced, "deleted": r.Deleted, "expired": r.Expired,
		"adopted": r.Adopted, "forgotten": r.Forgotten, "users_created": r.UsersCreated, "invitations": r.Invitations,
	} {
		if n > 0 {
			m.Changes.WithLabelValues(kind).Add(float64(n))
		}
	}
}

// observeUndone counts what a run left undone, by kind and cause.
func (m *Metrics) observeUndone(r *access.Report) {
	if r == nil {
		return
	}
	for _, re := range r.Skipped {
		m.Undone.WithLabelValues("skipped", integration.Cause(re)).Inc()
	}
	for _, p := range r.Parked {
		m.Undone.WithLabelValues("parked", string(p.Class)).Inc()
	}
	for _, ch := range r.Held {
		m.Undone.WithLabelValues("held", string(ch.Cut)).Inc()
	}
}

// observeFailures counts the failed changes of a run by their class, as
// the reconciler classed them (access.FailureClass: systemic, missing,
// quota, refused, unknown, transient), and a run that failed before it
// could plan (the snapshot, the Store or the lease) as "run".
func (m *Metrics) observeFailures(r *access.Report, err error) {
	if r == nil {
		var held *access.RevokeLimitError
		if err != nil && !errors.Is(err, state.ErrLeaseHeld) && !errors.As(err, &held) {
			m.Failures.WithLabelValues("run").Inc()
		}
		return
	}
	for _, f := range r.Failures {
		m.Failures.WithLabelValues(string(f.Class)).Inc()
	}
}

// countingTransport counts Kisi responses by status class, and the
// requests of one run.
type countingTransport struct {
	base http.RoundTripper
	m    *Metrics
	n    *atomic.Int64 // the run's requests
}

// RoundTrip implements http.RoundTripper.
func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	resp, err := t.base.RoundTrip(r)
	code := "error"
	switch {
	case err != nil:
	case resp.StatusCode == http.StatusTooManyRequests:
		code = "429"
	default:
		code = string("012345"[min(resp.StatusCode/100, 5)]) + "xx"
	}
	t.m.KisiResponses.WithLabelValues(code).Inc()
	return resp, err
}

// since is the seconds since t, for histograms.
func since(now, t time.Time) float64 { return now.Sub(t).Seconds() }
