package access_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/testtime"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// syncStart is 2026-06-10 13:40 in Berlin (CEST).
var (
	berlinTZ  = testtime.Berlin
	syncStart = time.Date(2026, time.June, 10, 13, 40, 0, 0, berlinTZ)
)

// cest returns the time hh:mm on 2026-06-10 in Berlin (CEST).
var cest = testtime.CEST

// env is a reconciler wired to a fake Kisi, on a fake clock.
type rig struct {
	t      *testing.T
	srv    *kisitest.Server
	client *kisi.Client
	clock  *clockwork.FakeClock
	st     access.Store
	m      mapping.Mapping
	r      *access.Reconciler
	room   int64 // group of resource room1 (and room2's first)
	pro    int64 // group of plan "pro"
	other  int64 // second group of room2
}

type rigConfig struct {
	opts   []access.Option
	policy *access.Policy
	// checkIns maps location "ber" to the Lounge group (e.other).
	checkIns bool
	store    func(access.Store) access.Store
	server   []kisitest.Option
	dropIn   mapping.DropIn
}

func newRig(t *testing.T, cfg rigConfig) *rig {
	t.Helper()
	clock := clockwork.NewFakeClockAt(syncStart)
	srv := kisitest.NewServer(append([]kisitest.Option{kisitest.WithoutRateLimit(), kisitest.WithClock(clock)}, cfg.server...)...)
	t.Cleanup(srv.Close)
	client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0),
		kisi.WithRetry(3, time.Millisecond, 2*time.Millisecond))
	require.NoError(t, err)
	e := &rig{t: t, srv: srv, client: client, clock: clock}
	place, err := srv.AddPlace("Berlin", "Europe/Berlin")
	require.NoError(t, err)
	e.room, err = srv.AddGroup("Room 1", place)
	require.NoError(t, err)
	e.pro, err = srv.AddGroup("Members", place)
	require.NoError(t, err)
	e.other, err = srv.AddGroup("Lounge", place)
	require.NoError(t, err)
	e.m = mapping.Mapping{
		Plans:     map[string][]int64{"pro": {e.pro}},
		Resources: map[string][]int64{"room1": {e.room}, "room2": {e.room, e.other}},
		DropIn:    cfg.dropIn,
	}
	if cfg.checkIns {
		e.m.Locations = map[string][]int64{"ber": {e.other}}
	}
	p := access.DefaultPolicy()
	if cfg.policy != nil {
		p = *cfg.policy
	}
	e.st = access.NewMemoryStore()
	if cfg.store != nil {
		e.st = cfg.store(e.st)
	}
	e.r, err = access.NewReconciler(client, e.st, e.m, p,
		append([]access.Option{access.WithClock(clock)}, cfg.opts...)...)
	require.NoError(t, err)
	return e
}

// base is a snapshot with one location, two rooms and members alice
// (regular) and bob (managed).
func baseSnapshot() access.Snapshot {
	return access.Snapshot{
		Locations: []access.Location{{ID: "ber", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room1", LocationID: "ber"}, {ID: "room2", LocationID: "ber"}},
		Members: []access.Member{
			{ID: "alice", Email: "Alice@Example.com", Name: "Alice"},
			{ID: "bob", Email: "bob@example.com", Name: "Bob", Managed: true},
		},
	}
}

func bookingOf(id, member, resource, from, to string) access.Booking {
	return access.Booking{ID: id, ResourceID: resource, MemberID: member, Start: cest(from), End: cest(to)}
}

func (e *rig) sync(s access.Snapshot) *access.Report {
	e.t.Helper()
	rep, err := e.r.Sync(e.t.Context(), s)
	require.NoError(e.t, err)
	return rep
}

// role is a role assignment in Kisi as the tests see it.
type kisiRole struct {
	Email  string
	Group  int64
	Window schedule.Interval
	Notify bool
}

func (r kisiRole) String() string {
	return fmt.Sprintf("%s→%d %s–%s notify=%v", r.Email, r.Group, r.Window.Start.UTC().Format(time.RFC3339),
		r.Window.End.UTC().Format(time.RFC3339), r.Notify)
}

// roles lists the group role assignments of all groups, sorted.
func (e *rig) roles() []kisiRole {
	e.t.Helper()
	ctx := e.t.Context()
	users := e.users()
	var out []kisiRole
	for _, g := range []int64{e.room, e.pro, e.other} {
		var ras []*kisi.RoleAssignment
		for off := 0; ; {
			page, resp, err := e.client.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{
				AppliesToType: "Group", AppliesToID: g, ListOptions: kisi.ListOptions{Limit: 250, Offset: off}})
			require.NoError(e.t, err)
			ras = append(ras, page...)
			if resp.NextOffset == 0 {
				break
			}
			off = resp.NextOffset
		}
		for _, ra := range ras {
			w := schedule.Interval{End: schedule.Forever}
			if ra.ValidFrom != nil {
				w.Start = *ra.ValidFrom
			}
			if ra.ValidUntil != nil {
				w.End = *ra.ValidUntil
			}
			out = append(out, kisiRole{Email: users[ra.AssigneeID].Email, Group: g, Window: w, Notify: ra.Notify})
		}
	}
	sortRoles(out)
	return out
}

func sortRoles(rs []kisiRole) {
	slices.SortFunc(rs, func(a, b kisiRole) int { return strings.Compare(a.String(), b.String()) })
}

func (e *rig) users() map[int64]*kisi.User {
	e.t.Helper()
	out := make(map[int64]*kisi.User)
	for off := 0; ; {
		page, resp, err := e.client.ListUsers(e.t.Context(), &kisi.UserListOptions{ListOptions: kisi.ListOptions{Limit: 100, Offset: off}})
		require.NoError(e.t, err)
		for _, u := range page {
			out[u.ID] = u
		}
		if resp.NextOffset == 0 {
			return out
		}
		off = resp.NextOffset
	}
}

// links lists the group links of all groups.
func (e *rig) links() []*kisi.GroupLink {
	e.t.Helper()
	var out []*kisi.GroupLink
	for _, g := range []int64{e.room, e.pro, e.other} {
		page, _, err := e.client.ListGroupLinks(e.t.Context(), &kisi.GroupLinkListOptions{GroupID: g, ListOptions: kisi.ListOptions{Limit: 250}})
		require.NoError(e.t, err)
		out = append(out, page...)
	}
	return out
}

// writes counts the non-GET requests logged since the last reset.
func (e *rig) writes() []string {
	var out []string
	for _, r := range e.srv.Requests() {
		if r.Method != "GET" {
			out = append(out, r.Method+" "+pathKind(r.Path))
		}
	}
	return out
}

// reads counts the GET requests logged since the last reset.
func (e *rig) reads() []string {
	var out []string
	for _, r := range e.srv.Requests() {
		if r.Method == "GET" {
			out = append(out, r.Method+" "+pathKind(r.Path))
		}
	}
	return out
}

// pathKind drops ids from a path: "/role_assignments/7" → "/role_assignments".
func pathKind(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return p
}

func span(from, to string) schedule.Interval {
	return schedule.Interval{Start: cest(from), End: cest(to)}
}

// heldLabel renders w, and a window reaching more than half the default
// validity ahead (a rolling window, whenever it was renewed) as "rolling".
func heldLabel(w schedule.Interval, now time.Time) string {
	if w.End.After(now.Add(access.DefaultValidity / 2)) {
		return "rolling from " + w.Start.UTC().Format(time.DateTime)
	}
	return textfmt.Window(w, time.UTC)
}

// heldFrom is an open-ended window from hhmm as Kisi holds it at now: a
// rolling window ending DefaultValidity later, on a whole minute.
func heldFrom(hhmm string, now time.Time) schedule.Interval {
	return schedule.Interval{Start: cest(hhmm), End: now.Add(access.DefaultValidity).Truncate(time.Minute)}
}

// failingStore makes chosen Store writes fail, to simulate a crash
// between a Kisi call and the Store write.
type failingStore struct {
	access.Store
	failPut func(state.Record) bool
}

func (f *failingStore) Put(ctx context.Context, org string, token int64, rec state.Record) error {
	if f.failPut != nil && f.failPut(rec) {
		return fmt.Errorf("simulated crash before storing %s", rec.Key)
	}
	return f.Store.Put(ctx, org, token, rec)
}

func requireTime(t *testing.T, want, got time.Time) {
	t.Helper()
	if !want.Equal(got) {
		t.Fatalf("time = %v, want %v", got, want)
	}
}

// addPlanMembers adds n managed members named prefix0… with an open plan
// "pro" from 09:00 each.
func addPlanMembers(s *access.Snapshot, prefix string, n int) {
	for i := range n {
		id := fmt.Sprintf("%s%d", prefix, i)
		s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
		s.Plans = append(s.Plans, access.Plan{ID: "p" + id, PlanID: "pro", MemberID: id, Start: cest("09:00"), Status: access.PlanActive})
	}
}
