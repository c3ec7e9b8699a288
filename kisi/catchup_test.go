package kisi_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// catchUpFixture is a fake with one door and one user on a fake clock.
type catchUpFixture struct {
	srv        *kisitest.Server
	c          *kisi.Client
	lock, user int64
}

func newCatchUpFixture(t *testing.T, now time.Time) *catchUpFixture {
	t.Helper()
	clock := clockwork.NewFakeClockAt(now)
	srv, c := fake(t, []kisitest.Option{kisitest.WithoutRateLimit(), kisitest.WithClock(clock)})
	place, err := srv.AddPlace("HQ", "")
	require.NoError(t, err)
	lock, err := srv.AddLock(place, "Door")
	require.NoError(t, err)
	user, err := srv.AddUser("ann@example.com", "Ann", true)
	require.NoError(t, err)
	return &catchUpFixture{srv: srv, c: c, lock: lock, user: user}
}

func (f *catchUpFixture) record(t *testing.T, at time.Time) string {
	t.Helper()
	id, err := f.srv.RecordUnlock(kisitest.Unlock{UserID: f.user, LockID: f.lock, At: at, ErrorCode: "afc496"})
	require.NoError(t, err)
	return id
}

// TestCatchUpStreamsPages (issue 31): the callback gets one page at a time
// (Kisi's default of 50 events), never the whole window, and every event
// once.
func TestCatchUpStreamsPages(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	f := newCatchUpFixture(t, t0.Add(24*time.Hour))
	want := map[string]bool{}
	for i := range 120 {
		want[f.record(t, t0.Add(time.Duration(i)*time.Minute))] = true
	}
	var sizes []int
	got := map[string]bool{}
	var prev time.Time
	cur, err := f.c.EventSets.CatchUp(t.Context(), nil, kisi.EventCursor{}, t0.Add(24*time.Hour), func(_ context.Context, page []*kisi.Event) error {
		sizes = append(sizes, len(page))
		for _, ev := range page {
			require.False(t, got[ev.UUID], "event passed twice")
			got[ev.UUID] = true
			if !prev.IsZero() {
				require.False(t, ev.CreatedAt.After(prev), "pages come newest first")
			}
			prev = ev.CreatedAt
		}
		return nil
	})
	require.NoError(t, err)
	if diff := cmp.Diff([]int{50, 50, 20}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events handled (-want +got):\n%s", diff)
	}
	require.Equal(t, t0.Add(119*time.Minute), cur.After)
	require.Nil(t, cur.Gap)
}

// TestCatchUpResumes: whichever pages fail, in whichever run, the cursor
// the host stores (through JSON) resumes so that every event is handled
// exactly once, also when events sharing an instant straddle a page
// boundary and when new events arrive between runs.
func TestCatchUpResumes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fails [][]int // per run, the callback calls (from 1) that fail
	}{
		{name: "no failure", fails: [][]int{nil}},
		{name: "first page fails once", fails: [][]int{{1}, nil}},
		{name: "second page fails", fails: [][]int{{2}, nil}},
		{name: "last page fails", fails: [][]int{{3}, nil}},
		{name: "gap fails again", fails: [][]int{{2}, {2}, nil}},
		{name: "gap fails at once", fails: [][]int{{3}, {1}, {1}, nil}},
		{name: "every run fails late", fails: [][]int{{2}, {2}, {2}, {2}, nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
			until := t0.Add(24 * time.Hour)
			f := newCatchUpFixture(t, until)
			want := map[string]int{}
			// Three events per instant: the 50-event page boundaries split
			// instants.
			for i := range 130 {
				want[f.record(t, t0.Add(time.Duration(i/3)*time.Minute))] = 1
			}
			got := map[string]int{}
			raw := []byte(`{"after":"0001-01-01T00:00:00Z"}`)
			for run, fails := range tc.fails {
				var cur kisi.EventCursor
				require.NoError(t, json.Unmarshal(raw, &cur))
				calls, failed := 0, false
				next, err := f.c.EventSets.CatchUp(t.Context(), nil, cur, until, func(_ context.Context, page []*kisi.Event) error {
					calls++
					if slices.Contains(fails, calls) {
						failed = true
						return errors.New("store down")
					}
					for _, ev := range page {
						got[ev.UUID]++
					}
					return nil
				})
				if failed {
					require.Error(t, err, "run %d", run)
				} else {
					require.NoError(t, err, "run %d", run)
				}
				raw, err = json.Marshal(next)
				require.NoError(t, err)
				// A new event arrives between runs.
				want[f.record(t, t0.Add(time.Duration(60+run)*time.Minute))] = 1
			}
			// One more run picks up the last new events.
			var cur kisi.EventCursor
			require.NoError(t, json.Unmarshal(raw, &cur))
			cur, err := f.c.EventSets.CatchUp(t.Context(), nil, cur, until, func(_ context.Context, page []*kisi.Event) error {
				for _, ev := range page {
					got[ev.UUID]++
				}
				return nil
			})
			require.NoError(t, err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("times each event was handled (-want +got):\n%s", diff)
			}
			require.Nil(t, cur.Gap)
			// Nothing new: nothing handled, the cursor stays.
			again, err := f.c.EventSets.CatchUp(t.Context(), nil, cur, until, func(context.Context, []*kisi.Event) error {
				t.Error("nothing new, yet called")
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, cur, again)
		})
	}
}

// TestCatchUpFilter: the filter reaches the event set.
func TestCatchUpFilter(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	f := newCatchUpFixture(t, t0.Add(time.Hour))
	a := f.record(t, t0.Add(time.Minute))
	_, _, err := f.c.Groups.Create(t.Context(), &kisi.GroupCreateRequest{Name: "not an unlock"})
	require.NoError(t, err)
	var handled []string
	filter := &kisi.EventSetCreateRequest{EventType: kisi.Ptr(kisi.EventLockUnlock)}
	_, err = f.c.EventSets.CatchUp(t.Context(), filter, kisi.EventCursor{}, t0.Add(time.Hour), func(_ context.Context, page []*kisi.Event) error {
		for _, ev := range page {
			handled = append(handled, ev.UUID)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{a}, handled)
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
			cur, err := c.EventSets.CatchUp(t.Context(), nil, tc.cur, until, func(_ context.Context, page []*kisi.Event) error {
				for _, ev := range page {
					handled = append(handled, ev.UUID)
				}
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, []string{recent}, handled)
			require.Equal(t, until.Add(-time.Hour), cur.After)
		})
	}
}

// TestCatchUpSetFinishedAtOnce: an event set answered finished at creation
// (with its first page) is read the same way as one to poll.
func TestCatchUpSetFinishedAtOnce(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(t0.Add(24 * time.Hour))
	srv, c := fake(t, []kisitest.Option{kisitest.WithoutRateLimit(), kisitest.WithClock(clock), kisitest.WithEventSetsFinishedAtOnce(true)})
	f := &catchUpFixture{srv: srv, c: c}
	place, err := srv.AddPlace("HQ", "")
	require.NoError(t, err)
	f.lock, err = srv.AddLock(place, "Door")
	require.NoError(t, err)
	f.user, err = srv.AddUser("ann@example.com", "Ann", true)
	require.NoError(t, err)
	want := map[string]bool{}
	for i := range 70 {
		want[f.record(t, t0.Add(time.Duration(i)*time.Minute))] = true
	}
	got := map[string]bool{}
	_, err = c.EventSets.CatchUp(t.Context(), nil, kisi.EventCursor{}, t0.Add(24*time.Hour), func(_ context.Context, page []*kisi.Event) error {
		for _, ev := range page {
			got[ev.UUID] = true
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, want, got)
}
