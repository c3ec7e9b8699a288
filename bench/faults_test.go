package bench_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/schedule"
)

// faultSpace is the small space of the fault matrix, taken three days into its month, at
// 10:00 UTC on a weekday: plans, bookings in force and ahead, check-ins, weekly assignments
// and drop-in links.
func faultSpace() spaceConfig {
	return spaceConfig{Seed: 3, Start: monthStart, Days: 6, Members: 12, Resources: 3,
		Bookings: 8, MovedShare: 0.15, Cancel: 0.1, DropIns: 2, CheckIns: 5, PlanEvents: 2,
		AssignmentsPerMonth: 2, PendingShareAtStart: 0.1, CancelledShareAtDrop: 0.2}
}

var faultNow = monthStart.AddDate(0, 0, 3).Add(10 * time.Hour)

// faultEnv is a fake Kisi seeded with the space's groups and some objects made by hand, an
// observer that checks the invariants after every request, and the snapshot at faultNow.
type faultEnv struct {
	t       testing.TB
	kisi    *kisiEnv
	snap    access.Snapshot
	sp      space
	faults  kisitest.Faults
	allowed map[string]schedule.Set // "email|group" → every instant access may be granted

	observer *kisi.Client // plain transport: not logged, no clock cost
	// handMade are objects created by hand before the run: the SDK must never touch them.
	handMade map[int64]string // Kisi id → description

	mu        sync.Mutex
	seed      int64
	outside   int // observations of a managed role outside the allowed windows
	dupLinks  int // observations of two links for one guest and group at once
	observed  int
	afterHook func(n int) // called after the n-th request of the run, if set
	requests  int
}

func newFaultEnv(t testing.TB) *faultEnv {
	t.Helper()
	c := faultSpace()
	k := newKisiEnv(t, c, kisitest.WithoutRateLimit())
	sp := generate(c, k.groups)
	snap := cloneSnapshot(sp.initial)
	for _, e := range sp.events {
		if e.at.After(faultNow) {
			break
		}
		e.apply(&snap)
	}
	sp.events = nil
	k.clock.AdvanceTo(faultNow)
	e := &faultEnv{t: t, kisi: k, snap: snap, sp: sp, handMade: map[int64]string{}, seed: 1}
	// Access may be granted for any window the snapshot wants over the days around now.
	grants, err := access.Access(snap, sp.mapping, access.DefaultPolicy(),
		schedule.Interval{Start: faultNow.AddDate(0, 0, -7), End: faultNow.AddDate(0, 0, 30)})
	require.NoError(t, err)
	e.allowed = map[string]schedule.Set{}
	for _, g := range grants {
		k := pairKey(g.Email, g.GroupID)
		e.allowed[k] = e.allowed[k].Union(schedule.NewSet(g.Window))
	}
	obs, err := kisi.NewClient(k.srv.APIKey, kisi.WithBaseURL(k.srv.URL), kisi.WithRateLimit(rate.Inf, 0),
		kisi.WithHTTPClient(k.srv.Client()), kisi.WithRetry(0, 0, 0), kisi.WithUserAgent(observerAgent))
	require.NoError(t, err)
	e.observer = obs
	e.seedHandMade()
	k.wire.after = e.observe
	return e
}

// seedHandMade creates, as a person in Kisi's dashboard would: a staff user with a role in
// the front-door group, a member's own role in the premium group, and a group link.
func (e *faultEnv) seedHandMade() {
	ctx := context.Background()
	front, premium := e.kisi.groups[0], e.kisi.groups[2]
	staff, _, err := e.observer.CreateUser(ctx, &kisi.UserCreateRequest{Email: "staff@example.com", Name: "Staff"})
	require.NoError(e.t, err)
	ra, _, err := e.observer.CreateRoleAssignment(ctx, &kisi.RoleAssignmentCreateRequest{RoleID: "group_basic",
		AppliesToType: "Group", AppliesToID: front, AssigneeType: "User", AssigneeID: staff.ID})
	require.NoError(e.t, err)
	e.handMade[ra.ID] = "staff role in the front-door group"
	member := e.snap.Members[1]
	mu, _, err := e.observer.CreateUser(ctx, &kisi.UserCreateRequest{Email: member.Email, Name: member.Name})
	require.NoError(e.t, err)
	ra, _, err = e.observer.CreateRoleAssignment(ctx, &kisi.RoleAssignmentCreateRequest{RoleID: "group_basic",
		AppliesToType: "Group", AppliesToID: premium, AssigneeType: "User", AssigneeID: mu.ID})
	require.NoError(e.t, err)
	e.handMade[ra.ID] = "a member's hand-made role in the premium group"
	email, on := "visitor@example.org", true
	gl, _, err := e.observer.CreateGroupLink(ctx, &kisi.GroupLinkCreateRequest{GroupID: front, Name: "Visitor", Email: &email, LinkEnabled: &on})
	require.NoError(e.t, err)
	e.handMade[gl.ID] = "a hand-made group link"
}

// withoutFaults runs f with the server's faults off, then turns them back on with a fresh
// seed (so the fault sequence goes on rather than repeating).
func (e *faultEnv) withoutFaults(f func()) {
	e.kisi.srv.SetFaults(kisitest.Faults{})
	f()
	e.seed++
	fl := e.faults
	fl.Seed = mix(e.faults.Seed, e.seed)
	e.kisi.srv.SetFaults(fl)
}

// mix derives a well-spread seed from a base and a counter (splitmix64's finalizer), as
// consecutive seeds give math/rand sources whose first draws are alike.
func mix(base, n int64) int64 {
	x := uint64(base)*0x9e3779b97f4a7c15 + uint64(n)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return int64(x >> 1)
}

func (e *faultEnv) setFaults(f kisitest.Faults) {
	e.faults = f
	e.kisi.srv.SetFaults(f)
}

// kisiState lists every group role assignment and group link in Kisi, with faults off.
func (e *faultEnv) kisiState() (roles []*kisi.RoleAssignment, links []*kisi.GroupLink) {
	ctx := context.Background()
	e.withoutFaults(func() {
		var err error
		roles, err = listAll(ctx, func(lo kisi.ListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error) {
			return e.observer.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: "Group", ListOptions: lo})
		})
		require.NoError(e.t, err)
		links, err = listAll(ctx, func(lo kisi.ListOptions) ([]*kisi.GroupLink, *kisi.Response, error) {
			return e.observer.ListGroupLinks(ctx, &kisi.GroupLinkListOptions{ListOptions: lo})
		})
		require.NoError(e.t, err)
	})
	return roles, links
}

// observe runs after every request of the SDK: it lists Kisi's role assignments and links
// and checks that no managed role lets anyone in outside the allowed windows and that no
// guest holds two links to one group.
func (e *faultEnv) observe(sent) {
	e.mu.Lock()
	e.requests++
	n := e.requests
	hook := e.afterHook
	e.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	roles, links := e.kisiState()
	e.observed++
	for _, ra := range roles {
		if _, hand := e.handMade[ra.ID]; hand || ra.Assignee == nil || ra.RoleID != "group_basic" {
			continue
		}
		v := schedule.NewSet(validity(ra.ValidFrom, ra.ValidUntil))
		if k := pairKey(ra.Assignee.Email, ra.AppliesToID); !v.Subtract(e.allowed[k]).IsEmpty() {
			e.outside++
			e.t.Logf("role %d of %s valid %v outside %v", ra.ID, k, v, e.allowed[k])
		}
	}
	seen := map[string]bool{}
	for _, l := range links {
		if l.Email == nil {
			continue
		}
		k := fmt.Sprint(l.GroupID) + "|" + strings.ToLower(*l.Email) + "|" + l.Name
		if seen[k] {
			e.dupLinks++
		}
		seen[k] = true
	}
}

func listAll[T any](ctx context.Context, fetch func(kisi.ListOptions) ([]*T, *kisi.Response, error)) ([]*T, error) {
	var out []*T
	lo := kisi.ListOptions{Limit: 250}
	for {
		items, resp, err := fetch(lo)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if resp == nil || resp.NextOffset <= lo.Offset || len(items) == 0 {
			return out, nil
		}
		lo.Offset = resp.NextOffset
	}
}

// handMadeTouched counts the hand-made objects that were deleted, and the
// requests of the SDK that named one of them.
func (e *faultEnv) handMadeTouched() int {
	touched := 0
	for _, s := range e.kisi.wire.sentLog() {
		if _, ok := e.handMade[s.id]; ok && s.method != http.MethodGet {
			touched++
		}
	}
	roles, links := e.kisiState()
	present := map[int64]bool{}
	for _, ra := range roles {
		present[ra.ID] = true
	}
	for _, l := range links {
		present[l.ID] = true
	}
	for id := range e.handMade {
		if !present[id] {
			touched++
		}
	}
	return touched
}

// missing counts the grants Desired wants now that Kisi does not hold with exactly their
// window, leaving out the pair that a hand-made role blocks (reported as a conflict), and the
// roles Kisi holds, not made by hand, that let someone in now or later without a grant.
func (e *faultEnv) missing() int {
	grants, err := access.Desired(e.snap, e.sp.mapping, access.DefaultPolicy(), e.kisi.clock.Now())
	if err != nil && len(access.RecordErrors(err)) == 0 {
		require.NoError(e.t, err) // record errors are reported by the run; anything else is not expected
	}
	held := map[string][]schedule.Interval{}
	hand := map[string]bool{}
	roles, _ := e.kisiState()
	for _, ra := range roles {
		if ra.Assignee == nil {
			continue
		}
		k := pairKey(ra.Assignee.Email, ra.AppliesToID)
		if _, ok := e.handMade[ra.ID]; ok {
			hand[k] = true
		}
		held[k] = append(held[k], validity(ra.ValidFrom, ra.ValidUntil))
	}
	n := 0
	wanted := map[string]bool{}
	for _, g := range grants {
		wanted[pairKey(g.Email, g.GroupID)] = true
	}
	for k, hs := range held {
		for _, h := range hs {
			if !hand[k] && !wanted[k] && h.End.After(e.kisi.clock.Now()) {
				e.t.Logf("extra role of %s valid %v", k, h)
				n++
			}
		}
	}
	for _, g := range grants {
		k := pairKey(g.Email, g.GroupID)
		if hand[k] {
			continue
		}
		want := schedule.Interval{Start: g.Window.Start.Truncate(time.Second), End: g.Window.End}
		if want.End.Before(schedule.Forever) {
			want.End = want.End.Truncate(time.Second)
		}
		found := false
		for _, h := range held[k] {
			if h.Start.Equal(want.Start) && h.End.Equal(want.End) {
				found = true
			}
		}
		if !found {
			n++
		}
	}
	return n
}

// reconciler returns a reconciler over st talking through the env's wire, as a new process
// would start.
func (e *faultEnv) reconciler(st access.Store, opts ...access.Option) *access.Reconciler {
	client, err := e.kisi.wire.client(e.kisi.srv.URL, e.kisi.srv.APIKey, kisi.WithRateLimit(rate.Inf, 0))
	require.NoError(e.t, err)
	r, err := access.NewReconciler(client, st, e.sp.mapping, access.DefaultPolicy(),
		append([]access.Option{access.WithClock(e.kisi.clock)}, opts...)...)
	require.NoError(e.t, err)
	return r
}

// converge syncs until a run writes nothing and fails nothing, then returns how many runs it
// took (the last, quiet one included); maxRuns when it did not converge. accept says which
// errors of a run still count as quiet (a deleted group).
func (e *faultEnv) converge(r *access.Reconciler, maxRuns int, accept func(error) bool) int {
	ctx := context.Background()
	for run := 1; run <= maxRuns; run++ {
		before := len(e.kisi.wire.sentLog())
		rep, err := r.Sync(ctx, e.snap)
		writes := 0
		for _, s := range e.kisi.wire.sentLog()[before:] {
			if s.method != http.MethodGet && s.status >= 200 && s.status < 300 {
				writes++
			}
		}
		quiet := writes == 0 && (err == nil || (accept != nil && accept(err)))
		if rep != nil && rep.Unresolved > 0 {
			quiet = false
		}
		if quiet {
			return run
		}
		if testing.Verbose() && rep != nil && run > 20 {
			e.t.Logf("run %d: %d writes, created %d replaced %d deleted %d failed %d unresolved %d adopted %d forgotten %d conflicts %d: %v",
				run, writes, rep.Created, rep.Replaced, rep.Deleted, rep.Failed, rep.Unresolved, rep.Adopted, rep.Forgotten, len(rep.Conflicts), err)
		}
		next := e.kisi.clock.Now().Add(time.Minute)
		if rep != nil && !rep.NextRun.IsZero() && rep.NextRun.Before(next) {
			next = rep.NextRun
		}
		var held *access.LeaseHeldError
		if errors.As(err, &held) {
			next = held.Expires
		}
		e.kisi.clock.AdvanceTo(next)
	}
	return maxRuns
}

// faultRow is one line of the fault matrix.
type faultRow struct {
	name                                            string
	runs, requests, outside, dups, touched, missing int
	lost                                            int
	// after is the requests of one more run after convergence, and its NextRun delay.
	after     int
	afterNext time.Duration
}

func (r faultRow) String() string {
	return fmt.Sprintf("| %s | %d | %d | %d | %d | %d | %d | %d | %d (next in %v) |", r.name, r.runs, r.requests, r.lost, r.missing, r.dups, r.touched, r.outside, r.after, r.afterNext)
}

const maxFaultRuns = 40

// observerAgent marks the observer's requests, which interceptors leave alone.
const observerAgent = "kisisync-bench-observer"

const groupDeletedCase = "a mapped group deleted in Kisi after the 5th request"

func runFaultCase(t *testing.T, name string, f kisitest.Faults, setup func(e *faultEnv)) faultRow {
	t.Helper()
	e := newFaultEnv(t)
	e.setFaults(f)
	if setup != nil {
		setup(e)
	}
	r := e.reconciler(access.NewMemoryStore())
	runs := e.converge(r, maxFaultRuns, func(err error) bool { return errors.Is(err, kisi.ErrNotFound) })
	row := faultRow{name: name, runs: runs, requests: len(e.kisi.wire.sentLog()), outside: e.outside,
		dups: e.dupLinks + e.kisi.wire.duplicates(), touched: e.handMadeTouched()}
	for _, q := range e.kisi.srv.Requests() {
		if q.Lost {
			row.lost++
		}
	}
	require.Less(t, runs, maxFaultRuns, "%s: did not converge", name)
	if name != groupDeletedCase {
		row.missing = e.missing()
	}
	before := len(e.kisi.wire.sentLog())
	rep, _ := r.Sync(context.Background(), e.snap)
	row.after = len(e.kisi.wire.sentLog()) - before
	if rep != nil && !rep.NextRun.IsZero() {
		row.afterNext = rep.NextRun.Sub(e.kisi.clock.Now()).Round(time.Second)
	}
	return row
}

// TestFaultMatrix converges under injected faults with no duplicate, no hand-made object
// touched and never a role valid outside the desired windows.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	type tc struct {
		name   string
		faults kisitest.Faults
		setup  func(e *faultEnv)
	}
	var cases []tc
	for _, er := range []float64{0, 0.1, 0.3, 0.5} {
		for _, lr := range []float64{0, 0.1, 0.3} {
			cases = append(cases, tc{name: fmt.Sprintf("errors %.0f%%, lost responses %.0f%%", er*100, lr*100),
				faults: kisitest.Faults{Seed: int64(100*er + 10*lr + 1), ErrorRate: er, LostRate: lr}})
		}
	}
	cases = append(cases,
		tc{name: "lost responses 30% as dropped connections", faults: kisitest.Faults{Seed: 7, LostRate: 0.3, DropConnection: true}},
		tc{name: "latency spikes: every 7th request 45 s", setup: func(e *faultEnv) {
			n := 0
			e.kisi.srv.Intercept(func(r *http.Request) kisitest.Fault {
				if r.UserAgent() == observerAgent {
					return kisitest.Fault{}
				}
				n++
				if n%7 == 0 {
					return kisitest.Fault{Latency: 45 * time.Second}
				}
				return kisitest.Fault{}
			})
		}},
		tc{name: groupDeletedCase, setup: func(e *faultEnv) {
			e.afterHook = func(n int) {
				if n != 5 {
					return
				}
				e.withoutFaults(func() {
					req, _ := http.NewRequest(http.MethodDelete, e.kisi.srv.URL+"/groups/"+fmt.Sprint(e.kisi.groups[3]), nil)
					req.Header.Set("Authorization", "KISI-LOGIN "+e.kisi.srv.APIKey)
					resp, err := e.kisi.srv.Client().Do(req)
					if err == nil {
						_ = resp.Body.Close()
					}
				})
			}
		}},
	)
	var rows []string
	var mu sync.Mutex
	t.Cleanup(func() { t.Log("\n" + strings.Join(rows, "\n")) })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			row := runFaultCase(t, c.name, c.faults, c.setup)
			mu.Lock()
			rows = append(rows, row.String())
			mu.Unlock()
			require.Zero(t, row.outside, "a role valid outside the desired windows")
			require.Zero(t, row.dups, "duplicates")
			require.Zero(t, row.touched, "hand-made objects touched")
			require.Zero(t, row.missing, "grants missing after convergence")
		})
	}
}

var errCrash = errors.New("crash")

// crashStore is a Store whose process dies at its n-th write (Put or Delete): that write
// and everything after it fail, and the run's context is cancelled so no further Kisi call
// is made. The Kisi call the write was recording has already happened.
type crashStore struct {
	access.Store
	at     int
	cancel context.CancelFunc

	mu      sync.Mutex
	writes  int
	crashed bool
}

func (s *crashStore) write() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crashed {
		return errCrash
	}
	s.writes++
	if s.writes == s.at {
		s.crashed = true
		s.cancel()
		return errCrash
	}
	return nil
}

func (s *crashStore) dead() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.crashed
}

func (s *crashStore) Put(ctx context.Context, org string, token int64, rec access.Record) error {
	if err := s.write(); err != nil {
		return err
	}
	return s.Store.Put(ctx, org, token, rec)
}

func (s *crashStore) Delete(ctx context.Context, org string, token int64, key string) error {
	if err := s.write(); err != nil {
		return err
	}
	return s.Store.Delete(ctx, org, token, key)
}

func (s *crashStore) Lease(ctx context.Context, org, holder string, now, expires time.Time) (int64, error) {
	if s.dead() {
		return 0, errCrash
	}
	return s.Store.Lease(ctx, org, holder, now, expires)
}

func (s *crashStore) Load(ctx context.Context, org string) ([]access.Record, error) {
	if s.dead() {
		return nil, errCrash
	}
	return s.Store.Load(ctx, org)
}

// storeWrites counts the Store writes of a clean first run, so the crash test covers each.
func storeWrites(t *testing.T) int {
	e := newFaultEnv(t)
	cs := &crashStore{Store: access.NewMemoryStore(), at: -1, cancel: func() {}}
	r := e.reconciler(cs)
	_, err := r.Sync(context.Background(), e.snap)
	require.NoError(t, err)
	return cs.writes
}

// TestCrashAtEveryStep crashes the first run at each of its Store writes in turn — right
// after the Kisi call the write records — then starts a new process on the same Store and
// converges, with no duplicate, no hand-made object touched and no access outside windows.
func TestCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	n := storeWrites(t)
	require.Positive(t, n)
	var (
		mu    sync.Mutex
		worst int
	)
	t.Cleanup(func() {
		t.Logf("crash at each of %d Store writes of the first run: converged within %d runs after the restart", n, worst)
	})
	for at := 1; at <= n; at++ {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			t.Parallel()
			e := newFaultEnv(t)
			inner := access.NewMemoryStore()
			ctx, cancel := context.WithCancel(context.Background())
			cs := &crashStore{Store: inner, at: at, cancel: cancel}
			r := e.reconciler(cs)
			_, _ = r.Sync(ctx, e.snap) // dies
			cancel()
			require.True(t, cs.dead())
			// A new process on the same Store, once the dead run's lease has expired.
			r2 := e.reconciler(inner)
			runs := e.converge(r2, maxFaultRuns, nil)
			require.Less(t, runs, maxFaultRuns, "did not converge")
			mu.Lock()
			worst = max(worst, runs)
			mu.Unlock()
			require.Zero(t, e.outside, "a role valid outside the desired windows")
			require.Zero(t, e.dupLinks+e.kisi.wire.duplicates(), "duplicates")
			require.Zero(t, e.handMadeTouched(), "hand-made objects touched")
			require.Zero(t, e.missing(), "grants missing after convergence")
		})
	}
}
