package fleet_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// The load test: loadOrgs organizations, each on its own fake Kisi with
// random errors and lost responses, loadPerUser of them on one Kisi user
// (their fakes share that user's budget, kisitest.Budget), synced by
// loadWorkers worker processes on one PostgreSQL; River's leader is killed
// (SIGKILL) while it runs jobs. FLEET_LOAD_ORGS overrides the number of
// organizations.
const (
	loadOrgs    = 200
	loadPerUser = 10
	loadWorkers = 3
	// loadTimeout bounds the wait for every organization to converge, for
	// loadOrgs organizations; a larger fleet gets as much more.
	loadTimeout = 150 * time.Second
	// kisiPerSecond is Kisi's limit per user: no one-second window may
	// hold more requests of one user.
	kisiPerSecond = 5
	// fakeLag is how late the fakes may stamp a request after it left its
	// worker: the test process runs every fake and, on a busy machine,
	// is not always scheduled at once (stamps 90–140 ms late were seen
	// under -race beside other tests). Requests at most 5 in any second
	// as they leave reach the fakes at most 5 in any second less fakeLag.
	fakeLag = 250 * time.Millisecond
)

// loadOrg is one organization of the load test and its fake Kisi.
type loadOrg struct {
	id      string
	srv     *kisitest.Server
	snap    access.Snapshot
	mapping mapping.Mapping

	mu   sync.Mutex
	hits []hit // every request, as the fake received it
}

// hit is one request a fake received: when, and from which run (the
// worker's User-Agent names the run).
type hit struct {
	at     time.Time
	run    string
	method string
	path   string
}

func newLoadOrg(t *testing.T, i int, now time.Time, opts ...kisitest.Option) *loadOrg {
	t.Helper()
	o := &loadOrg{id: fmt.Sprintf("org-%03d", i), srv: kisitest.NewServer(opts...)}
	t.Cleanup(o.srv.Close)
	place, err := o.srv.AddPlace("Main", "Europe/Berlin")
	require.NoError(t, err)
	desk, err := o.srv.AddGroup("Desks", place)
	require.NoError(t, err)
	room, err := o.srv.AddGroup("Meeting room", place)
	require.NoError(t, err)
	o.mapping = mapping.Mapping{Plans: map[string][]int64{"desk": {desk}}, Resources: map[string][]int64{"room": {room}}}
	email := func(m int) string { return fmt.Sprintf("m%d@%s.example", m, o.id) }
	o.snap = access.Snapshot{
		Locations: []access.Location{{ID: "loc", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room", LocationID: "loc"}},
		Members: []access.Member{
			{ID: "m1", Email: email(1), Name: "Member One"}, {ID: "m2", Email: email(2), Name: "Member Two"},
			{ID: "m3", Email: email(3), Name: "Member Three"}, {ID: "m4", Email: email(4), Name: "Member Four", Managed: true},
		},
		Plans: []access.Plan{
			{ID: "p1", PlanID: "desk", MemberID: "m1", Start: now.Add(-24 * time.Hour), Status: access.PlanActive},
			{ID: "p2", PlanID: "desk", MemberID: "m2", Start: now.Add(-24 * time.Hour), End: now.Add(72 * time.Hour), Status: access.PlanActive},
			{ID: "p3", PlanID: "desk", MemberID: "m3", Start: now.Add(-24 * time.Hour), Status: access.PlanPending},
		},
		Bookings: []access.Booking{
			{ID: "b1", ResourceID: "room", MemberID: "m4", Start: now.Add(10 * time.Minute), End: now.Add(70 * time.Minute), CreatedAt: now.Add(-time.Hour)},
		},
	}
	o.srv.SetFaults(kisitest.Faults{Seed: int64(i + 1), ErrorRate: 0.05, LostRate: 0.05, DropConnection: i%2 == 0})
	o.srv.Intercept(func(r *http.Request) kisitest.Fault {
		o.mu.Lock()
		o.hits = append(o.hits, hit{at: time.Now(), run: r.Header.Get("User-Agent"), method: r.Method, path: r.URL.Path})
		o.mu.Unlock()
		return kisitest.Fault{} // the random faults decide
	})
	return o
}

// overlaps reports the first request of a run that came after another
// run of the organization had started: two runs at once.
func (o *loadOrg) overlaps() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	hits := slices.Clone(o.hits)
	slices.SortStableFunc(hits, func(a, b hit) int { return a.at.Compare(b.at) })
	done := map[string]bool{}
	cur := ""
	for _, h := range hits {
		if !strings.HasPrefix(h.run, "kisisync-fleet (worker-") {
			return fmt.Errorf("%s: a request not from a worker's run: User-Agent %q", o.id, h.run)
		}
		if h.run == cur {
			continue
		}
		if done[h.run] {
			return fmt.Errorf("%s: run %q sent a request at %s after run %q had started",
				o.id, h.run, h.at.Format(time.RFC3339Nano), cur)
		}
		done[cur] = true
		cur = h.run
	}
	return nil
}

// runLine is the part of a worker's "run finished" log line the test reads.
type runLine struct {
	Time     time.Time `json:"time"`
	Msg      string    `json:"msg"`
	Org      string    `json:"organization"`
	Run      string    `json:"run"`
	Result   string    `json:"result"`
	Duration int64     `json:"duration_ms"`
	Requests int64     `json:"kisi_requests"`
	Error    string    `json:"error"`
	Member   string    `json:"member"`
	Key      string    `json:"key"`
	KisiID   int64     `json:"kisi_id"`
}

// loadSpec is one run of the fleet under load.
type loadSpec struct {
	orgs, perUser int
	scope         string // Config.RateScope; "" is the default
	mutation      string // the worker binary's mutation (see mutation.go); "" none
	kill          bool   // SIGKILL River's leader while it runs jobs
	// untilViolation, when set, ends the run at the first violation of
	// the fleet's promises that contains it, instead of waiting for every
	// organization to converge.
	untilViolation string
	// events is how many organizations get a platform event once the
	// fleet has converged (see platformEvents).
	events int
	// restart runs the fleet on a PostgreSQL cluster of its own
	// (privateCluster) and restarts it once under load, after the kill.
	restart bool
	// procs is the number of worker processes (0: loadWorkers), workers
	// the runs each makes at once (0: 10).
	procs, workers int
}

// loadRun is what a run of the fleet under load saw.
type loadRun struct {
	spec    loadSpec
	dsn     string
	now     time.Time // the snapshots' now
	start   time.Time
	orgs    []*loadOrg
	budgets []*kisitest.Budget // one per Kisi user
	logs    []string
	procs   []*exec.Cmd
	sends   *sendTail // the workers' "kisi request sent" lines

	// maxJobs is the most unfinished sync jobs one organization had at
	// once (sampled), maxJobsOrg that organization.
	maxJobs    int
	maxJobsOrg string

	killed, converged time.Time
	// restarted is when PostgreSQL was restarted, up when it answered
	// again (zero without spec.restart).
	restarted, up time.Time
	eventLatency  []time.Duration // sorted
	victim        string
	stuck         []string // organizations whose runs were killed
}

// violations returns the broken promises the run saw: more than one
// unfinished job of an organization; more than Kisi's limit of a Kisi
// user's requests in any second as the workers sent them (their "kisi
// request sent" lines, every process's on the one clock of this
// machine); at the fakes, more than the limit in any second less
// fakeLag, a request no worker logged as sent, or any 429.
func (r *loadRun) violations() []string {
	var out []string
	if r.maxJobs > 1 {
		out = append(out, fmt.Sprintf("%s had %d unfinished sync jobs at once", r.maxJobsOrg, r.maxJobs))
	}
	// The fakes' counts first, then the logs: a request is logged before
	// it is written, so every request a fake counted is in the logs.
	received := make([]int, len(r.budgets))
	for i, b := range r.budgets {
		received[i] = len(b.Admitted()) + b.Refused()
	}
	if err := r.sends.read(); err != nil {
		return append(out, err.Error())
	}
	for i, b := range r.budgets {
		user := fmt.Sprintf("user-%d", i)
		admitted := b.Admitted()
		slices.SortFunc(admitted, time.Time.Compare)
		out = append(out, rateViolations(user, r.sends.times(user), admitted, received[i], b.Refused())...)
	}
	return out
}

// rateViolations judges one Kisi user's pace: sent are the send times the
// workers logged, admitted the times its fakes stamped the requests they
// let through (both sorted), received how many requests its fakes
// counted, refused how many they answered 429.
func rateViolations(user string, sent, admitted []time.Time, received, refused int) []string {
	var out []string
	if n, at := maxIn(sent, time.Second); n > kisiPerSecond {
		out = append(out, fmt.Sprintf("Kisi user %s: %d requests sent in the second from %s", user, n, at.Format("15:04:05.000")))
	}
	if n, at := maxIn(admitted, time.Second-fakeLag); n > kisiPerSecond {
		out = append(out, fmt.Sprintf("Kisi user %s: %d requests reached its fakes within %v from %s", user, n, time.Second-fakeLag, at.Format("15:04:05.000")))
	}
	if received > len(sent) {
		out = append(out, fmt.Sprintf("Kisi user %s: its fakes received %d requests, the workers logged %d sent", user, received, len(sent)))
	}
	if refused > 0 {
		out = append(out, fmt.Sprintf("Kisi user %s: %d requests answered 429", user, refused))
	}
	return out
}

// maxIn returns the most of times within any window of length d (a window
// includes its start, not its end), and where the first such window
// starts; times is sorted.
func maxIn(times []time.Time, d time.Duration) (n int, at time.Time) {
	lo := 0
	for hi, t := range times {
		for !t.Before(times[lo].Add(d)) {
			lo++
		}
		if c := hi - lo + 1; c > n {
			n, at = c, times[lo]
		}
	}
	return n, at
}

// sendTail reads the "kisi request sent" lines the workers append to their
// logs, from where it last stopped.
type sendTail struct {
	paths  []string
	offset []int64
	sent   map[string][]time.Time // Kisi user → send times, sorted
}

func newSendTail(paths []string) *sendTail {
	return &sendTail{paths: paths, offset: make([]int64, len(paths)), sent: map[string][]time.Time{}}
}

// read reads the whole lines added to the logs since the last read.
func (s *sendTail) read() error {
	for i, path := range s.paths {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.NewSectionReader(f, s.offset[i], math.MaxInt64-s.offset[i]))
		f.Close()
		if err != nil {
			return err
		}
		end := bytes.LastIndexByte(b, '\n')
		if end < 0 {
			continue
		}
		s.offset[i] += int64(end + 1)
		for line := range bytes.Lines(b[:end+1]) {
			if !bytes.Contains(line, []byte(`"kisi request sent"`)) {
				continue
			}
			var l struct {
				User string    `json:"kisi_user"`
				Sent time.Time `json:"sent"`
			}
			if err := json.Unmarshal(line, &l); err != nil {
				return fmt.Errorf("%s: %w: %s", path, err, line)
			}
			s.sent[l.User] = append(s.sent[l.User], l.Sent)
		}
	}
	for _, times := range s.sent {
		slices.SortFunc(times, time.Time.Compare)
	}
	return nil
}

// times returns the send times of user's requests read so far, sorted.
func (s *sendTail) times(user string) []time.Time { return s.sent[user] }

// sampleJobs records the most unfinished sync jobs of one organization.
func (r *loadRun) sampleJobs(ctx context.Context, pool *pgxpool.Pool) error {
	var org string
	var n int
	err := pool.QueryRow(ctx, `SELECT args->>'org', count(*) FROM river_job WHERE kind = 'kisisync_sync'
		AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled')
		GROUP BY 1 ORDER BY 2 DESC LIMIT 1`).Scan(&org, &n)
	if errors.Is(err, pgx.ErrNoRows) { // before the first process inserted its jobs
		return nil
	}
	if err != nil {
		return err
	}
	if n > r.maxJobs {
		r.maxJobs, r.maxJobsOrg = n, org
	}
	return nil
}

// runLoad runs the fleet of spec: loadWorkers worker processes on a new
// database, until every organization converged (and the killed runs were
// taken over) or, with untilViolation, until the first violation.
func runLoad(t *testing.T, spec loadSpec) *loadRun {
	t.Helper()
	r := &loadRun{spec: spec}
	var cluster *pgCluster
	if spec.restart {
		cluster, r.dsn = privateCluster(t)
	} else {
		r.dsn = testDatabase(t)
	}
	dir := t.TempDir()
	bin := buildWorker(t, dir, spec.mutation)

	now := time.Now().Truncate(time.Second)
	r.now = now
	snapshots := filepath.Join(dir, "snapshots")
	require.NoError(t, os.Mkdir(snapshots, 0o700))
	d := func(v time.Duration) fleet.Duration { return fleet.Duration(v) }
	cfg := fleet.Config{
		Floor: d(200 * time.Millisecond), Ceiling: d(30 * time.Second), RetryAfter: d(time.Second), VerifyEvery: d(-1),
		Workers: cmp.Or(spec.workers, 10), RunBudget: d(15 * time.Second), JobTimeout: d(20 * time.Second), RescueAfter: d(25 * time.Second), LeaseTTL: d(10 * time.Second),
		KisiRetry: &fleet.Retry{Max: 3, WaitMin: d(50 * time.Millisecond), WaitMax: d(400 * time.Millisecond)},
		RateScope: spec.scope,
	}
	r.orgs = make([]*loadOrg, spec.orgs)
	users := (spec.orgs + spec.perUser - 1) / spec.perUser
	for range users {
		r.budgets = append(r.budgets, kisitest.NewBudget(kisiPerSecond))
	}
	for i := range r.orgs {
		user := i % users // spread: the first runs are of many users
		o := newLoadOrg(t, i, now, kisitest.WithBudget(r.budgets[user]))
		r.orgs[i] = o
		b, err := json.Marshal(o.snap)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(snapshots, o.id+".json"), b, 0o600))
		cfg.Organizations = append(cfg.Organizations, fleet.Organization{ID: o.id, KisiUser: fmt.Sprintf("user-%d", user),
			BaseURL: o.srv.URL, APIKey: o.srv.APIKey, Mapping: o.mapping})
	}
	cfgJSON, err := json.Marshal(cfg)
	require.NoError(t, err)
	cfgPath := filepath.Join(dir, "fleet.json")
	require.NoError(t, os.WriteFile(cfgPath, cfgJSON, 0o600))

	ctx := t.Context()
	pool := testPool(t, r.dsn)
	r.start = time.Now()
	procs := cmp.Or(spec.procs, loadWorkers)
	r.procs = make([]*exec.Cmd, procs)
	r.logs = make([]string, procs)
	for i := range r.procs {
		r.logs[i] = filepath.Join(dir, fmt.Sprintf("worker-%d.log", i))
	}
	r.sends = newSendTail(r.logs)
	for i := range r.procs {
		f, err := os.Create(r.logs[i])
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		cmd := exec.Command(bin, "-config", cfgPath, "-database", r.dsn, "-snapshots", snapshots,
			"-listen", "", "-id", fmt.Sprintf("worker-%d", i), "-grace", "5s", "-log-level", "debug")
		cmd.Stdout, cmd.Stderr = f, f
		require.NoError(t, cmd.Start())
		r.procs[i] = cmd
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	violated := func() bool {
		require.NoError(t, r.sampleJobs(ctx, pool))
		return spec.untilViolation != "" && strings.Contains(strings.Join(r.violations(), "\n"), spec.untilViolation)
	}

	// Kill River's leader (the worst case: it also moves scheduled jobs to
	// the queue and rescues stuck ones, so that waits for a new leader)
	// while it runs jobs, once the fleet is busy.
	deadline := time.Now().Add(60 * time.Second)
	for spec.kill && r.killed.IsZero() {
		require.True(t, time.Now().Before(deadline), "the leader never ran jobs")
		var running, finished int
		err := pool.QueryRow(ctx, `SELECT l.leader_id,
			(SELECT count(*) FROM river_job WHERE kind = 'kisisync_sync' AND state = 'running'
				AND attempted_by[array_upper(attempted_by, 1)] = l.leader_id),
			(SELECT count(*) FROM fleet_org WHERE last_finished IS NOT NULL)
			FROM river_leader l`).Scan(&r.victim, &running, &finished)
		if err == nil && running >= 3 && finished >= spec.orgs/10 {
			i, err := strconv.Atoi(strings.TrimPrefix(r.victim, "worker-"))
			require.NoError(t, err)
			require.NoError(t, r.procs[i].Process.Signal(syscall.SIGKILL))
			_ = r.procs[i].Wait()
			r.killed = time.Now()
			r.procs = slices.Delete(r.procs, i, i+1)
			rows, err := pool.Query(ctx, `SELECT args->>'org' FROM river_job WHERE kind = 'kisisync_sync'
				AND state = 'running' AND attempted_by[array_upper(attempted_by, 1)] = $1`, r.victim)
			require.NoError(t, err)
			for rows.Next() {
				var org string
				require.NoError(t, rows.Scan(&org))
				r.stuck = append(r.stuck, org)
			}
			require.NoError(t, rows.Err())
			require.NotEmpty(t, r.stuck, "the leader was killed between runs")
			t.Logf("killed %s, River's leader, after %v, in the middle of %d runs: %v", r.victim,
				r.killed.Sub(r.start).Round(time.Millisecond), len(r.stuck), r.stuck)
		}
		if violated() {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Wait until the last run of every organization was clean, and the
	// killed runs were run again.
	for r.converged.IsZero() {
		if timeout := loadTimeout * time.Duration(max(1, spec.orgs/loadOrgs)); time.Since(r.start) > timeout {
			dumpStatus(t, pool)
			t.Fatalf("not every organization converged within %v; violations: %v", timeout, r.violations())
		}
		var clean, recovered int
		if cluster != nil && r.restarted.IsZero() && (!spec.kill || !r.killed.IsZero()) &&
			pool.QueryRow(ctx, `SELECT count(*) FROM fleet_org WHERE last_finished IS NOT NULL`).Scan(&clean) == nil && clean >= spec.orgs/3 {
			// Restart PostgreSQL under load: every worker loses its
			// connections, runs under way fail their Store writes.
			r.restarted = time.Now()
			cluster.restart(t)
			waitDatabase(t, ctx, func(ctx context.Context) error { _, err := pool.Exec(ctx, "SELECT 1"); return err })
			r.up = time.Now()
			t.Logf("restarted PostgreSQL after %v, with %d organizations run; it answered again after %v",
				r.restarted.Sub(r.start).Round(time.Millisecond), clean, r.up.Sub(r.restarted).Round(time.Millisecond))
		}
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE last_result = 'ok' AND last_finished >= last_started),
			count(*) FILTER (WHERE org = ANY($2) AND last_result = 'ok' AND last_finished > $1)
			FROM fleet_org`, r.killed, r.stuck).Scan(&clean, &recovered))
		if clean == spec.orgs && recovered == len(r.stuck) {
			r.converged = time.Now()
		}
		if violated() {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
	if spec.events > 0 {
		r.eventLatency = platformEvents(t, pool, snapshots, r.orgs[:min(spec.events, len(r.orgs))])
	}
	for _, p := range r.procs {
		require.NoError(t, p.Process.Signal(syscall.SIGTERM))
		require.NoError(t, p.Wait(), "worker did not stop cleanly on SIGTERM")
	}
	return r
}

// platformEvents is the platform at work once the fleet has converged:
// for each of orgs at once, a new booking of member m1 in the room,
// written to the snapshot and woken with fleet.WakeTx in one transaction.
// It returns, sorted, the time from each change (the snapshot written,
// just before the commit) to the role's creation request reaching the
// organization's fake Kisi.
func platformEvents(t *testing.T, pool *pgxpool.Pool, snapshots string, orgs []*loadOrg) []time.Duration {
	t.Helper()
	ctx := t.Context()
	committed := make([]time.Time, len(orgs))
	var g errgroup.Group
	for i, o := range orgs {
		g.Go(func() error {
			committed[i] = time.Now()                 // the change; a run under way may see it before the commit
			now := committed[i].Truncate(time.Second) // Kisi keeps whole seconds
			o.snap.Bookings = append(o.snap.Bookings, access.Booking{ID: "b2", ResourceID: "room", MemberID: "m1",
				Start: now.Add(15 * time.Minute), End: now.Add(75 * time.Minute), CreatedAt: now})
			b, err := json.Marshal(o.snap)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(snapshots, o.id+".json"), b, 0o600); err != nil {
				return err
			}
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return fleet.WakeTx(ctx, tx, o.id) })
		})
	}
	require.NoError(t, g.Wait())
	out := make([]time.Duration, len(orgs))
	require.Eventually(t, func() bool {
		for i, o := range orgs {
			if out[i] > 0 {
				continue
			}
			o.mu.Lock()
			for _, h := range o.hits {
				if h.at.After(committed[i]) && h.method == http.MethodPost && strings.HasSuffix(h.path, "/role_assignments") {
					out[i] = h.at.Sub(committed[i])
					break
				}
			}
			o.mu.Unlock()
			if out[i] == 0 {
				return false
			}
		}
		return true
	}, 60*time.Second, 20*time.Millisecond, "a platform event did not reach Kisi")
	// Then until their runs are clean again (a create whose answer was
	// lost is adopted by the next run).
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = o.id
	}
	last := slices.MaxFunc(committed, time.Time.Compare)
	require.Eventually(t, func() bool {
		var clean int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM fleet_org WHERE org = ANY($1)
			AND last_result = 'ok' AND last_finished >= last_started AND last_started > $2`, ids, last).Scan(&clean)
		return err == nil && clean == len(orgs)
	}, 60*time.Second, 50*time.Millisecond, "the organizations woken by platform events did not converge")
	slices.Sort(out)
	return out
}

func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test runs worker processes for a minute or two")
	}
	n := loadOrgs
	if v := os.Getenv("FLEET_LOAD_ORGS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	// FLEET_LOAD_PROCS, FLEET_LOAD_WORKERS and FLEET_LOAD_RATE_SCOPE set
	// the processes, the runs each makes at once and Config.RateScope, to
	// compare the fleet with one process (BENCHMARKS.md).
	procs, workers := loadWorkers, 0
	for name, v := range map[string]*int{"FLEET_LOAD_PROCS": &procs, "FLEET_LOAD_WORKERS": &workers} {
		if s := os.Getenv(name); s != "" {
			var err error
			*v, err = strconv.Atoi(s)
			require.NoError(t, err, name)
		}
	}
	// One process has no one to take over from it: no kill then (a
	// figure to compare the fleet's throughput with).
	r := runLoad(t, loadSpec{orgs: n, perUser: loadPerUser, kill: procs > 1, events: 50, restart: true,
		procs: procs, workers: workers, scope: os.Getenv("FLEET_LOAD_RATE_SCOPE")})
	ctx := t.Context()
	start, killed, stuck, victim, converged := r.start, r.killed, r.stuck, r.victim, r.converged

	// The figures, from the fakes' request logs and the workers' logs.
	requests, limited := 0, 0
	for _, o := range r.orgs {
		for _, q := range o.srv.Requests() {
			requests++
			if q.Status == 429 {
				limited++
			}
		}
	}
	require.NoError(t, r.sends.read())
	peak, peakUser := 0, 0         // at the fakes
	sentPeak, sentPeakUser := 0, 0 // as the workers sent them
	var busiest []float64          // per Kisi user, its requests per second in its busiest 10 s
	for i, b := range r.budgets {
		if n, _ := b.MaxIn(time.Second); n > peak {
			peak, peakUser = n, i
		}
		if n, _ := maxIn(r.sends.times(fmt.Sprintf("user-%d", i)), time.Second); n > sentPeak {
			sentPeak, sentPeakUser = n, i
		}
		n, _ := b.MaxIn(10 * time.Second)
		busiest = append(busiest, float64(n)/10)
	}
	slices.Sort(busiest)
	var runs []runLine
	for _, path := range r.logs {
		runs = append(runs, readRuns(t, path)...)
	}
	created := map[string]map[int64]string{} // org → Kisi id → member, from the logs
	usersLogged := map[string]int{}          // org → Kisi users recorded, from the logs
	runs = slices.DeleteFunc(runs, func(r runLine) bool {
		if r.Msg == "kisi user recorded" {
			usersLogged[r.Org]++
			return true
		}
		if r.Msg != "kisi object created" {
			return false
		}
		if created[r.Org] == nil {
			created[r.Org] = map[int64]string{}
		}
		created[r.Org][r.KisiID] = r.Member
		return true
	})
	firstOK := map[string]time.Time{}
	results := map[string]int{}
	var durations, firstDurations []int64 // of the runs that sent requests
	idle := 0
	for _, r := range runs {
		results[r.Result]++
		if r.Result == "error" {
			t.Logf("run %s of %s could not plan: %s", r.Run, r.Org, r.Error)
		}
		if r.Requests == 0 {
			idle++
			continue
		}
		durations = append(durations, r.Duration)
		if _, seen := firstOK[r.Org]; !seen && r.Result == "ok" && !r.Time.After(converged) {
			firstOK[r.Org] = r.Time
			firstDurations = append(firstDurations, r.Duration)
		}
	}
	for _, r := range runs { // a clean first run may have had nothing left to do
		if _, seen := firstOK[r.Org]; !seen && r.Result == "ok" && !r.Time.After(converged) {
			firstOK[r.Org] = r.Time
		}
	}
	require.Len(t, firstOK, n)
	for _, o := range r.orgs {
		require.Positive(t, usersLogged[o.id], "%s: no Kisi user in the audit log", o.id)
	}
	slices.Sort(durations)
	slices.Sort(firstDurations)
	var resumed time.Time // the first run that finished after PostgreSQL answered again
	for _, run := range runs {
		if run.Time.After(r.up) && (resumed.IsZero() || run.Time.Before(resumed)) {
			resumed = run.Time
		}
	}
	if !r.restarted.IsZero() {
		require.False(t, resumed.IsZero(), "no run finished after the restart")
		t.Logf("FIGURES PostgreSQL restart %v after the start: it answered again after %v; the first run finished %v after that",
			r.restarted.Sub(start).Round(time.Millisecond), r.up.Sub(r.restarted).Round(time.Millisecond), resumed.Sub(r.up).Round(time.Millisecond))
	}
	var unaffected, recovered time.Time // the last first clean run of the orgs the kill did not and did hit
	for org, at := range firstOK {
		if slices.Contains(stuck, org) {
			recovered = latest(recovered, at)
		} else {
			unaffected = latest(unaffected, at)
		}
	}
	// The killed worker's organizations resumed: each one's first run by
	// another worker started (its log line's time less its duration)
	// after the kill.
	var resumedIn time.Duration
	for _, org := range stuck {
		var first time.Time
		for _, run := range runs {
			started := run.Time.Add(-time.Duration(run.Duration) * time.Millisecond)
			if run.Org == org && !strings.HasPrefix(run.Run, victim+"/") && started.After(killed) && (first.IsZero() || started.Before(first)) {
				first = started
			}
		}
		require.False(t, first.IsZero(), "%s: no run after the kill", org)
		resumedIn = max(resumedIn, first.Sub(killed))
	}
	t.Logf("FIGURES %d organizations on %d Kisi users, %d worker processes (%d runs at once each, rate scope %q), %d runs %v (%d without Kisi requests): %d organizations not hit by the kill synced cleanly within %v (%.0f organizations per minute); "+
		"the %d runs killed resumed (another worker started their organizations' runs) within %v of the kill, and were clean %v after it; all converged %v after the start. "+
		"Run time of the runs that sent requests p50 %dms p99 %dms (first clean run of each organization: p50 %dms p99 %dms). "+
		"Kisi requests %d (%.1f per organization, %.2f per second per Kisi user), 429s %d; most requests of one Kisi user in one second: %d as sent (user-%d), %d at the fakes (user-%d); most unfinished jobs of one organization %d; a Kisi user's busiest 10 s: median %.1f, max %.1f requests per second. "+
		"%d platform events at once after convergence (the change, then fleet.WakeTx), from the change to the role's request at Kisi: p50 %v p99 %v",
		n, len(r.budgets), procs, cmp.Or(workers, 10), cmp.Or(r.spec.scope, fleet.RateScopeFleet), len(runs), results, idle, n-len(stuck), unaffected.Sub(start).Round(100*time.Millisecond),
		float64(n-len(stuck))/unaffected.Sub(start).Minutes(),
		len(stuck), resumedIn.Round(100*time.Millisecond), recovered.Sub(killed).Round(100*time.Millisecond), r.converged.Sub(start).Round(100*time.Millisecond),
		pct(durations, 50), pct(durations, 99), pct(firstDurations, 50), pct(firstDurations, 99),
		requests, float64(requests)/float64(n), float64(requests)/float64(len(r.budgets))/r.converged.Sub(start).Seconds(),
		limited, sentPeak, sentPeakUser, peak, peakUser, r.maxJobs, busiest[len(busiest)/2], busiest[len(busiest)-1],
		len(r.eventLatency), pctDuration(r.eventLatency, 50), pctDuration(r.eventLatency, 99))

	// The promises: one unfinished job per organization, Kisi's limit per
	// user at every moment, no 429.
	require.Empty(t, r.violations())
	require.Zero(t, limited, "429s")

	// The checks: no overlapping runs, and every organization right in Kisi
	// and in the Store, with the faults off.
	store := openStore(t, r.dsn)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for _, o := range r.orgs {
		if err := o.overlaps(); err != nil {
			t.Error(err)
		}
		o.srv.SetFaults(kisitest.Faults{})
		o.srv.Intercept(nil)
		g.Go(func() error { return checkOrg(gctx, o, store, r.now, created[o.id]) })
	}
	require.NoError(t, g.Wait())
	for _, org := range stuck {
		var runsAfter int
		for _, r := range runs {
			if r.Org == org && r.Time.After(killed) && !strings.HasPrefix(r.Run, victim+"/") {
				runsAfter++
			}
		}
		require.Positive(t, runsAfter, "%s: the run killed with %s was not taken over", org, victim)
	}
}

// TestLoadMutations: the load test's promises fail when what keeps them is
// taken out of the worker: unique jobs (more than one unfinished job per
// organization), the fleet-wide limiter (a Kisi user over 5 requests in a
// second: per process only, or no limiter). Each run stops at the first
// violation.
func TestLoadMutations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs worker processes")
	}
	tests := []struct {
		name string
		spec loadSpec
		want string
	}{
		{"no unique jobs", loadSpec{mutation: "no-unique-jobs"}, "unfinished sync jobs at once"},
		{"limiter per process only", loadSpec{scope: fleet.RateScopeProcess}, "requests sent in the second from"},
		{"limiter off", loadSpec{scope: fleet.RateScopeOff}, "answered 429"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.orgs, tc.spec.perUser, tc.spec.untilViolation = 24, 12, tc.want
			r := runLoad(t, tc.spec)
			v := r.violations()
			require.NotEmpty(t, v, "the mutation broke no promise")
			require.Contains(t, strings.Join(v, "\n"), tc.want)
			t.Logf("violations: %v", v)
		})
	}
}

// checkOrg checks one organization after the load: a Plan is empty (it
// converged), Kisi holds exactly one role per desired (member, group) and
// one user per member with access (nothing duplicated), and no role
// reaches outside the member's desired access. Every role was logged as
// created, with its member, by the run that created or adopted it.
func checkOrg(ctx context.Context, o *loadOrg, store access.Store, now time.Time, logged map[int64]string) error {
	kc, err := kisi.NewClient(o.srv.APIKey, kisi.WithBaseURL(o.srv.URL), kisi.WithLimiter(rate.NewLimiter(5, 1)))
	if err != nil {
		return err
	}
	rec, err := access.NewReconciler(kc, store, o.mapping, access.DefaultPolicy(), access.WithOrganization(o.id))
	if err != nil {
		return err
	}
	changes, err := rec.Plan(ctx, o.snap)
	if err != nil {
		return fmt.Errorf("%s: final plan: %w", o.id, err)
	}
	if !changes.Empty() || changes.Unresolved > 0 {
		return fmt.Errorf("%s: did not converge; final plan:\n%s", o.id, changes)
	}
	grants, err := access.Access(o.snap, o.mapping, access.DefaultPolicy(),
		schedule.Interval{Start: now.Add(-48 * time.Hour), End: now.Add(60 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	allowed := map[string]schedule.Set{} // email/group → desired windows
	for _, g := range grants {
		k := fmt.Sprintf("%s/%d", g.Email, g.GroupID)
		allowed[k] = allowed[k].Union(schedule.NewSet(g.Window))
	}
	users := map[int64]string{}
	emails := map[string]int{}
	for u, err := range kc.Users.ListIter(ctx, nil) {
		if err != nil {
			return err
		}
		users[u.ID] = u.Email
		emails[u.Email]++
	}
	desired, err := access.Desired(o.snap, o.mapping, access.DefaultPolicy(), time.Now())
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, g := range desired {
		want[fmt.Sprintf("%s/%d", g.Email, g.GroupID)] = true
	}
	got := map[string]bool{}
	for _, groups := range [][]int64{o.mapping.Plans["desk"], o.mapping.Resources["room"]} {
		for _, gid := range groups {
			opts := &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: gid}
			for ra, err := range kc.RoleAssignments.ListIter(ctx, opts) {
				if err != nil {
					return err
				}
				k := fmt.Sprintf("%s/%d", users[ra.AssigneeID], gid)
				if got[k] {
					return fmt.Errorf("%s: %s holds two roles", o.id, k)
				}
				got[k] = true
				if logged[ra.ID] == "" {
					return fmt.Errorf("%s: role %d of %s was not logged as created", o.id, ra.ID, k)
				}
				// A missing bound is open: the window reaches that far.
				iv := schedule.Interval{Start: now.Add(-365 * 24 * time.Hour), End: schedule.Forever}
				if ra.ValidFrom != nil {
					iv.Start = *ra.ValidFrom
				}
				if ra.ValidUntil != nil {
					iv.End = *ra.ValidUntil
				}
				if outside := beyondEndMinutes(schedule.NewSet(iv).Subtract(allowed[k]), allowed[k]); len(outside) > 0 {
					return fmt.Errorf("%s: role %d of %s reaches outside the desired access %v: %v", o.id, ra.ID, k, allowed[k].Intervals(), iv)
				}
			}
		}
	}
	for k := range want {
		if !got[k] {
			return fmt.Errorf("%s: desired role %s missing in Kisi", o.id, k)
		}
	}
	for k := range got {
		if !want[k] {
			return fmt.Errorf("%s: role %s in Kisi is not desired", o.id, k)
		}
	}
	members := map[string]bool{}
	for _, g := range grants {
		members[g.Email] = true
	}
	for e, c := range emails {
		if c > 1 {
			return fmt.Errorf("%s: %d Kisi users with email %s", o.id, c, e)
		}
		if strings.HasSuffix(e, "@"+o.id+".example") && !members[e] {
			return fmt.Errorf("%s: Kisi user %s created for a member without access", o.id, e)
		}
	}
	return nil
}

// buildWorker builds the worker binary into dir and returns its path; a
// non-empty mutation takes a safeguard out of it (see mutation.go).
func buildWorker(t *testing.T, dir, mutation string) string {
	t.Helper()
	bin := filepath.Join(dir, "worker")
	args := []string{"build", "-o", bin}
	if mutation != "" {
		args = append(args, "-ldflags", "-X github.com/kisisync/kisisync/examples/fleet.mutation="+mutation)
	}
	out, err := exec.Command("go", append(args, "./cmd/worker")...).CombinedOutput()
	require.NoError(t, err, "go build ./cmd/worker: %s", out)
	return bin
}

// readRuns reads the "run finished", "kisi object created" and "kisi user
// recorded" lines of a
// worker's log.
func readRuns(t *testing.T, path string) []runLine {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []runLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r runLine
		if json.Unmarshal(sc.Bytes(), &r) == nil && (r.Msg == "run finished" || r.Msg == "kisi object created" || r.Msg == "kisi user recorded") {
			out = append(out, r)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// dumpStatus logs the organizations that have not converged.
func dumpStatus(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT o.org, coalesce(o.last_result, ''), coalesce(j.state::text, '')
		FROM fleet_org o LEFT JOIN river_job j ON j.kind = 'kisisync_sync' AND j.args->>'org' = o.org AND j.state <> 'completed'
		WHERE o.last_result IS DISTINCT FROM 'ok' ORDER BY o.org LIMIT 20`)
	if err != nil {
		t.Log(err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var org, result, state string
		if rows.Scan(&org, &result, &state) == nil {
			t.Logf("%s: last result %q, job %s", org, result, state)
		}
	}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func pctDuration(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, (len(sorted)*p+99)/100-1)].Round(time.Millisecond)
}

func pct(sorted []int64, p int) int64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, (len(sorted)*p+99)/100-1)]
}

func TestOverlapCheck(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	tests := []struct {
		name string
		hits []hit
		bad  bool
	}{
		{"one after the other", []hit{{at: at(1), run: "kisisync-fleet (worker-1/a)"}, {at: at(2), run: "kisisync-fleet (worker-1/a)"}, {at: at(3), run: "kisisync-fleet (worker-2/b)"}}, false},
		{"interleaved", []hit{{at: at(1), run: "kisisync-fleet (worker-1/a)"}, {at: at(2), run: "kisisync-fleet (worker-2/b)"}, {at: at(3), run: "kisisync-fleet (worker-1/a)"}}, true},
		{"not a worker", []hit{{at: at(1), run: "Go-http-client/1.1"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &loadOrg{id: "org", hits: tc.hits}
			require.Equal(t, tc.bad, o.overlaps() != nil)
		})
	}
}

// TestRateViolations: the load test's judgment of a Kisi user's pace. A
// fake stamping late (the test process not scheduled) may put 6 requests
// in one second at the fakes while they left paced: that passes, as long
// as they left at most 5 in any second and reach the fakes at most 5 in
// any 750 ms. Six sent in a second, a burst at the fakes, a request no
// worker logged, or a 429 fails.
func TestRateViolations(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	paced := at(0, 222, 444, 666, 888, 1110, 1332) // at most 5 in any 1.1 s
	tests := []struct {
		name              string
		sent, admitted    []time.Time
		received, refused int
		want              string // a violation containing it; "" none
	}{
		{"paced, stamped on time", paced, paced, 7, 0, ""},
		// The second to fifth stamped up to 141 ms late, the sixth on
		// time: six within one second at the fakes (the old check failed).
		{"paced, stamped late by a stalled fake", paced, at(0, 363, 585, 807, 1029, 1110, 1332), 7, 0, ""},
		{"six sent in a second", at(0, 150, 300, 450, 600, 900), at(0, 150, 300, 450, 600, 900), 6, 0, "requests sent in the second"},
		{"a burst at the fakes", paced, at(0, 600, 650, 700, 750, 800, 1332), 7, 0, "reached its fakes within 750ms"},
		{"a request not logged as sent", paced[:6], paced, 7, 0, "the workers logged 6 sent"},
		{"a 429", paced, paced[:6], 7, 1, "answered 429"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := strings.Join(rateViolations("user-0", tc.sent, tc.admitted, tc.received, tc.refused), "\n")
			if tc.want == "" {
				require.Empty(t, got)
				return
			}
			require.Contains(t, got, tc.want)
		})
	}
}

// beyondEndMinutes returns the intervals of outside but those that only
// finish the minute an interval of allowed ends in: the SDK sends a
// window's end ceiled to the whole minute, so that a Kisi keeping whole
// minutes never cuts it short.
func beyondEndMinutes(outside, allowed schedule.Set) []schedule.Interval {
	var out []schedule.Interval
	for _, iv := range outside.Intervals() {
		tail := slices.ContainsFunc(allowed.Intervals(), func(a schedule.Interval) bool {
			return iv.Start.Equal(a.End) && !iv.End.After(a.End.Truncate(time.Minute).Add(time.Minute))
		})
		if !tail {
			out = append(out, iv)
		}
	}
	return out
}
