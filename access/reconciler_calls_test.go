package access_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/access/storetest"
	"github.com/kisisync/kisisync/mapping"
)

// TestVerifyListCalls: a Verify of 2,000 members in 10 groups makes
// ⌈n/250⌉ role list calls per group of n members, and one link list call
// per group. Under the race detector it uses 600 members, still with
// groups of several pages.
func TestVerifyListCalls(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("creates 2,000 grants")
	}
	e := newRig(t, rigConfig{})
	ctx := t.Context()
	sizes := []int{600, 600, 400, 200, 100, 50, 25, 15, 5, 5}
	if raceEnabled {
		sizes = []int{260, 251, 49, 20, 10, 5, 2, 1, 1, 1}
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	groups := make([]int64, len(sizes))
	m := mapping.Mapping{Plans: map[string][]int64{}}
	var s access.Snapshot
	n := 0
	for i, size := range sizes {
		g, err := e.srv.AddGroup(fmt.Sprintf("Floor %d", i), 0)
		require.NoError(t, err)
		groups[i] = g
		plan := fmt.Sprintf("plan%d", i)
		m.Plans[plan] = []int64{g}
		for range size {
			id := fmt.Sprintf("m%04d", n)
			n++
			s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
			s.Plans = append(s.Plans, access.Plan{ID: "p" + id, PlanID: plan, MemberID: id, Start: cest("09:00"), Status: access.PlanActive})
		}
	}
	require.Equal(t, total, n)
	// The users exist already and are known to the Store, so the first run
	// only creates the roles.
	st := access.NewMemoryStore()
	var users []state.Record
	for _, mem := range s.Members {
		uid, err := e.srv.AddUser(mem.Email, "", true)
		require.NoError(t, err)
		users = append(users, state.Record{Key: state.UserKey(mem.Email), Kind: state.KindUser,
			KisiID: uid, Email: mem.Email, Managed: true, Invited: true})
	}
	storetest.Seed(t, st, "default", users...)
	r, err := access.NewReconciler(e.client, st, m, access.DefaultPolicy(), access.WithClock(e.clock))
	require.NoError(t, err)
	rep, err := r.Sync(ctx, s)
	require.NoError(t, err)
	require.Equal(t, total, rep.Created)

	e.srv.ResetRequests()
	rep, err = r.Sync(ctx, s)
	require.NoError(t, err)
	require.Zero(t, rep.Created)
	require.Empty(t, e.srv.Requests(), "steady state: zero requests for %d members", total)

	e.srv.ResetRequests()
	d, err := r.Verify(ctx)
	require.NoError(t, err)
	require.Empty(t, d.Missing)
	require.Empty(t, d.Unmanaged)
	roleCalls, linkCalls := map[string]int{}, map[string]int{}
	for _, req := range e.srv.Requests() {
		q, err := url.ParseQuery(req.Query)
		require.NoError(t, err)
		switch req.Path {
		case "/role_assignments":
			roleCalls[q.Get("applies_to_id")]++
		case "/group_links":
			linkCalls[q.Get("group_id")]++
		default:
			t.Errorf("unexpected request %s %s", req.Method, req.Path)
		}
	}
	for i, g := range groups {
		key := fmt.Sprint(g)
		require.Equal(t, (sizes[i]+249)/250, roleCalls[key], "role list calls for %d members", sizes[i])
		// No drop-in is mapped and the Store records no link: no link can
		// be there, and none is listed (issue 32).
		require.Zero(t, linkCalls[key])
	}
}

// TestOneChangeCalls: one booking change makes exactly the writes needed.
func TestOneChangeCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		change     func(*access.Snapshot)
		wantWrites []string
		wantReads  []string
	}{
		{"new booking of a known member in a new group",
			func(s *access.Snapshot) {
				s.Bookings = append(s.Bookings, bookingOf("bk2", "alice", "room2", "14:00", "15:00"))
			},
			// room2 maps to room (already held, same window) and lounge.
			[]string{"POST /role_assignments"}, nil},
		{"booking moved",
			func(s *access.Snapshot) { s.Bookings[0].End = cest("15:30") },
			[]string{"DELETE /role_assignments", "POST /role_assignments"}, nil},
		{"booking cancelled",
			func(s *access.Snapshot) { s.Bookings = nil },
			[]string{"DELETE /role_assignments"}, nil},
		{"booking of a new member",
			func(s *access.Snapshot) {
				s.Members = append(s.Members, access.Member{ID: "carol", Email: "carol@example.com"})
				s.Bookings = append(s.Bookings, bookingOf("bk3", "carol", "room1", "14:00", "15:00"))
			},
			[]string{"POST /users", "POST /role_assignments"}, nil},
		{"booking outside the lead time",
			func(s *access.Snapshot) {
				s.Bookings = append(s.Bookings, bookingOf("bk4", "alice", "room2", "18:00", "19:00"))
			},
			nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			s := baseSnapshot()
			s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
			e.sync(s)
			tc.change(&s)
			e.srv.ResetRequests()
			e.sync(s)
			require.Equal(t, tc.wantWrites, e.writes())
			require.Equal(t, tc.wantReads, e.reads())
		})
	}
}
