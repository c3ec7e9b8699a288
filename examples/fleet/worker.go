package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/examples/integration"
	"github.com/kisisync/kisisync/kisi"
)

// Loader is where a host plugs in its data: Load reads, at the moment of
// the call, everything the platform knows about one organization that
// bears on door access. It must return the whole picture or an error (the
// reconciler revokes what is missing, within its revoke guard).
type Loader interface {
	Load(ctx context.Context, org string) (access.Snapshot, error)
}

// LoaderFunc adapts a function to a [Loader].
type LoaderFunc func(ctx context.Context, org string) (access.Snapshot, error)

// Load calls f.
func (f LoaderFunc) Load(ctx context.Context, org string) (access.Snapshot, error) {
	return f(ctx, org)
}

// QueueSync is the River queue of the fleet's jobs.
const QueueSync = "kisisync"

// SyncArgs is the job that runs one organization: an optional Verify, then
// a Sync. Unique by organization among the jobs not finished, so at most
// one exists per organization.
type SyncArgs struct {
	Org string `json:"org" river:"unique"`
}

// Kind implements river.JobArgs.
func (SyncArgs) Kind() string { return "kisisync_sync" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (SyncArgs) InsertOpts() river.InsertOpts {
	if mutation == "no-unique-jobs" {
		return river.InsertOpts{Queue: QueueSync, MaxAttempts: 100}
	}
	return river.InsertOpts{
		Queue:       QueueSync,
		MaxAttempts: 100,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			// Completed is left out, so a run can complete its job and
			// insert the next one in one transaction.
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
				rivertype.JobStateRetryable, rivertype.JobStateScheduled,
			},
		},
	}
}

// MaintenanceArgs is the periodic job that inserts the job of every
// organization that has none and forgets webhook deliveries older than
// [DeliveryRetention]. It runs when River's leader starts and every
// [MaintenanceEvery], so restarts never postpone it.
type MaintenanceArgs struct{}

// Kind implements river.JobArgs.
func (MaintenanceArgs) Kind() string { return "kisisync_maintenance" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (MaintenanceArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueSync} }

// MaintenanceEvery is the period of [MaintenanceArgs].
const MaintenanceEvery = time.Hour

// Job priorities (River: 1 is the highest). A run that is due only for its
// periodic Verify waits behind the runs that keep access on time.
const (
	prioritySync   = 1
	priorityVerify = 3
)

// DeliveryRetention is how long webhook delivery uuids are kept to refuse
// replays.
const DeliveryRetention = 30 * 24 * time.Hour

// Options are the optional parts of a [Worker].
type Options struct {
	// ID names this process in logs, River and Store leases (default
	// "worker").
	ID string
	// Logger receives the worker's logs (default discards).
	Logger *slog.Logger
	// Metrics receives the worker's metrics (default new ones).
	Metrics *Metrics
	// Clock is the worker's clock (default the real one).
	Clock clockwork.Clock
	// Transport is the base HTTP transport to Kisi (default a clone of
	// http.DefaultTransport).
	Transport http.RoundTripper
	// Directory is where the organizations come from (default: the
	// configuration's, or with organizations_from "database" a
	// [DatabaseDirectory] on the pool).
	Directory Directory
}

// Worker runs the fleet's jobs in this process. Create it with [New], start
// it with [Worker.Start] and stop it with [Worker.Stop]. Safe for
// concurrent use.
type Worker struct {
	cfg      *Config
	pool     *pgxpool.Pool
	store    access.Store
	loader   Loader
	dir      Directory
	limiters *Limiters
	shared   *SharedLimiter // nil unless the pace is kept fleet-wide
	id       string
	log      *slog.Logger
	metrics  *Metrics
	clock    clockwork.Clock
	base     http.RoundTripper
	river    *river.Client[pgx.Tx]
	running  atomic.Bool // between Start and Stop
}

// New returns a Worker over pool (River's and the fleet's tables, see
// [Migrate]) that keeps its records in store and reads snapshots from
// loader. It starts nothing.
func New(pool *pgxpool.Pool, cfg *Config, store access.Store, loader Loader, opt Options) (*Worker, error) {
	if pool == nil || cfg == nil || store == nil || loader == nil {
		return nil, errors.New("fleet: new worker: nil pool, config, store or loader")
	}
	w := &Worker{
		cfg: cfg, pool: pool, store: store, loader: loader,
		dir:      opt.Directory,
		limiters: NewLimiters(cfg.RatePerUser),
		id:       cmp.Or(opt.ID, "worker"),
		log:      opt.Logger,
		metrics:  opt.Metrics,
		clock:    opt.Clock,
		base:     opt.Transport,
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.metrics == nil {
		w.metrics = NewMetrics()
	}
	if w.clock == nil {
		w.clock = clockwork.NewRealClock()
	}
	if w.base == nil {
		w.base = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.RateScope == RateScopeFleet {
		w.shared = NewSharedLimiter(pool, cfg.RatePerUser, w.clock)
		if err := w.metrics.registerLateGrants(w.shared); err != nil {
			return nil, fmt.Errorf("fleet: new worker: %w", err)
		}
	}
	switch {
	case w.dir != nil:
	case cfg.OrganizationsFrom == OrganizationsFromDatabase:
		w.dir = DatabaseDirectory{Pool: pool}
	default:
		w.dir = NewStaticDirectory(cfg)
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &syncWorker{w: w}); err != nil {
		return nil, fmt.Errorf("fleet: new worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &maintenanceWorker{w: w}); err != nil {
		return nil, fmt.Errorf("fleet: new worker: %w", err)
	}
	periodic := []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(MaintenanceEvery),
		func() (river.JobArgs, *river.InsertOpts) { return MaintenanceArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		ID:                   w.id,
		Logger:               w.log.With("component", "river"),
		Queues:               map[string]river.QueueConfig{QueueSync: {MaxWorkers: cfg.Workers}},
		Workers:              workers,
		PeriodicJobs:         periodic,
		JobTimeout:           time.Duration(cfg.JobTimeout),
		RescueStuckJobsAfter: time.Duration(cfg.RescueAfter),
		FetchPollInterval:    500 * time.Millisecond,
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: new worker: %w", err)
	}
	w.river = rc
	// Every worker on a registry reports the same fleet: the first one
	// registered is enough.
	if err := w.metrics.Registry.Register(newStateCollector(pool)); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if !errors.As(err, &dup) {
			return nil, fmt.Errorf("fleet: new worker: %w", err)
		}
	}
	return w, nil
}

// known returns an error matching [ErrUnknownOrganization] when the
// directory does not know org.
func (w *Worker) known(ctx context.Context, org string) error {
	_, err := w.dir.Organization(ctx, org)
	return err
}

// Start makes sure every configured organization has its job, analyzes
// River's job table, then starts working. It returns once the River client
// runs; stop it with Stop.
func (w *Worker) Start(ctx context.Context) error {
	if err := w.ensure(ctx); err != nil {
		return err
	}
	// Statistics for River's job table, so that River's scheduler plans
	// for the queue as it is: on a table filled at once and not yet
	// analyzed (a new or restored database), its move of 10,000 overdue
	// jobs to the queue ran past its 30 s timeout, and runs due meanwhile
	// waited for it. Without the right to analyze the table, PostgreSQL
	// only warns.
	if _, err := w.pool.Exec(ctx, `ANALYZE river_job`); err != nil {
		w.log.WarnContext(ctx, "analyze river_job", "error", err)
	}
	if err := w.river.Start(ctx); err != nil {
		return fmt.Errorf("fleet: start: %w", err)
	}
	w.running.Store(true)
	return nil
}

// Stop stops fetching jobs and waits for the runs in progress until ctx is
// done, then cancels them (each is run again by another worker).
func (w *Worker) Stop(ctx context.Context) error {
	w.running.Store(false)
	err := w.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = w.river.StopAndCancel(context.WithoutCancel(ctx))
	}
	if err != nil {
		return fmt.Errorf("fleet: stop: %w", err)
	}
	return nil
}

// ensure inserts the job of every organization that has none (a new
// organization, or one whose job was discarded).
func (w *Worker) ensure(ctx context.Context) error {
	ids, err := w.dir.Organizations(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	if _, err := w.pool.Exec(ctx, `INSERT INTO fleet_org (org) SELECT unnest($1::text[]) ON CONFLICT (org) DO NOTHING`, ids); err != nil {
		return fmt.Errorf("fleet: ensure jobs: %w", err)
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: SyncArgs{Org: id}}
	}
	if _, err := w.river.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("fleet: ensure jobs: %w", err)
	}
	return nil
}

// ErrUnknownOrganization is returned for an organization the configuration
// does not list.
var ErrUnknownOrganization = errors.New("fleet: unknown organization")

// Wake asks for a run of org as soon as the floor allows; with verify, the
// run starts with a Verify. A wake during a run makes the next run start
// a floor after that one ends. Wakes are durable once Wake returns.
func (w *Worker) Wake(ctx context.Context, org string, verify bool) error {
	if err := w.known(ctx, org); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error { return wakeTx(ctx, w.river, tx, org, verify) })
}

// WakeTx wakes org inside the platform's own transaction tx on the fleet's
// database, as [Worker.Wake] does: the wake is committed with the change
// that caused it, or not at all, so no crash between the commit and a
// POST /events can lose it. It needs no running Worker (River's InsertTx
// on an insert-only client); the organization must be one the workers
// know, or its job is cancelled when it runs.
func WakeTx(ctx context.Context, tx pgx.Tx, org string) error {
	rc, err := insertOnly()
	if err != nil {
		return err
	}
	return wakeTx(ctx, rc, tx, org, false)
}

var insertOnly = sync.OnceValues(func() (*river.Client[pgx.Tx], error) {
	rc, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("fleet: insert-only client: %w", err)
	}
	return rc, nil
})

// Deliver records a Kisi webhook delivery of org with uuid and, when it is
// the first delivery of that uuid and wake is set, wakes org (with verify)
// in the same transaction. It reports false for a repeated delivery, which
// is then neither recorded again nor acted on; every process sees the
// same answer, since the uuid is kept in PostgreSQL.
func (w *Worker) Deliver(ctx context.Context, org, uuid string, wake, verify bool) (first bool, err error) {
	if err := w.known(ctx, org); err != nil {
		return false, err
	}
	err = pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO fleet_webhook_delivery (org, uuid) VALUES ($1, $2) ON CONFLICT DO NOTHING`, org, uuid)
		if err != nil {
			return err
		}
		if first = tag.RowsAffected() == 1; !first || !wake {
			return nil
		}
		return wakeTx(ctx, w.river, tx, org, verify)
	})
	if err != nil {
		return false, fmt.Errorf("fleet: record webhook delivery: %w", err)
	}
	return first, nil
}

// wakeTx counts a wake of org and makes its job due as soon as the floor
// allows: at the organization's not_before (its last run's end plus the
// floor), or now. Both happen under the lock of org's fleet_org row, which
// a run's completion takes too: either the run sees the wake and schedules
// its successor (after the floor), or the wake finds the successor and
// brings it forward. Wakes coalesce: however many arrive, the organization
// runs at most once per floor. Times are the database's.
func wakeTx(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, org string, verify bool) error {
	v := 0
	if verify {
		v = 1
	}
	var notBefore *time.Time // nil: now
	if err := tx.QueryRow(ctx, `INSERT INTO fleet_org (org, wakes, verify_wanted) VALUES ($1, 1, $2)
		ON CONFLICT (org) DO UPDATE SET wakes = fleet_org.wakes + 1, verify_wanted = fleet_org.verify_wanted + $2
		RETURNING CASE WHEN not_before > now() THEN not_before END`, org, v).Scan(&notBefore); err != nil {
		return fmt.Errorf("fleet: wake %q: %w", org, err)
	}
	var opts *river.InsertOpts
	if notBefore != nil {
		opts = &river.InsertOpts{ScheduledAt: *notBefore}
	}
	res, err := rc.InsertTx(ctx, tx, SyncArgs{Org: org}, opts)
	if err != nil {
		return fmt.Errorf("fleet: wake %q: %w", org, err)
	}
	if !res.UniqueSkippedAsDuplicate {
		return nil
	}
	switch res.Job.State {
	case rivertype.JobStateScheduled, rivertype.JobStateRetryable:
		if notBefore == nil {
			_, err = rc.JobRetryTx(ctx, tx, res.Job.ID)
		} else {
			// River has no call to move a scheduled job to a given time;
			// its scheduler makes the job available once scheduled_at
			// has passed.
			_, err = tx.Exec(ctx, `UPDATE river_job SET scheduled_at = $2
				WHERE id = $1 AND state IN ('scheduled', 'retryable') AND scheduled_at > $2`, res.Job.ID, *notBefore)
		}
		if err != nil {
			return fmt.Errorf("fleet: wake %q: %w", org, err)
		}
	}
	if res.Job.Priority != prioritySync {
		// A run due only for its Verify waited behind the others; woken,
		// it keeps access on time like them.
		if _, err := tx.Exec(ctx, `UPDATE river_job SET priority = $2 WHERE id = $1 AND state IN ('available', 'scheduled', 'retryable')`,
			res.Job.ID, prioritySync); err != nil {
			return fmt.Errorf("fleet: wake %q: %w", org, err)
		}
	}
	return nil
}

// syncWorker runs SyncArgs jobs.
type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	w *Worker
}

// Work implements river.Worker.
func (s *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	return s.w.run(ctx, job)
}

// maintenanceWorker runs MaintenanceArgs jobs.
type maintenanceWorker struct {
	river.WorkerDefaults[MaintenanceArgs]
	w *Worker
}

// Work implements river.Worker.
func (m *maintenanceWorker) Work(ctx context.Context, _ *river.Job[MaintenanceArgs]) error {
	w := m.w
	if err := w.ensure(ctx); err != nil {
		return err
	}
	cutoff := w.clock.Now().Add(-DeliveryRetention)
	if _, err := w.pool.Exec(ctx, `DELETE FROM fleet_webhook_delivery WHERE received_at < $1`, cutoff); err != nil {
		return fmt.Errorf("fleet: prune webhook deliveries: %w", err)
	}
	return nil
}

// firstVerify is when a new organization's first periodic Verify is due:
// a fixed offset into the period, from a hash of its id, so that the
// fleet's Verifies are spread over the period. Nil when periodic
// Verifies are off.
func (w *Worker) firstVerify(org string, now time.Time) *time.Time {
	every := time.Duration(w.cfg.VerifyEvery)
	if every <= 0 {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(org))
	at := now.Add(time.Duration(h.Sum64() % uint64(every)))
	return &at
}

// outcome is what one run did, for the log, the metrics and the next job.
type outcome struct {
	requests int64 // Kisi requests sent, retries included
	report   *access.Report
	err      error
	verified bool
	drift    *access.Drift
	// budgetSpent: the run stopped at Config.RunBudget with work left.
	budgetSpent bool
	// loadFailed: the snapshot could not be loaded (the host's failure).
	loadFailed bool
	// parkedUsers are the emails whose Kisi user the Store holds parked
	// at the run's end.
	parkedUsers map[string]bool
}

// counts returns the cuts the revoke guard held and the changes parked.
func (o outcome) counts() (held, parked int) {
	var revoke *access.RevokeLimitError
	switch {
	case o.report != nil:
		return len(o.report.Held), len(o.report.Parked)
	case errors.As(o.err, &revoke):
		return revoke.Revocations, 0
	}
	return 0, 0
}

// run is one organization's run: an optional Verify, then a Sync; then, in
// one transaction, the job's completion and the insert of the next one.
func (w *Worker) run(ctx context.Context, job *river.Job[SyncArgs]) error {
	org, err := w.dir.Organization(ctx, job.Args.Org)
	if errors.Is(err, ErrUnknownOrganization) {
		// A process of an older or newer configuration may know it (a
		// rolling deploy): leave the job to it rather than end it. The
		// job of an organization removed for good keeps waking a ceiling
		// apart and doing nothing.
		w.log.WarnContext(ctx, "job of an organization this process does not know; left for another", "organization", job.Args.Org)
		return river.JobSnooze(time.Duration(w.cfg.Ceiling))
	}
	if err != nil {
		return err
	}
	start := w.clock.Now()
	w.metrics.NextRunLag.Observe(max(0, since(start, job.ScheduledAt)))
	var wakes, wanted, done int64
	var due *time.Time
	err = w.pool.QueryRow(ctx, `INSERT INTO fleet_org (org, last_started, verify_due) VALUES ($1, $2, $3)
		ON CONFLICT (org) DO UPDATE SET last_started = $2, verify_due = coalesce(fleet_org.verify_due, $3)
		RETURNING wakes, verify_wanted, verify_done, verify_due`, org.ID, start, w.firstVerify(org.ID, start)).Scan(&wakes, &wanted, &done, &due)
	if err != nil {
		return fmt.Errorf("fleet: run %q: %w", org.ID, err)
	}
	verify := wanted > done || (due != nil && !due.After(start))
	holder := fmt.Sprintf("%s/job-%d/attempt-%d", w.id, job.ID, job.Attempt)
	rctx, cancel := context.WithTimeout(ctx, time.Duration(w.cfg.RunBudget))
	out := w.syncOrg(rctx, org, holder, verify)
	out.budgetSpent = errors.Is(rctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	end := w.clock.Now()
	next := w.nextRun(end, out)
	if out.verified && due != nil {
		v := end.Add(time.Duration(w.cfg.VerifyEvery))
		due = &v
	}
	priority := prioritySync
	if due != nil && due.Before(next) { // the periodic Verify comes first
		next, priority = latest(*due, end.Add(time.Duration(w.cfg.Floor))), priorityVerify
	}
	sc := scopesOf(out)
	result := w.record(ctx, org, holder, job, start, end, next, out, sc)

	// Complete this job and insert the next under the row lock of
	// fleet_org, even when the run's own time ran out.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return pgx.BeginFunc(fctx, w.pool, func(tx pgx.Tx) error {
		var now int64
		if err := tx.QueryRow(fctx, `SELECT wakes FROM fleet_org WHERE org = $1 FOR UPDATE`, org.ID).Scan(&now); err != nil {
			return fmt.Errorf("fleet: finish run %q: %w", org.ID, err)
		}
		if floor := end.Add(time.Duration(w.cfg.Floor)); now != wakes && floor.Before(next) {
			next, priority = floor, prioritySync // woken during the run
		}
		if _, err := river.JobCompleteTx[*riverpgxv5.Driver](fctx, tx, job); err != nil {
			return fmt.Errorf("fleet: finish run %q: %w", org.ID, err)
		}
		if _, err := w.river.InsertTx(fctx, tx, SyncArgs{Org: org.ID}, &river.InsertOpts{ScheduledAt: next, Priority: priority}); err != nil {
			return fmt.Errorf("fleet: schedule next run of %q: %w", org.ID, err)
		}
		verifyDone := done
		if out.verified {
			verifyDone = wanted
		}
		held, parked := out.counts()
		_, err := tx.Exec(fctx, `UPDATE fleet_org SET last_finished = $2, last_result = $3, next_run = $4,
			verify_done = greatest(verify_done, $5), verify_due = $6, not_before = $7,
			last_ok = CASE WHEN $3 = 'ok' THEN $2 ELSE last_ok END, held = $8, parked = $9,
			failing_scopes = $10, parked_scopes = $11 WHERE org = $1`,
			org.ID, end, result, next, verifyDone, due, end.Add(time.Duration(w.cfg.Floor)), held, parked, sc.failing, sc.parked)
		return err
	})
}

// latest returns the later of a and b.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// syncOrg builds the organization's client and reconciler and runs it.
func (w *Worker) syncOrg(ctx context.Context, org *Organization, holder string, verify bool) outcome {
	before, err := w.store.Load(ctx, org.ID)
	if err != nil {
		return outcome{err: fmt.Errorf("fleet: load records of %q: %w", org.ID, err)}
	}
	st := newLoggingStore(w.store, w.log.With("organization", org.ID, "run", holder), before)
	var requests atomic.Int64
	rec, err := w.reconciler(org, st, holder, &requests)
	if err != nil {
		return outcome{err: err}
	}
	snap, err := w.loader.Load(ctx, org.ID)
	if err != nil {
		return outcome{err: fmt.Errorf("fleet: load snapshot of %q: %w", org.ID, err), loadFailed: true}
	}
	var out outcome
	if verify {
		if out.drift, err = rec.Verify(ctx); err != nil {
			return outcome{err: err, requests: requests.Load()}
		}
		out.verified = true
	}
	out.report, out.err = rec.Sync(ctx, snap)
	out.requests = requests.Load()
	out.parkedUsers = st.parkedUsers()
	return out
}

// reconciler returns a Reconciler for org whose Kisi client shares the
// pace of org's Kisi user: this process's limiter of the user (kisi.WithLimiter),
// which lets one request of the user at a time ask for a slot, and below it,
// for every attempt, the fleet-wide slot of the [SharedLimiter].
func (w *Worker) reconciler(org *Organization, st access.Store, holder string, requests *atomic.Int64) (*access.Reconciler, error) {
	base, lim := w.base, w.limiters.For(org.KisiUser)
	switch {
	case w.shared != nil:
		base = w.shared.Transport(org.KisiUser, base)
	case w.cfg.RateScope == RateScopeOff:
		lim = rate.NewLimiter(rate.Inf, 1)
	}
	base = sendLog{base: base, log: w.log.With("organization", org.ID, "run", holder), clock: w.clock, user: org.KisiUser}
	opts := []kisi.Option{
		kisi.WithLimiter(lim),
		kisi.WithHTTPClient(&http.Client{Transport: countingTransport{base: base, m: w.metrics, n: requests}, Timeout: kisi.DefaultTimeout}),
		kisi.WithUserAgent("kisisync-fleet (" + holder + ")"),
	}
	if org.BaseURL != "" {
		opts = append(opts, kisi.WithBaseURL(org.BaseURL))
	}
	if in := w.cfg.Integration; in != nil {
		opts = append(opts, kisi.WithIntegration(in.Identifier, in.Contact))
	}
	if r := w.cfg.KisiRetry; r != nil {
		opts = append(opts, kisi.WithRetry(r.Max, time.Duration(r.WaitMin), time.Duration(r.WaitMax)))
	}
	kc, err := kisi.NewClient(org.APIKey, opts...)
	if err != nil {
		return nil, fmt.Errorf("fleet: kisi client of %q: %w", org.ID, err)
	}
	return access.NewReconciler(kc, st, org.Mapping, org.policy(),
		access.WithOrganization(org.ID), access.WithHolder(holder), access.WithClock(w.clock),
		access.WithLeaseTTL(time.Duration(w.cfg.LeaseTTL)), access.WithRetryAfter(time.Duration(w.cfg.RetryAfter)),
		access.WithLogger(w.log.With("organization", org.ID)))
}

// nextRun is when the organization runs next: Report.NextRun, or a retry
// after a failed run, or when a held lease ends; clamped to [floor, ceiling].
func (w *Worker) nextRun(now time.Time, out outcome) time.Time {
	floor, ceiling := now.Add(time.Duration(w.cfg.Floor)), now.Add(time.Duration(w.cfg.Ceiling))
	next := ceiling
	var held *state.LeaseHeldError
	switch {
	case out.budgetSpent:
		return now // work left: go on at once
	case errors.As(out.err, &held):
		next = held.Expires
	case out.report != nil && !out.report.NextRun.IsZero():
		next = out.report.NextRun
	case out.err != nil:
		next = now.Add(time.Duration(w.cfg.RetryAfter))
	}
	if next.Before(floor) {
		next = floor
	}
	if next.After(ceiling) {
		next = ceiling
	}
	return next
}

// record logs the run and counts it in the metrics; it returns the run's
// result label.
func (w *Worker) record(ctx context.Context, org *Organization, holder string, job *river.Job[SyncArgs],
	start, end, next time.Time, out outcome, sc scopes) string {
	var revoke *access.RevokeLimitError
	var systemic *access.SystemicError
	result := "ok"
	switch {
	case out.budgetSpent:
		result = "budget"
	case errors.As(out.err, &revoke):
		result = "held"
	case errors.Is(out.err, state.ErrLeaseHeld):
		result = "busy"
	case errors.As(out.err, &systemic):
		result = "systemic"
	case out.err != nil && out.report != nil:
		result = "failed"
	case out.err != nil:
		result = "error"
	case out.report != nil && out.report.Unresolved > 0:
		result = "unresolved"
	case out.report != nil && slices.ContainsFunc(out.report.Parked, func(p access.Parked) bool { return !p.RetryAt.IsZero() }):
		// A change waits for its back-off; the run at NextRun tries it.
		result = "waiting"
	}
	w.metrics.Runs.WithLabelValues(result).Inc()
	w.metrics.RunDuration.Observe(since(end, start))
	w.metrics.observeReport(out.report)
	w.metrics.observeFailures(out.report, out.err)
	w.metrics.observeUndone(out.report)
	for scope, n := range sc.failing {
		w.metrics.ScopeFailures.WithLabelValues(scope).Add(float64(n))
	}
	switch {
	case out.report != nil && len(out.report.Held) > 0:
		w.metrics.HeldRevocations.Add(float64(len(out.report.Held)))
	case revoke != nil:
		w.metrics.HeldRevocations.Add(float64(revoke.Revocations))
	}

	attrs := []any{"organization", org.ID, "run", holder, "job_id", job.ID, "attempt", job.Attempt,
		"result", result, "verified", out.verified, "kisi_requests", out.requests,
		"duration_ms", end.Sub(start).Milliseconds(), "next_run", next.UTC().Format(time.RFC3339Nano)}
	if r := out.report; r != nil {
		attrs = append(attrs, "created", r.Created, "users_created", r.UsersCreated, "invitations", r.Invitations,
			"replaced", r.Replaced, "deleted", r.Deleted,
			"failed", r.Failed, "adopted", r.Adopted, "unresolved", r.Unresolved, "held", len(r.Held),
			"not_attempted", r.NotAttempted, "skipped", len(r.Skipped), "parked", len(r.Parked))
		if len(r.Failures) > 0 {
			classes := map[string]int{}
			for _, f := range r.Failures {
				classes[string(f.Class)]++
			}
			attrs = append(attrs, "failures", classes)
		}
	}
	if len(sc.failing) > 0 {
		attrs = append(attrs, "failing_scopes", map[string]int(sc.failing))
	}
	if len(sc.parked) > 0 {
		attrs = append(attrs, "parked_scopes", map[string]int(sc.parked))
	}
	if d := out.drift; d != nil {
		attrs = append(attrs, "drift_missing", len(d.Missing), "drift_edited", len(d.Edited),
			"drift_adopted", len(d.Adopted), "drift_unmanaged", len(d.Unmanaged))
	}
	level := slog.LevelInfo
	if r := out.report; r != nil && len(r.Skipped)+len(r.Parked)+len(r.Held) > 0 {
		level = slog.LevelWarn // something was left undone, even with no error
	}
	if out.err != nil {
		attrs = append(attrs, "error", out.err.Error())
		level = slog.LevelWarn
	}
	w.log.Log(ctx, level, "run finished", attrs...)
	// One WARN line per cause, naming the records or people and the remedy.
	integration.LogUndone(ctx, w.log.With("organization", org.ID, "run", holder), out.report)
	return result
}

// loggingStore logs every Kisi object a run records as created (or
// adopted) or removed: the organization, member, Store key and Kisi id,
// never the email. A creation is logged just before the Store write that
// records it, so that a run killed at any moment has logged every object
// it recorded (at least once: the run that adopts an object whose record
// was not written logs it again).
type loggingStore struct {
	access.Store
	log *slog.Logger

	mu    sync.Mutex
	known map[string]state.Record // key → the record as last written
}

func newLoggingStore(st access.Store, log *slog.Logger, recs []state.Record) *loggingStore {
	known := make(map[string]state.Record, len(recs))
	for _, r := range recs {
		known[r.Key] = r
	}
	return &loggingStore{Store: st, log: log, known: known}
}

// Put implements access.Store.
func (s *loggingStore) Put(ctx context.Context, org string, token int64, rec state.Record) error {
	s.mu.Lock()
	old, had := s.known[rec.Key]
	s.mu.Unlock()
	if rec.Kind == state.KindUser && rec.KisiID != 0 && (!had || old.KisiID != rec.KisiID) {
		// Created by this run or found in Kisi: the reconciler does not
		// tell them apart here (Report.UsersCreated counts the created).
		s.log.InfoContext(ctx, "kisi user recorded", "member", rec.MemberID, "key", rec.Key, "kisi_id", rec.KisiID)
	}
	if rec.Kind != state.KindUser && rec.State == state.StateSettled && rec.KisiID != 0 && (!had || old.KisiID != rec.KisiID) {
		s.log.InfoContext(ctx, "kisi object created", "member", rec.MemberID, "key", rec.Key, "kind", string(rec.Kind),
			"group_id", rec.GroupID, "kisi_id", rec.KisiID,
			"valid_from", rec.Window.Start.UTC().Format(time.RFC3339), "valid_until", rec.Window.End.UTC().Format(time.RFC3339))
	}
	if err := s.Store.Put(ctx, org, token, rec); err != nil {
		return err
	}
	s.mu.Lock()
	s.known[rec.Key] = rec
	s.mu.Unlock()
	return nil
}

// parkedUsers returns the emails whose Kisi user is parked, as the run
// last wrote its records (see [parkedUsers]).
func (s *loggingStore) parkedUsers() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return parkedUsers(slices.Collect(maps.Values(s.known)))
}

// Delete implements access.Store.
func (s *loggingStore) Delete(ctx context.Context, org string, token int64, key string) error {
	if err := s.Store.Delete(ctx, org, token, key); err != nil {
		return err
	}
	s.mu.Lock()
	old, had := s.known[key]
	delete(s.known, key)
	s.mu.Unlock()
	if had && old.Kind != state.KindUser && old.KisiID != 0 {
		s.log.InfoContext(ctx, "kisi object removed", "member", old.MemberID, "key", key, "kind", string(old.Kind),
			"group_id", old.GroupID, "kisi_id", old.KisiID)
	}
	return nil
}
