package access_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/access/storetest"
	"github.com/kisisync/kisisync/mapping"
)

// listed counts the list requests of a Verify by path and group ("/group_links 7").
func (e *rig) listed() map[string]int {
	out := map[string]int{}
	for _, r := range e.srv.Requests() {
		q, err := url.ParseQuery(r.Query)
		require.NoError(e.t, err)
		switch r.Path {
		case "/role_assignments":
			out[r.Path+" "+q.Get("applies_to_id")]++
		case "/group_links":
			out[r.Path+" "+q.Get("group_id")]++
		default:
			out[r.Method+" "+pathKind(r.Path)]++
		}
	}
	return out
}

// TestVerifyListsLinksOnlyWhereTheyCanBe (issue 32): Verify lists the links
// of a group only where a link of this SDK can be: a group drop-in bookings
// get links to, or one the Store records a link in. A space without
// drop-ins costs a role list per group and no link list; a link deleted by
// hand is still found missing.
func TestVerifyListsLinksOnlyWhereTheyCanBe(t *testing.T) {
	t.Parallel()
	roles := func(e *rig) map[string]int {
		return map[string]int{fmt.Sprint("/role_assignments ", e.room): 1, fmt.Sprint("/role_assignments ", e.pro): 1,
			fmt.Sprint("/role_assignments ", e.other): 1}
	}
	// Alice's booking makes her a regular Kisi user, unconfirmed: one user list.
	withUsers := func(want map[string]int) map[string]int { want["GET /users"] = 1; return want }
	t.Run("no drop-ins", func(t *testing.T) {
		t.Parallel()
		e := newRig(t, rigConfig{})
		e.sync(baseWithBooking())
		e.srv.ResetRequests()
		_, err := e.r.Verify(t.Context())
		require.NoError(t, err)
		if diff := cmp.Diff(withUsers(roles(e)), e.listed()); diff != "" {
			t.Fatalf("requests (-want +got):\n%s", diff)
		}
	})
	t.Run("drop-ins mapped", func(t *testing.T) {
		t.Parallel()
		e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}})
		e.sync(baseWithBooking())
		e.srv.ResetRequests()
		_, err := e.r.Verify(t.Context())
		require.NoError(t, err)
		want := withUsers(roles(e))
		want[fmt.Sprint("/group_links ", e.room)] = 1 // room1's and room2's groups, not the plan's
		want[fmt.Sprint("/group_links ", e.other)] = 1
		if diff := cmp.Diff(want, e.listed()); diff != "" {
			t.Fatalf("requests (-want +got):\n%s", diff)
		}
	})
	t.Run("links recorded, drop-ins no longer mapped", func(t *testing.T) {
		t.Parallel()
		e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}})
		s := baseSnapshot()
		s.Bookings = []access.Booking{{ID: "bk9", ResourceID: "room1", Guest: &access.Guest{Name: "Gus", Email: "gus@example.com"},
			Start: cest("14:00"), End: cest("15:00")}}
		rep := e.sync(s)
		require.Equal(t, 1, rep.Created)
		links := e.links()
		require.Len(t, links, 1)
		_, err := e.client.DeleteGroupLink(t.Context(), links[0].ID) // by hand
		require.NoError(t, err)

		m := e.m.Clone()
		m.DropIn = mapping.DropIn{}
		r, err := access.NewReconciler(e.client, e.st, m, access.DefaultPolicy(), access.WithClock(e.clock))
		require.NoError(t, err)
		e.srv.ResetRequests()
		d, err := r.Verify(t.Context())
		require.NoError(t, err)
		want := roles(e)
		want[fmt.Sprint("/group_links ", e.room)] = 1 // the group the Store records a link in
		if diff := cmp.Diff(want, e.listed()); diff != "" {
			t.Fatalf("requests (-want +got):\n%s", diff)
		}
		require.Len(t, d.Missing, 1, "the link deleted by hand is found")
		require.Equal(t, access.ObjectLink, d.Missing[0].Object)
	})
}

// TestVerifyLooksUpFewUnconfirmedUsers (issue 32): with one regular user
// unconfirmed among 250 users, Verify looks that user up by email (one
// request) instead of listing every user (three pages); with as many
// unconfirmed users as pages, it lists them.
func TestVerifyLooksUpFewUnconfirmedUsers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		unconfirmed int
		want        map[string]int // the user requests
	}{
		{unconfirmed: 1, want: map[string]int{"email": 1}},
		{unconfirmed: 2, want: map[string]int{"email": 2}},
		{unconfirmed: 3, want: map[string]int{"list": 3}},
	} {
		t.Run(fmt.Sprint(tc.unconfirmed), func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			var recs []state.Record
			var want []string
			for i := range 250 {
				email := fmt.Sprintf("m%03d@example.com", i)
				regular := i < tc.unconfirmed
				id, err := e.srv.AddUser(email, "", !regular)
				require.NoError(t, err)
				recs = append(recs, state.Record{Key: state.UserKey(email), Kind: state.KindUser, State: state.StateSettled,
					KisiID: id, Email: email, Created: true, Managed: !regular, Invited: true})
				if regular {
					want = append(want, email)
				}
			}
			st := access.NewMemoryStore()
			storetest.Seed(t, st, "default", recs...)
			r, err := access.NewReconciler(e.client, st, e.m, access.DefaultPolicy(), access.WithClock(e.clock))
			require.NoError(t, err)
			e.srv.ResetRequests()
			d, err := r.Verify(t.Context())
			require.NoError(t, err)
			require.Equal(t, want, d.Unconfirmed)
			got := map[string]int{}
			for _, req := range e.srv.Requests() {
				if req.Path != "/users" {
					continue
				}
				q, err := url.ParseQuery(req.Query)
				require.NoError(t, err)
				if q.Get("email") != "" {
					got["email"]++
				} else {
					got["list"]++
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
}
