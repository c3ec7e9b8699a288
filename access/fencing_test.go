package access_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestRunStopsWhenLeaseTakenOver: a run that stalls past its lease while
// another worker takes the organization over can no longer write: its
// next Store write is fenced, it stops with an error matching
// ErrLeaseLost and makes no further Kisi call. The run that holds the
// lease then finds the stalled run's intent and finishes the work.
func TestRunStopsWhenLeaseTakenOver(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{
		bookingOf("bk1", "alice", "room1", "14:00", "15:00"),
		bookingOf("bk2", "bob", "room1", "14:00", "15:00"),
	}
	var mu sync.Mutex
	var creates int
	var intruder error
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/role_assignments") {
			creates++
			if creates == 1 {
				// The run stalls beyond its lease; another worker takes over.
				e.clock.Advance(11 * time.Minute)
				now := e.clock.Now()
				_, intruder = e.st.Lease(context.Background(), "default", "intruder", now, now.Add(10*time.Minute))
			}
		}
		return kisitest.Fault{}
	})
	s.Bookings[0].End, s.Bookings[1].End = cest("18:00"), cest("18:00") // in force after the stall
	rep, err := e.r.Sync(t.Context(), s)
	require.NoError(t, intruder, "the lease had expired: the other worker takes it")
	require.ErrorIs(t, err, state.ErrLeaseLost)
	require.Equal(t, 1, creates, "the fenced run made no further Kisi call")
	require.Equal(t, 1, rep.Failed)
	require.Equal(t, 1, rep.NotAttempted)

	// The stalled run's intent was written while it held the lease: the
	// next run adopts the role it created and creates the other one.
	_, err = e.st.Lease(t.Context(), "default", "intruder", e.clock.Now(), time.Time{})
	require.NoError(t, err)
	rep = e.sync(s)
	require.Equal(t, 1, rep.Adopted)
	require.Equal(t, 1, rep.Created)
	require.Len(t, e.roles(), 2)
}

// TestRunStopsWhenRenewalFindsNewTerm: a run whose planning stalls past
// its lease while another worker runs a whole term (takes the lease,
// writes, releases) gets the lease back only as a new term when it renews
// before writing; it notices and stops instead of applying a plan made
// from a stale view.
func TestRunStopsWhenRenewalFindsNewTerm(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "bob", "room1", "14:00", "18:00")}
	e.srv.SetFaults(kisitest.Faults{LostRate: 1, Methods: []string{http.MethodPost}})
	_, err := e.r.Sync(t.Context(), s) // the user and role creates are lost: pending
	require.Error(t, err)
	e.srv.SetFaults(kisitest.Faults{})

	var mu sync.Mutex
	var posts int
	stalled := false
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/role_assignments") && !stalled:
			// The plan's lookup of the pending intent stalls; another
			// worker runs a whole term meanwhile.
			stalled = true
			e.clock.Advance(11 * time.Minute)
			now := e.clock.Now()
			token, err := e.st.Lease(context.Background(), "default", "intruder", now, now.Add(10*time.Minute))
			require.NoError(t, err)
			require.NoError(t, e.st.Delete(context.Background(), "default", token, state.RoleKey("bob@example.com", e.room)))
			_, err = e.st.Lease(context.Background(), "default", "intruder", now, time.Time{})
			require.NoError(t, err)
		case r.Method == http.MethodPost:
			posts++
		}
		return kisitest.Fault{}
	})
	s.Bookings = append(s.Bookings, bookingOf("bk2", "alice", "room1", "14:00", "18:00"))
	_, err = e.r.Sync(t.Context(), s)
	require.ErrorIs(t, err, state.ErrLeaseLost)
	require.Zero(t, posts, "the run stopped before any Kisi write")
}
