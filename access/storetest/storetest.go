package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/schedule"
)

// Run runs the conformance suite against the Stores newStore returns, each
// subtest with a fresh, empty Store.
func Run(t *testing.T, newStore func(t *testing.T) access.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, st access.Store)
	}{
		{"LoadEmpty", testLoadEmpty},
		{"PutLoadRoundTrip", testRoundTrip},
		{"PutReplaces", testPutReplaces},
		{"LoadSortedByKey", testSorted},
		{"CopiesNotShared", testCopies},
		{"Delete", testDelete},
		{"EmptyKeyRefused", testEmptyKey},
		{"OrganizationsIsolated", testIsolated},
		{"LeaseExclusive", testLeaseExclusive},
		{"LeaseExpires", testLeaseExpires},
		{"LeaseRelease", testLeaseRelease},
		{"LeasePerOrganization", testLeasePerOrg},
		{"ConcurrentWriters", testConcurrent},
		{"ConcurrentLease", testConcurrentLease},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

var t0 = time.Date(2026, time.June, 10, 12, 0, 0, 0, time.UTC)

func sample(key string) access.Record {
	return access.Record{
		Key: key, Kind: access.KindRole, State: access.StateSettled, KisiID: 42,
		Email: "alice@example.com", MemberID: "m1", GroupID: 12, UserID: 7,
		Window:  schedule.Interval{Start: t0, End: t0.Add(time.Hour)},
		Sources: []access.Source{{Kind: "booking", ID: "bk1"}},
		Updated: t0,
	}
}

func load(t *testing.T, st access.Store, org string) []access.Record {
	t.Helper()
	recs, err := st.Load(t.Context(), org)
	if err != nil {
		t.Fatalf("Load(%q): %v", org, err)
	}
	return recs
}

func put(t *testing.T, st access.Store, org string, rec access.Record) {
	t.Helper()
	if err := st.Put(t.Context(), org, rec); err != nil {
		t.Fatalf("Put(%q, %q): %v", org, rec.Key, err)
	}
}

// sameRecords compares records field by field, with times compared as
// instants (a Store may return them in another location).
func sameRecords(t *testing.T, want, got []access.Record) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("got %d records, want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range want {
		w, g := normalize(want[i]), normalize(got[i])
		if !reflect.DeepEqual(w, g) {
			t.Fatalf("record %d differs:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func normalize(r access.Record) access.Record {
	utc := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return t.UTC()
	}
	r.Window = schedule.Interval{Start: utc(r.Window.Start), End: utc(r.Window.End)}
	r.Updated = utc(r.Updated)
	if len(r.Sources) == 0 {
		r.Sources = nil
	}
	return r
}

func testLoadEmpty(t *testing.T, st access.Store) {
	recs := load(t, st, "org")
	if len(recs) != 0 {
		t.Fatalf("Load of an empty store = %+v, want no records", recs)
	}
}

func testRoundTrip(t *testing.T, st access.Store) {
	recs := []access.Record{
		sample("role/12/alice@example.com"),
		{Key: "user/alice@example.com", Kind: access.KindUser, KisiID: 7, Email: "alice@example.com",
			Created: true, Managed: true, Invited: true, Confirmed: true},
		{Key: "link/12/bk9", Kind: access.KindLink, State: access.StatePending, Email: "guest@example.com",
			GroupID: 12, BookingID: "bk9", Name: "Guest", SendLink: true, QR: true, Secret: "s3cret",
			QRImage: "iVBORw0KGgo=", Notified: true,
			Window: schedule.Interval{Start: t0, End: schedule.Forever}},
	}
	for _, r := range recs {
		put(t, st, "org", r)
	}
	want := []access.Record{recs[2], recs[0], recs[1]} // sorted by key
	sameRecords(t, want, load(t, st, "org"))
}

func testPutReplaces(t *testing.T, st access.Store) {
	r := sample("role/12/alice@example.com")
	put(t, st, "org", r)
	r.State, r.KisiID = access.StatePending, 0
	r.Sources = nil
	put(t, st, "org", r)
	sameRecords(t, []access.Record{r}, load(t, st, "org"))
}

func testSorted(t *testing.T, st access.Store) {
	keys := []string{"user/b", "role/2/a", "link/1/x", "role/10/a", "user/a"}
	for _, k := range keys {
		put(t, st, "org", sample(k))
	}
	got := load(t, st, "org")
	want := []string{"link/1/x", "role/10/a", "role/2/a", "user/a", "user/b"}
	var gotKeys []string
	for _, r := range got {
		gotKeys = append(gotKeys, r.Key)
	}
	if !reflect.DeepEqual(want, gotKeys) {
		t.Fatalf("Load keys = %q, want %q (sorted by Key)", gotKeys, want)
	}
}

func testCopies(t *testing.T, st access.Store) {
	r := sample("role/12/alice@example.com")
	put(t, st, "org", r)
	r.Sources[0].ID = "changed after Put"
	got := load(t, st, "org")
	if got[0].Sources[0].ID != "bk1" {
		t.Fatalf("Put kept a reference to the caller's Sources: %+v", got[0].Sources)
	}
	got[0].Sources[0].ID = "changed after Load"
	again := load(t, st, "org")
	if again[0].Sources[0].ID != "bk1" {
		t.Fatalf("Load returned a reference to the stored Sources: %+v", again[0].Sources)
	}
}

func testDelete(t *testing.T, st access.Store) {
	ctx := t.Context()
	put(t, st, "org", sample("a"))
	put(t, st, "org", sample("b"))
	if err := st.Delete(ctx, "org", "a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := st.Delete(ctx, "org", "a"); err != nil {
		t.Fatalf("Delete of a missing key: %v, want nil", err)
	}
	if err := st.Delete(ctx, "no-such-org", "a"); err != nil {
		t.Fatalf("Delete in an unknown organization: %v, want nil", err)
	}
	sameRecords(t, []access.Record{sample("b")}, load(t, st, "org"))
}

func testEmptyKey(t *testing.T, st access.Store) {
	if err := st.Put(t.Context(), "org", access.Record{Kind: access.KindRole}); err == nil {
		t.Fatal("Put of a record with an empty key succeeded, want an error")
	}
}

func testIsolated(t *testing.T, st access.Store) {
	put(t, st, "a", sample("k"))
	b := sample("k")
	b.KisiID = 99
	put(t, st, "b", b)
	sameRecords(t, []access.Record{sample("k")}, load(t, st, "a"))
	sameRecords(t, []access.Record{b}, load(t, st, "b"))
	if err := st.Delete(t.Context(), "a", "k"); err != nil {
		t.Fatal(err)
	}
	sameRecords(t, []access.Record{b}, load(t, st, "b"))
}

func lease(ctx context.Context, st access.Store, org, holder string, now time.Time, ttl time.Duration) error {
	var exp time.Time
	if ttl > 0 {
		exp = now.Add(ttl)
	}
	return st.Lease(ctx, org, holder, now, exp)
}

func wantHeld(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, access.ErrLeaseHeld) {
		t.Fatalf("Lease = %v, want an error matching access.ErrLeaseHeld", err)
	}
}

func testLeaseExclusive(t *testing.T, st access.Store) {
	if err := lease(t.Context(), st, "org", "run-1", t0, time.Minute); err != nil {
		t.Fatalf("first Lease: %v", err)
	}
	wantHeld(t, lease(t.Context(), st, "org", "run-2", t0.Add(time.Second), time.Minute))
	// The holder renews.
	if err := lease(t.Context(), st, "org", "run-1", t0.Add(30*time.Second), time.Minute); err != nil {
		t.Fatalf("renewal: %v", err)
	}
	// The renewed lease still excludes others after the first expiry.
	wantHeld(t, lease(t.Context(), st, "org", "run-2", t0.Add(70*time.Second), time.Minute))
}

func testLeaseExpires(t *testing.T, st access.Store) {
	if err := lease(t.Context(), st, "org", "run-1", t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := lease(t.Context(), st, "org", "run-2", t0.Add(time.Minute), time.Minute); err != nil {
		t.Fatalf("Lease after expiry: %v, want nil", err)
	}
	wantHeld(t, lease(t.Context(), st, "org", "run-1", t0.Add(90*time.Second), time.Minute))
}

func testLeaseRelease(t *testing.T, st access.Store) {
	if err := lease(t.Context(), st, "org", "run-1", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Releasing someone else's lease does nothing.
	if err := lease(t.Context(), st, "org", "run-2", t0, 0); err != nil {
		t.Fatalf("release by a non-holder: %v, want nil", err)
	}
	wantHeld(t, lease(t.Context(), st, "org", "run-2", t0, time.Hour))
	if err := lease(t.Context(), st, "org", "run-1", t0, 0); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := lease(t.Context(), st, "org", "run-2", t0, time.Hour); err != nil {
		t.Fatalf("Lease after release: %v, want nil", err)
	}
}

func testLeasePerOrg(t *testing.T, st access.Store) {
	if err := lease(t.Context(), st, "a", "run-1", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := lease(t.Context(), st, "b", "run-2", t0, time.Hour); err != nil {
		t.Fatalf("lease of another organization: %v, want nil", err)
	}
}

func testConcurrent(t *testing.T, st access.Store) {
	const writers, each = 8, 25
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := sample(fmt.Sprintf("role/%d/w%d", i, w))
				if err := st.Put(ctx, "org", r); err != nil {
					errs <- err
					return
				}
				if _, err := st.Load(ctx, "org"); err != nil {
					errs <- err
					return
				}
				if i%5 == 0 {
					if err := st.Delete(ctx, "org", r.Key); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent use: %v", err)
	}
	if got, want := len(load(t, st, "org")), writers*(each-each/5); got != want {
		t.Fatalf("after concurrent writes Load has %d records, want %d", got, want)
	}
}

func testConcurrentLease(t *testing.T, st access.Store) {
	const runs = 8
	ctx := t.Context()
	var wg sync.WaitGroup
	won := make(chan string, runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := fmt.Sprintf("run-%d", i)
			if err := lease(ctx, st, "org", holder, t0, time.Hour); err == nil {
				won <- holder
			} else if !errors.Is(err, access.ErrLeaseHeld) {
				t.Errorf("Lease(%s): %v, want nil or ErrLeaseHeld", holder, err)
			}
		}()
	}
	wg.Wait()
	close(won)
	var winners []string
	for h := range won {
		winners = append(winners, h)
	}
	if len(winners) != 1 {
		t.Fatalf("%d runs got the lease at once (%q), want exactly 1", len(winners), winners)
	}
}
