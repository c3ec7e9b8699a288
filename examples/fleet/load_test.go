package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
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
// random errors and lost responses, synced by loadWorkers worker processes
// on one PostgreSQL; River's leader is killed (SIGKILL) while it runs jobs.
// FLEET_LOAD_ORGS overrides the number of organizations.
const (
	loadOrgs    = 200
	loadWorkers = 3
	// loadTimeout bounds the wait for every organization to converge.
	loadTimeout = 150 * time.Second
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
	at  time.Time
	run string
}

func newLoadOrg(t *testing.T, i int, now time.Time) *loadOrg {
	t.Helper()
	o := &loadOrg{id: fmt.Sprintf("org-%03d", i), srv: kisitest.NewServer()}
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
		o.hits = append(o.hits, hit{at: time.Now(), run: r.Header.Get("User-Agent")})
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

func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test runs worker processes for a minute or two")
	}
	dsn := testDatabase(t)
	n := loadOrgs
	if v := os.Getenv("FLEET_LOAD_ORGS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	dir := t.TempDir()
	bin := buildWorker(t, dir)

	now := time.Now().Truncate(time.Second)
	snapshots := filepath.Join(dir, "snapshots")
	require.NoError(t, os.Mkdir(snapshots, 0o700))
	orgs := make([]*loadOrg, n)
	d := func(v time.Duration) fleet.Duration { return fleet.Duration(v) }
	cfg := fleet.Config{
		Floor: d(200 * time.Millisecond), Ceiling: d(30 * time.Second), RetryAfter: d(time.Second), VerifyEvery: d(-1),
		Workers: 10, JobTimeout: d(20 * time.Second), RescueAfter: d(25 * time.Second), LeaseTTL: d(10 * time.Second),
		KisiRetry: &fleet.Retry{Max: 3, WaitMin: d(50 * time.Millisecond), WaitMax: d(400 * time.Millisecond)},
	}
	for i := range orgs {
		o := newLoadOrg(t, i, now)
		orgs[i] = o
		b, err := json.Marshal(o.snap)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(snapshots, o.id+".json"), b, 0o600))
		// Two organizations per Kisi user: they share a limiter.
		cfg.Organizations = append(cfg.Organizations, fleet.Organization{ID: o.id, KisiUser: fmt.Sprintf("user-%d", i/2),
			BaseURL: o.srv.URL, APIKey: o.srv.APIKey, Mapping: o.mapping})
	}
	cfgJSON, err := json.Marshal(cfg)
	require.NoError(t, err)
	cfgPath := filepath.Join(dir, "fleet.json")
	require.NoError(t, os.WriteFile(cfgPath, cfgJSON, 0o600))

	ctx := t.Context()
	pool := testPool(t, dsn)
	start := time.Now()
	procs := make([]*exec.Cmd, loadWorkers)
	logs := make([]string, loadWorkers)
	for i := range procs {
		logs[i] = filepath.Join(dir, fmt.Sprintf("worker-%d.log", i))
		f, err := os.Create(logs[i])
		require.NoError(t, err)
		defer f.Close()
		cmd := exec.Command(bin, "-config", cfgPath, "-database", dsn, "-snapshots", snapshots,
			"-listen", "", "-id", fmt.Sprintf("worker-%d", i), "-grace", "5s")
		cmd.Stdout, cmd.Stderr = f, f
		require.NoError(t, cmd.Start())
		procs[i] = cmd
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}

	// Kill River's leader (the worst case: it also moves scheduled jobs to
	// the queue and rescues stuck ones, so that waits for a new leader)
	// while it runs jobs, once the fleet is busy.
	var killed time.Time
	var victim string
	var stuck []string
	deadline := time.Now().Add(60 * time.Second)
	for killed.IsZero() {
		require.True(t, time.Now().Before(deadline), "the leader never ran jobs")
		var running, finished int
		err := pool.QueryRow(ctx, `SELECT l.leader_id,
			(SELECT count(*) FROM river_job WHERE kind = 'kisisync_sync' AND state = 'running'
				AND attempted_by[array_upper(attempted_by, 1)] = l.leader_id),
			(SELECT count(*) FROM fleet_org WHERE last_finished IS NOT NULL)
			FROM river_leader l`).Scan(&victim, &running, &finished)
		if err == nil && running >= 3 && finished >= n/10 {
			i, err := strconv.Atoi(strings.TrimPrefix(victim, "worker-"))
			require.NoError(t, err)
			require.NoError(t, procs[i].Process.Signal(syscall.SIGKILL))
			_ = procs[i].Wait()
			killed = time.Now()
			procs = slices.Delete(procs, i, i+1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rows, err := pool.Query(ctx, `SELECT args->>'org' FROM river_job WHERE kind = 'kisisync_sync'
		AND state = 'running' AND attempted_by[array_upper(attempted_by, 1)] = $1`, victim)
	require.NoError(t, err)
	for rows.Next() {
		var org string
		require.NoError(t, rows.Scan(&org))
		stuck = append(stuck, org)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, stuck, "the leader was killed between runs")
	t.Logf("killed %s, River's leader, after %v, in the middle of %d runs: %v", victim,
		killed.Sub(start).Round(time.Millisecond), len(stuck), stuck)

	// Wait until the last run of every organization was clean, and the
	// killed runs were run again.
	var converged time.Time
	for converged.IsZero() {
		if time.Since(start) > loadTimeout {
			dumpStatus(t, pool)
			t.Fatalf("not every organization converged within %v", loadTimeout)
		}
		var clean, recovered int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE last_result = 'ok' AND last_finished >= last_started),
			count(*) FILTER (WHERE org = ANY($2) AND last_result = 'ok' AND last_finished > $1)
			FROM fleet_org`, killed, stuck).Scan(&clean, &recovered))
		if clean == n && recovered == len(stuck) {
			converged = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range procs {
		require.NoError(t, p.Process.Signal(syscall.SIGTERM))
		require.NoError(t, p.Wait(), "worker did not stop cleanly on SIGTERM")
	}

	// The figures, from the fakes' request logs and the workers' logs.
	requests, limited := 0, 0
	for _, o := range orgs {
		for _, r := range o.srv.Requests() {
			requests++
			if r.Status == 429 {
				limited++
			}
		}
	}
	var runs []runLine
	for _, path := range logs {
		runs = append(runs, readRuns(t, path)...)
	}
	created := map[string]map[int64]string{} // org → Kisi id → member, from the logs
	runs = slices.DeleteFunc(runs, func(r runLine) bool {
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
		if _, seen := firstOK[r.Org]; !seen && r.Result == "ok" {
			firstOK[r.Org] = r.Time
			firstDurations = append(firstDurations, r.Duration)
		}
	}
	for _, r := range runs { // a clean first run may have had nothing left to do
		if _, seen := firstOK[r.Org]; !seen && r.Result == "ok" {
			firstOK[r.Org] = r.Time
		}
	}
	require.Len(t, firstOK, n)
	slices.Sort(durations)
	slices.Sort(firstDurations)
	var unaffected, recovered time.Time // the last first clean run of the orgs the kill did not and did hit
	for org, at := range firstOK {
		if slices.Contains(stuck, org) {
			recovered = latest(recovered, at)
		} else {
			unaffected = latest(unaffected, at)
		}
	}
	t.Logf("FIGURES %d organizations, %d worker processes, %d runs %v (%d without Kisi requests): %d organizations not hit by the kill synced cleanly within %v (%.0f organizations per minute); "+
		"the %d runs killed were taken over and clean %v after the kill; all converged %v after the start. "+
		"Run time of the runs that sent requests p50 %dms p99 %dms (first clean run of each organization: p50 %dms p99 %dms). "+
		"Kisi requests %d (%.1f per organization), 429s %d",
		n, loadWorkers, len(runs), results, idle, n-len(stuck), unaffected.Sub(start).Round(100*time.Millisecond),
		float64(n-len(stuck))/unaffected.Sub(start).Minutes(),
		len(stuck), recovered.Sub(killed).Round(100*time.Millisecond), converged.Sub(start).Round(100*time.Millisecond),
		pct(durations, 50), pct(durations, 99), pct(firstDurations, 50), pct(firstDurations, 99),
		requests, float64(requests)/float64(n), limited)

	// The checks: no overlapping runs, and every organization right in Kisi
	// and in the Store, with the faults off.
	store := openStore(t, dsn)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for _, o := range orgs {
		if err := o.overlaps(); err != nil {
			t.Error(err)
		}
		o.srv.SetFaults(kisitest.Faults{})
		o.srv.Intercept(nil)
		g.Go(func() error { return checkOrg(gctx, o, store, now, created[o.id]) })
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
				if outside := schedule.NewSet(iv).Subtract(allowed[k]); len(outside.Intervals()) > 0 {
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

// buildWorker builds the worker binary into dir and returns its path.
func buildWorker(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "worker")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/worker").CombinedOutput()
	require.NoError(t, err, "go build ./cmd/worker: %s", out)
	return bin
}

// readRuns reads the "run finished" and "kisi object created" lines of a
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
		if json.Unmarshal(sc.Bytes(), &r) == nil && (r.Msg == "run finished" || r.Msg == "kisi object created") {
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
		{"one after the other", []hit{{at(1), "kisisync-fleet (worker-1/a)"}, {at(2), "kisisync-fleet (worker-1/a)"}, {at(3), "kisisync-fleet (worker-2/b)"}}, false},
		{"interleaved", []hit{{at(1), "kisisync-fleet (worker-1/a)"}, {at(2), "kisisync-fleet (worker-2/b)"}, {at(3), "kisisync-fleet (worker-1/a)"}}, true},
		{"not a worker", []hit{{at(1), "Go-http-client/1.1"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &loadOrg{id: "org", hits: tc.hits}
			require.Equal(t, tc.bad, o.overlaps() != nil)
		})
	}
}
