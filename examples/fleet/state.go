package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kisisync/kisisync/access/state"
)

// stateCollector reads the fleet's state from the database at each
// scrape, so that every process reports the whole fleet: the sync jobs by
// state, the age of the oldest job waiting for a worker (the backlog), the
// oldest clean sync, the cuts held and changes parked at the
// organizations' last runs, and how many organizations have a failure
// scope failing or parked. Per-organization detail is at GET
// /status/{org}, not in labels, to keep the metrics' cardinality flat.
type stateCollector struct {
	pool *pgxpool.Pool

	jobs, backlogAge, oldestOK, notClean, held, heldOrgs, parked, failingOrgs, parkedOrgs, scrapeErr *prometheus.Desc
}

func newStateCollector(pool *pgxpool.Pool) *stateCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("kisisync_fleet_"+name, help, labels, nil)
	}
	return &stateCollector{
		pool:       pool,
		jobs:       d("jobs", "Sync jobs by River state (available: waiting for a worker).", "state"),
		backlogAge: d("backlog_oldest_seconds", "How long the oldest available sync job has waited for a worker (0: none waits)."),
		oldestOK:   d("oldest_clean_sync_age_seconds", "Age of the oldest last clean run among the organizations that had one."),
		notClean:   d("organizations_not_clean", "Organizations whose last run was not clean (or that never ran)."),
		held:       d("held_cuts", "Cuts the revoke guard held at the organizations' last runs."),
		heldOrgs:   d("organizations_held", "Organizations whose last run held cuts: someone must look."),
		parked:     d("parked_changes", "Changes parked with back-off at the organizations' last runs."),
		failingOrgs: d("organizations_failing", "Organizations whose last run failed in the scope "+
			"(organization, group, user, change, quota, host).", "scope"),
		parkedOrgs: d("organizations_parked", "Organizations whose last run left changes parked in the scope "+
			"(organization, group, user, change, quota, host).", "scope"),
		scrapeErr: d("state_scrape_errors", "1 when the fleet's state could not be read from the database."),
	}
}

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobs, c.backlogAge, c.oldestOK, c.notClean, c.held, c.heldOrgs, c.parked,
		c.failingOrgs, c.parkedOrgs, c.scrapeErr} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	failed := 0.0
	if err := c.collect(ctx, ch); err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErr, prometheus.GaugeValue, failed)
}

func (c *stateCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	counts := map[string]float64{"available": 0, "running": 0, "scheduled": 0, "retryable": 0}
	var backlog float64
	rows, err := c.pool.Query(ctx, `SELECT state::text, count(*)::float8,
		coalesce(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE state = 'available')), 0)::float8
		FROM river_job WHERE kind = 'kisisync_sync' AND state IN ('available', 'running', 'scheduled', 'retryable')
		GROUP BY state`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var state string
		var n, age float64
		if err := rows.Scan(&state, &n, &age); err != nil {
			return err
		}
		counts[state] = n
		backlog = max(backlog, age)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var oldest, notClean, held, heldOrgs, parked float64
	err = c.pool.QueryRow(ctx, `SELECT coalesce(extract(epoch FROM now() - min(last_ok)), 0)::float8,
		(count(*) FILTER (WHERE last_result IS DISTINCT FROM 'ok'))::float8,
		coalesce(sum(held), 0)::float8, (count(*) FILTER (WHERE held > 0))::float8, coalesce(sum(parked), 0)::float8
		FROM fleet_org`).Scan(&oldest, &notClean, &held, &heldOrgs, &parked)
	if err != nil {
		return err
	}
	failing, parkedBy := map[string]float64{}, map[string]float64{}
	rows, err = c.pool.Query(ctx, `SELECT s, (count(*) FILTER (WHERE (o.failing_scopes->>s)::int > 0))::float8,
		(count(*) FILTER (WHERE (o.parked_scopes->>s)::int > 0))::float8
		FROM fleet_org o CROSS JOIN unnest($1::text[]) s GROUP BY s`, allScopes)
	if err != nil {
		return err
	}
	for rows.Next() {
		var scope string
		var f, p float64
		if err := rows.Scan(&scope, &f, &p); err != nil {
			return err
		}
		failing[scope], parkedBy[scope] = f, p
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, n, state)
	}
	for _, scope := range allScopes {
		ch <- prometheus.MustNewConstMetric(c.failingOrgs, prometheus.GaugeValue, failing[scope], scope)
		ch <- prometheus.MustNewConstMetric(c.parkedOrgs, prometheus.GaugeValue, parkedBy[scope], scope)
	}
	for d, v := range map[*prometheus.Desc]float64{c.backlogAge: backlog, c.oldestOK: oldest, c.notClean: notClean,
		c.held: held, c.heldOrgs: heldOrgs, c.parked: parked} {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	return nil
}

// Status is one organization's state, the answer of GET /status/{org}.
type Status struct {
	Organization string     `json:"organization"`
	Job          string     `json:"job,omitempty"` // the River state of its unfinished job
	JobDue       *time.Time `json:"job_due,omitempty"`
	LastStarted  *time.Time `json:"last_started,omitempty"`
	LastFinished *time.Time `json:"last_finished,omitempty"`
	LastResult   string     `json:"last_result,omitempty"`
	LastOK       *time.Time `json:"last_clean_sync,omitempty"`
	NextRun      *time.Time `json:"next_run,omitempty"`
	VerifyDue    *time.Time `json:"verify_due,omitempty"`
	Held         int        `json:"held_cuts"`
	// Failing and ParkedScopes count the last run's failures and parked
	// changes by failure scope ([ScopeGroup] and the others).
	Failing      map[string]int `json:"failing_scopes,omitempty"`
	ParkedScopes map[string]int `json:"parked_scopes,omitempty"`
	Parked       []Park         `json:"parked,omitempty"`
}

// Park is one change or scope parked with back-off, from the Store.
type Park struct {
	Key      string    `json:"key"`
	Class    string    `json:"class,omitempty"`
	Scope    string    `json:"scope,omitempty"`
	Attempts int       `json:"attempts"`
	RetryAt  time.Time `json:"retry_at"`
}

// Status returns org's state: its job, its last runs, and what its Store
// holds parked.
func (w *Worker) Status(ctx context.Context, org string) (*Status, error) {
	if err := w.known(ctx, org); err != nil {
		return nil, err
	}
	st := &Status{Organization: org}
	err := w.pool.QueryRow(ctx, `SELECT last_started, last_finished, coalesce(last_result, ''), last_ok, next_run, verify_due, held,
		failing_scopes, parked_scopes FROM fleet_org WHERE org = $1`, org).Scan(&st.LastStarted, &st.LastFinished, &st.LastResult,
		&st.LastOK, &st.NextRun, &st.VerifyDue, &st.Held, &st.Failing, &st.ParkedScopes)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("fleet: status of %q: %w", org, err)
	}
	err = w.pool.QueryRow(ctx, `SELECT state::text, scheduled_at FROM river_job WHERE kind = 'kisisync_sync' AND args->>'org' = $1
		AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled') ORDER BY id DESC LIMIT 1`, org).Scan(&st.Job, &st.JobDue)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("fleet: status of %q: %w", org, err)
	}
	recs, err := w.store.Load(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("fleet: status of %q: %w", org, err)
	}
	users := parkedUsers(recs)
	for _, r := range recs {
		if r.Kind == state.KindPark {
			st.Parked = append(st.Parked, Park{Key: r.Key, Class: string(r.Class), Scope: scopeOf(r.Class, r.GroupID, r.Email, users),
				Attempts: r.Attempts, RetryAt: r.RetryAt})
		}
	}
	return st, nil
}
