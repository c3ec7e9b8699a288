package access_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// events is a log shared by a slow Kisi and a Store: what happened, in order.
type events struct {
	mu       sync.Mutex
	log      []string
	inFlight int
	most     int
}

func (ev *events) add(s string) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.log = append(ev.log, s)
}

// write logs the start and end of a Kisi write that takes latency of real time.
func (ev *events) write(what string, latency time.Duration, call func()) {
	ev.mu.Lock()
	ev.inFlight++
	ev.most = max(ev.most, ev.inFlight)
	ev.log = append(ev.log, "start "+what)
	ev.mu.Unlock()
	time.Sleep(latency)
	call()
	ev.mu.Lock()
	ev.inFlight--
	ev.log = append(ev.log, "end "+what)
	ev.mu.Unlock()
}

// slowKisi is a KisiAPI whose writes take a round trip of real time.
type slowKisi struct {
	access.KisiAPI
	ev      *events
	latency time.Duration
	users   *sync.Map // Kisi user id → email
}

func (k slowKisi) CreateUser(ctx context.Context, req *kisi.UserCreateRequest) (u *kisi.User, resp *kisi.Response, err error) {
	k.ev.write("POST /users "+req.Email, k.latency, func() { u, resp, err = k.KisiAPI.CreateUser(ctx, req) })
	if err == nil {
		k.users.Store(u.ID, req.Email)
	}
	return u, resp, err
}

func (k slowKisi) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (ra *kisi.RoleAssignment, resp *kisi.Response, err error) {
	email, _ := k.users.Load(req.AssigneeID)
	k.ev.write(fmt.Sprintf("POST /role_assignments %v", email), k.latency, func() { ra, resp, err = k.KisiAPI.CreateRoleAssignment(ctx, req) })
	return ra, resp, err
}

func (k slowKisi) DeleteRoleAssignment(ctx context.Context, id int64) (resp *kisi.Response, err error) {
	k.ev.write(fmt.Sprint("DELETE /role_assignments ", id), k.latency, func() { resp, err = k.KisiAPI.DeleteRoleAssignment(ctx, id) })
	return resp, err
}

// loggingStore logs the intents put into it.
type loggingStore struct {
	access.Store
	ev *events
}

func (s loggingStore) Put(ctx context.Context, org string, token int64, rec state.Record) error {
	if rec.Kind == state.KindRole && rec.State == state.StatePending {
		s.ev.add("intent " + rec.Email)
	}
	return s.Store.Put(ctx, org, token, rec)
}

// TestRequestsInFlight (issue 32): with three requests in flight against a
// Kisi whose writes take 30 ms, a run revoking three members and
// onboarding six overlaps its writes (never more than three at once)
// and keeps the order rules: every revocation ends before any create
// starts, each member's user is created before their role, and each
// role's intent is in the Store before its create starts. Kisi ends as
// a run one request after another leaves it.
func TestRequestsInFlight(t *testing.T) {
	t.Parallel()
	snapshots := func() (before, after access.Snapshot) {
		before = baseSnapshot()
		addPlanMembers(&before, "old", 3)
		after = baseSnapshot()
		addPlanMembers(&after, "old", 3)
		for i := range after.Plans {
			after.Plans[i].Status = access.PlanCancelled
		}
		for i := range 6 {
			id := fmt.Sprintf("new%d", i)
			after.Members = append(after.Members, access.Member{ID: id, Email: id + "@example.com"})
			after.Plans = append(after.Plans, access.Plan{ID: "p" + id, PlanID: "pro", MemberID: id, Start: cest("09:00"), Status: access.PlanActive})
		}
		return before, after
	}
	final := map[int][]kisiRole{}
	for _, n := range []int{1, 3} {
		ev := &events{}
		e := newRig(t, rigConfig{store: func(st access.Store) access.Store { return loggingStore{Store: st, ev: ev} }})
		r, err := access.NewReconciler(slowKisi{KisiAPI: e.client, ev: ev, latency: 30 * time.Millisecond, users: &sync.Map{}},
			e.st, e.m, access.DefaultPolicy(), access.WithClock(e.clock), access.WithRequestsInFlight(n))
		require.NoError(t, err)
		before, after := snapshots()
		_, err = r.Sync(t.Context(), before)
		require.NoError(t, err)
		ev.log, ev.most = nil, 0
		rep, err := r.Sync(t.Context(), after)
		require.NoError(t, err)
		require.Equal(t, 3, rep.Deleted)
		require.Equal(t, 6, rep.Created)
		final[n] = e.roles()
		// At most n writes at once; with three, they overlap (how many at
		// once depends on the scheduler, not on the code).
		require.LessOrEqual(t, ev.most, n, "most writes in flight at once")
		if n > 1 {
			require.GreaterOrEqual(t, ev.most, 2, "writes in flight at once")
		}

		// The order rules, from the log.
		lastDeleteEnd, firstCreateStart := -1, len(ev.log)
		seen := map[string]int{}
		for i, s := range ev.log {
			seen[s] = i
			var what, who string
			if _, err := fmt.Sscanf(s, "start POST %s %s", &what, &who); err == nil {
				firstCreateStart = min(firstCreateStart, i)
				if what == "/role_assignments" {
					_, intent := seen["intent "+who]
					require.True(t, intent, "%d in flight: the intent of %s before its create", n, who)
					if _, created := seen["start POST /users "+who]; created {
						_, done := seen["end POST /users "+who]
						require.True(t, done, "%d in flight: %s's user before their role", n, who)
					}
				}
			}
			if len(s) > len("end DELETE") && s[:len("end DELETE")] == "end DELETE" {
				lastDeleteEnd = i
			}
		}
		require.Less(t, lastDeleteEnd, firstCreateStart, "%d in flight: revocations end before creates start:\n%v", n, ev.log)
	}
	require.Equal(t, final[1], final[3], "the same access either way")
}

// TestRequestsInFlightStopsOnSystemicFailure (issue 32): with three
// requests in flight, Kisi failing every create (503) stops the run as
// one request after another does — a *SystemicError, no change started
// after it, the rest not attempted — and the next runs, once Kisi works,
// create every role once.
func TestRequestsInFlightStopsOnSystemicFailure(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{opts: []access.Option{access.WithRequestsInFlight(3)}})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 20)
	failing := true
	var mu sync.Mutex
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if failing && r.Method == http.MethodPost && r.URL.Path == "/role_assignments" {
			return kisitest.Fault{Status: http.StatusServiceUnavailable}
		}
		return kisitest.Fault{}
	})
	rep, err := e.r.Sync(t.Context(), s)
	var se *access.SystemicError
	require.ErrorAs(t, err, &se)
	require.Positive(t, rep.NotAttempted)
	// Three failed creates in a row stop the run; at most two more were in
	// flight then, and no other change starts after the stop.
	require.GreaterOrEqual(t, rep.NotAttempted, 20-(3+2))
	require.Empty(t, e.roles())

	mu.Lock()
	failing = false
	mu.Unlock()
	for range 5 {
		e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
		if rep, err = e.r.Sync(t.Context(), s); err == nil && len(e.roles()) == 20 {
			break
		}
	}
	require.NoError(t, err)
	require.Len(t, e.roles(), 20, "every member's role, once")
}

// TestRequestsInFlightUnderTheGuard (issue 32): a truncated snapshot would
// revoke everyone; with three requests in flight the guard holds the same
// cuts, in the same order, as one request after another, and a cancelled
// plan among them (an explicit cut) is still applied.
func TestRequestsInFlightUnderTheGuard(t *testing.T) {
	t.Parallel()
	reports := map[int]*access.Report{}
	for _, n := range []int{1, 3} {
		e := newRig(t, rigConfig{opts: []access.Option{access.WithRequestsInFlight(n)}})
		s := baseSnapshot()
		addPlanMembers(&s, "member", 8)
		rep := e.sync(s)
		require.Equal(t, 8, rep.Created)

		broken := baseSnapshot()
		addPlanMembers(&broken, "member", 1)
		broken.Plans[0].Status = access.PlanCancelled
		rep, err := e.r.Sync(t.Context(), broken)
		var rle *access.RevokeLimitError
		require.ErrorAs(t, err, &rle)
		require.Equal(t, 1, rep.Deleted, "the cancelled plan")
		require.Len(t, e.roles(), 7)
		reports[n] = rep
	}
	require.Len(t, reports[1].Held, 7)
	// Kisi numbers the roles in the order the first run created them.
	if diff := cmp.Diff(reports[1].Held, reports[3].Held, cmpopts.IgnoreFields(access.Change{}, "KisiID")); diff != "" {
		t.Fatalf("held cuts (-one after another +three in flight):\n%s", diff)
	}
}

// gatedKisi holds the first role create back until the next two have
// returned, so that with three requests in flight the first change of a
// run finishes last, whatever the scheduler does.
type gatedKisi struct {
	access.KisiAPI
	mu       sync.Mutex
	arrived  int
	returned int
	others   chan struct{}
}

func (k *gatedKisi) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error) {
	k.mu.Lock()
	k.arrived++
	first := k.arrived == 1
	k.mu.Unlock()
	if first {
		<-k.others
		return k.KisiAPI.CreateRoleAssignment(ctx, req)
	}
	defer func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.returned++; k.returned == 2 {
			close(k.others)
		}
	}()
	return k.KisiAPI.CreateRoleAssignment(ctx, req)
}

// TestRequestsInFlightProgress (issue 32): with requests in flight,
// WithProgress still counts the changes done so far, one call at a time:
// 1, 2, 3 of 3 when the run's first change finishes last.
func TestRequestsInFlightProgress(t *testing.T) {
	t.Parallel()
	type call struct{ Done, Total int }
	var (
		mu    sync.Mutex
		calls []call
	)
	e := newRig(t, rigConfig{})
	k := &gatedKisi{KisiAPI: e.client, others: make(chan struct{})}
	r, err := access.NewReconciler(k, e.st, e.m, access.DefaultPolicy(), access.WithClock(e.clock), access.WithRequestsInFlight(3),
		access.WithProgress(func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, call{done, total})
		}))
	require.NoError(t, err)
	s := baseSnapshot()
	addPlanMembers(&s, "m", 3)
	rep, err := r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Created)
	if diff := cmp.Diff([]call{{1, 3}, {2, 3}, {3, 3}}, calls); diff != "" {
		t.Fatalf("progress (-want +got):\n%s", diff)
	}
}

// TestRequestsInFlightFailureBounds (issue 32): what one request after
// another bounds by one, n requests in flight bound by n, as the doc of
// WithRequestsInFlight says: the writes already in flight when a failure
// stops the run, or parks its group, still reach Kisi. Server errors on
// every create stop a run after 3 failures, and up to n-1 more; a group
// deleted in Kisi gets up to n creates before it is parked; a run that
// stalls past its lease while another process takes over sends up to n
// creates, not one, and the next run adopts them.
func TestRequestsInFlightFailureBounds(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("lease taken over/in-flight=%d", n), func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{opts: []access.Option{access.WithRequestsInFlight(n)}})
			s := baseSnapshot()
			s.Bookings = []access.Booking{
				bookingOf("bk1", "alice", "room1", "14:00", "18:00"),
				bookingOf("bk2", "bob", "room1", "14:00", "18:00"),
			}
			var mu sync.Mutex
			var creates int
			var intruder error
			e.srv.Intercept(func(r *http.Request) kisitest.Fault {
				mu.Lock()
				defer mu.Unlock()
				if r.Method == http.MethodPost && r.URL.Path == "/role_assignments" {
					if creates++; creates == 1 {
						e.clock.Advance(11 * time.Minute)
						now := e.clock.Now()
						_, intruder = e.st.Lease(context.Background(), "default", "intruder", now, now.Add(10*time.Minute))
					}
				}
				return kisitest.Fault{}
			})
			_, err := e.r.Sync(t.Context(), s)
			require.NoError(t, intruder)
			require.ErrorIs(t, err, state.ErrLeaseLost)
			mu.Lock()
			sent := creates
			mu.Unlock()
			require.LessOrEqual(t, sent, n, "the creates in flight when the run stalled")

			// Their intents were written under the lease: the next run
			// adopts each role they created and creates the rest.
			_, err = e.st.Lease(t.Context(), "default", "intruder", e.clock.Now(), time.Time{})
			require.NoError(t, err)
			rep := e.sync(s)
			require.Equal(t, sent, rep.Adopted)
			require.Equal(t, 2-sent, rep.Created)
			require.Len(t, e.roles(), 2)
		})
		t.Run(fmt.Sprintf("server errors/in-flight=%d", n), func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{opts: []access.Option{access.WithRequestsInFlight(n)}})
			s := baseSnapshot()
			bookings(&s, 20)
			e.srv.SetFaults(kisitest.Faults{ErrorRate: 1, Methods: []string{http.MethodPost}})
			rep, err := e.r.Sync(t.Context(), s)
			var se *access.SystemicError
			require.ErrorAs(t, err, &se)
			require.GreaterOrEqual(t, rep.Failed, 3)
			require.LessOrEqual(t, rep.Failed, 3+n-1, "three server errors in a row, and those in flight then")
			require.Equal(t, 20, rep.Failed+rep.NotAttempted)
		})
		t.Run(fmt.Sprintf("missing group/in-flight=%d", n), func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{opts: []access.Option{access.WithRequestsInFlight(n)}})
			s := baseSnapshot()
			bookings(&s, 10)
			_, err := e.client.Groups.Delete(t.Context(), e.room)
			require.NoError(t, err)
			e.srv.ResetRequests()
			rep, err := e.r.Sync(t.Context(), s)
			require.Error(t, err)
			require.GreaterOrEqual(t, rep.Failed, 1)
			require.LessOrEqual(t, rep.Failed, n, "the creates in flight when the first found the group gone")
			require.Equal(t, 10, rep.Failed+len(rep.Parked))
			require.LessOrEqual(t, e.srv.Count(http.MethodPost, "/role_assignments"), n)
		})
	}
}
