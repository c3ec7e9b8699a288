package fleet

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
)

// Metrics are the worker's Prometheus metrics, registered on their own
// registry (served by [Handler] at /metrics). Safe for concurrent use.
type Metrics struct {
	// Registry holds every metric below plus the Go and process collectors.
	Registry *prometheus.Registry

	// Runs counts finished runs by result: ok, failed (some changes
	// failed), held (the revoke guard held cuts), busy (another run held
	// the lease), unresolved (creates of unknown outcome still to look
	// up), error (the run could not start or plan).
	Runs *prometheus.CounterVec
	// Changes counts what runs did, by kind: created, replaced, deleted,
	// expired, adopted, forgotten, users_created, invitations.
	Changes *prometheus.CounterVec
	// Failures counts the causes of failed changes and runs by class (see
	// [FailureClass]).
	Failures *prometheus.CounterVec
	// HeldRevocations counts the revocations the revoke guard held back.
	HeldRevocations prometheus.Counter
	// KisiResponses counts Kisi responses by status code class ("2xx",
	// "4xx", "429", "5xx", "error" for a transport failure); 429 has its
	// own label.
	KisiResponses *prometheus.CounterVec
	// RunDuration is the time one run takes, load and Verify included.
	RunDuration prometheus.Histogram
	// NextRunLag is how late a run started after the time it was due
	// (Report.NextRun clamped, or the wake).
	NextRunLag prometheus.Histogram
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
			Name: "kisisync_fleet_failures_total", Help: "Causes of failed changes and runs, by failure class.",
		}, []string{"class"}),
		HeldRevocations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kisisync_fleet_held_revocations_total", Help: "Revocations held back by the revoke guard.",
		}),
		KisiResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kisisync_fleet_kisi_responses_total", Help: "Kisi responses by status class; 429 counted on its own.",
		}, []string{"code"}),
		RunDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kisisync_fleet_run_duration_seconds", Help: "Duration of one organization's run.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
		NextRunLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kisisync_fleet_next_run_lag_seconds", Help: "How late a run started after it was due.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
	}
	m.Registry.MustRegister(m.Runs, m.Changes, m.Failures, m.HeldRevocations, m.KisiResponses,
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

// observeErr counts each cause joined in err by its failure class.
func (m *Metrics) observeErr(err error) {
	for _, e := range leaves(err) {
		m.Failures.WithLabelValues(FailureClass(e)).Inc()
	}
}

// leaves unpacks errors.Join trees into their parts.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// FailureClass names the class of a failure, following the failure classes
// of the design: "systemic" (401/403), "rate_limited" (429), "missing"
// (404), "conflict", "refused" (another 4xx), "server" (5xx), "network"
// (no answer), "unknown_outcome" (a create that may have happened),
// "held" (the revoke guard), "busy" (lease held elsewhere),
// "timeout" (the run's time ran out) or "other".
func FailureClass(err error) string {
	var apiErr *kisi.Error
	var held *access.RevokeLimitError
	var netErr net.Error
	switch {
	case errors.As(err, &held):
		return "held"
	case errors.Is(err, access.ErrLeaseHeld):
		return "busy"
	case errors.Is(err, kisi.ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, kisi.ErrUnauthorized), errors.Is(err, kisi.ErrForbidden):
		return "systemic"
	case errors.Is(err, kisi.ErrNotFound):
		return "missing"
	case errors.Is(err, kisi.ErrConflict):
		return "conflict"
	case errors.Is(err, kisi.ErrMaybeApplied):
		return "unknown_outcome"
	case errors.As(err, &apiErr):
		if apiErr.StatusCode >= 500 {
			return "server"
		}
		return "refused"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &netErr):
		return "network"
	}
	return "other"
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
