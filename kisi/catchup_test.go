package kisi_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestCatchUp: events are handled oldest first, a failure stops at the
// failed event, the stored cursor resumes without repeating any event (two
// share an instant) and picks up only what is new.
func TestCatchUp(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(t0.Add(time.Hour))
	srv, c := fake(t, []kisitest.Option{kisitest.WithoutRateLimit(), kisitest.WithClock(clock)})
	place, err := srv.AddPlace("HQ", "")
	require.NoError(t, err)
	lock, err := srv.AddLock(place, "Door")
	require.NoError(t, err)
	user, err := srv.AddUser("ann@example.com", "Ann", true)
	require.NoError(t, err)
	record := func(at time.Time) string {
		id, err := srv.RecordUnlock(kisitest.Unlock{UserID: user, LockID: lock, At: at, ErrorCode: "afc496"})
		require.NoError(t, err)
		return id
	}
	a := record(t0.Add(1 * time.Minute))
	b1 := record(t0.Add(2 * time.Minute))
	b2 := record(t0.Add(2 * time.Minute))
	d := record(t0.Add(3 * time.Minute))
	sameInstant := []string{b1, b2}
	if b2 < b1 {
		sameInstant = []string{b2, b1}
	}

	ctx := t.Context()
	filter := &kisi.EventSetCreateRequest{EventType: kisi.Ptr(kisi.EventLockUnlock)}
	var handled []string
	failOn := sameInstant[1]
	fn := func(_ context.Context, ev *kisi.Event) error {
		if ev.UUID == failOn {
			return errors.New("store down")
		}
		handled = append(handled, ev.UUID)
		return nil
	}
	until := t0.Add(time.Hour)
	cur, err := c.EventSets.CatchUp(ctx, filter, kisi.EventCursor{}, until, fn)
	require.Error(t, err)
	want := kisi.EventCursor{After: t0.Add(2 * time.Minute), UUIDs: sameInstant[:1]}
	if diff := cmp.Diff(want, cur); diff != "" {
		t.Fatalf("cursor after the failure (-want +got):\n%s", diff)
	}

	// The host stores the cursor and resumes later.
	raw, err := json.Marshal(cur)
	require.NoError(t, err)
	var stored kisi.EventCursor
	require.NoError(t, json.Unmarshal(raw, &stored))
	failOn = ""
	cur, err = c.EventSets.CatchUp(ctx, filter, stored, until, fn)
	require.NoError(t, err)
	if diff := cmp.Diff([]string{a, sameInstant[0], sameInstant[1], d}, handled); diff != "" {
		t.Errorf("handled events (-want +got):\n%s", diff)
	}
	require.Equal(t, kisi.EventCursor{After: t0.Add(3 * time.Minute), UUIDs: []string{d}}, cur)

	// Nothing new: nothing handled, the cursor stays.
	handled = nil
	again, err := c.EventSets.CatchUp(ctx, filter, cur, until, fn)
	require.NoError(t, err)
	require.Empty(t, handled)
	require.Equal(t, cur, again)

	// A new event after the cursor is the only one handled.
	e := record(t0.Add(30 * time.Minute))
	_, err = c.EventSets.CatchUp(ctx, filter, cur, until, fn)
	require.NoError(t, err)
	require.Equal(t, []string{e}, handled)
}

func TestCatchUpNilCallback(t *testing.T) {
	t.Parallel()
	_, c := fake(t, noLimit())
	_, err := c.EventSets.CatchUp(t.Context(), nil, kisi.EventCursor{}, time.Now(), nil)
	require.Error(t, err)
}

// TestCatchUpWindowNotWholeSecond (issue 31): with a real clock "until" is
// rarely a whole second; a first catch-up (zero cursor) or one after a gap
// of more than 90 days must still ask for at most 90 days, which Kisi
// measures exactly.
func TestCatchUpWindowNotWholeSecond(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC).Add(678 * time.Millisecond)
	tests := []struct {
		name string
		cur  kisi.EventCursor
	}{
		{name: "zero cursor", cur: kisi.EventCursor{}},
		{name: "gap over 90 days", cur: kisi.EventCursor{After: until.Add(-100 * 24 * time.Hour).Add(123 * time.Millisecond)}},
		{name: "exactly 90 days", cur: kisi.EventCursor{After: until.Add(-kisi.MaxEventSetWindow)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(until.Add(time.Minute))
			srv, c := fake(t, []kisitest.Option{kisitest.WithoutRateLimit(), kisitest.WithClock(clock)})
			place, err := srv.AddPlace("HQ", "")
			require.NoError(t, err)
			lock, err := srv.AddLock(place, "Door")
			require.NoError(t, err)
			user, err := srv.AddUser("ann@example.com", "Ann", true)
			require.NoError(t, err)
			recent, err := srv.RecordUnlock(kisitest.Unlock{UserID: user, LockID: lock, At: until.Add(-time.Hour)})
			require.NoError(t, err)
			var handled []string
			cur, err := c.EventSets.CatchUp(t.Context(), nil, tc.cur, until, func(_ context.Context, ev *kisi.Event) error {
				handled = append(handled, ev.UUID)
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, []string{recent}, handled)
			require.Equal(t, until.Add(-time.Hour), cur.After)
		})
	}
}
