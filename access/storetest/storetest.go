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
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/schedule"
)

// Run runs the conformance suite. newBacking is called once per subtest
// and creates an empty backing store; each call of the open function it
// returns gives a new handle on that backing store (see the package doc).
func Run(t *testing.T, newBacking func(t *testing.T) (open func() access.Store)) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() access.Store)
	}{
		{"LoadEmpty", one(testLoadEmpty)},
		{"PutLoadRoundTrip", one(testRoundTrip)},
		{"PutReplaces", one(testPutReplaces)},
		{"LoadSortedByKey", one(testSorted)},
		{"CopiesNotShared", one(testCopies)},
		{"Delete", one(testDelete)},
		{"EmptyKeyRefused", one(testEmptyKey)},
		{"OrganizationsIsolated", one(testIsolated)},
		{"LeaseRelease", one(testLeaseRelease)},
		{"LeasePerOrganization", one(testLeasePerOrg)},
		{"ConcurrentWriters", one(testConcurrent)},
		{"LeaseExclusive", testLeaseExclusive},
		{"LeaseExpires", testLeaseExpires},
		{"RenewalKeepsToken", testRenewalKeepsToken},
		{"FencedAfterTakeover", testFencedAfterTakeover},
		{"FencedAfterRelease", testFencedAfterRelease},
		{"TakeoverWhileWriting", testTakeoverWhileWriting},
		{"ConcurrentLease", testConcurrentLease},
		{"ConcurrentOrganizations", testConcurrentOrgs},
		{"SurvivesReopen", testReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newBacking(t))
		})
	}
}

// one adapts a check of a single handle.
func one(fn func(t *testing.T, st access.Store)) func(t *testing.T, open func() access.Store) {
	return func(t *testing.T, open func() access.Store) { fn(t, open()) }
}

var t0 = time.Date(2026, time.June, 10, 12, 0, 0, 0, time.UTC)

const (
	// long is a lease time no subtest outlasts.
	long = time.Hour
	// short is a lease time the subtests wait out.
	short = 100 * time.Millisecond
)

func sample(key string) state.Record {
	return state.Record{
		Key: key, Kind: state.KindRole, State: state.StateSettled, KisiID: 42,
		Email: "alice@example.com", MemberID: "m1", GroupID: 12, UserID: 7,
		Window:  schedule.Interval{Start: t0, End: t0.Add(time.Hour)},
		Sources: []access.Source{{Kind: "booking", ID: "bk1"}},
		Updated: t0,
	}
}

func load(t *testing.T, st access.Store, org string) []state.Record {
	t.Helper()
	recs, err := st.Load(t.Context(), org)
	if err != nil {
		t.Fatalf("Load(%q): %v", org, err)
	}
	return recs
}

// take takes org's lease for holder for ttl from now (real clock) and
// returns its token.
func take(t *testing.T, st access.Store, org, holder string, ttl time.Duration) int64 {
	t.Helper()
	token, err := lease(t.Context(), st, org, holder, ttl)
	if err != nil {
		t.Fatalf("Lease(%q, %q): %v", org, holder, err)
	}
	if token <= 0 {
		t.Fatalf("Lease(%q, %q) = token %d, want a positive token", org, holder, token)
	}
	return token
}

// writer takes a long lease on org for a writer and returns its token.
func writer(t *testing.T, st access.Store, org string) int64 {
	t.Helper()
	return take(t, st, org, "writer", long)
}

func put(t *testing.T, st access.Store, org string, token int64, rec state.Record) {
	t.Helper()
	if err := st.Put(t.Context(), org, token, rec); err != nil {
		t.Fatalf("Put(%q, %q): %v", org, rec.Key, err)
	}
}

func del(t *testing.T, st access.Store, org string, token int64, key string) {
	t.Helper()
	if err := st.Delete(t.Context(), org, token, key); err != nil {
		t.Fatalf("Delete(%q, %q): %v", org, key, err)
	}
}

// sameRecords compares records field by field, with times compared as
// instants (a Store may return them in another location).
func sameRecords(t *testing.T, want, got []state.Record) {
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

func normalize(r state.Record) state.Record {
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
	recs := []state.Record{
		sample("role/12/alice@example.com"),
		{Key: "user/alice@example.com", Kind: state.KindUser, KisiID: 7, Email: "alice@example.com",
			Created: true, Managed: true, Invited: true, Confirmed: true},
		{Key: "link/12/bk9", Kind: state.KindLink, State: state.StatePending, Email: "guest@example.com",
			GroupID: 12, BookingID: "bk9", Name: "Guest", SendLink: true, QR: true, Secret: "s3cret",
			QRImage: "iVBORw0KGgo=", Notified: true,
			Window: schedule.Interval{Start: t0, End: schedule.Forever}},
	}
	token := writer(t, st, "org")
	for _, r := range recs {
		put(t, st, "org", token, r)
	}
	want := []state.Record{recs[2], recs[0], recs[1]} // sorted by key
	sameRecords(t, want, load(t, st, "org"))
}

func testPutReplaces(t *testing.T, st access.Store) {
	token := writer(t, st, "org")
	r := sample("role/12/alice@example.com")
	put(t, st, "org", token, r)
	r.State, r.KisiID = state.StatePending, 0
	r.Sources = nil
	put(t, st, "org", token, r)
	sameRecords(t, []state.Record{r}, load(t, st, "org"))
}

func testSorted(t *testing.T, st access.Store) {
	token := writer(t, st, "org")
	keys := []string{"user/b", "role/2/a", "link/1/x", "role/10/a", "user/a"}
	for _, k := range keys {
		put(t, st, "org", token, sample(k))
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
	token := writer(t, st, "org")
	r := sample("role/12/alice@example.com")
	put(t, st, "org", token, r)
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
	token := writer(t, st, "org")
	put(t, st, "org", token, sample("a"))
	put(t, st, "org", token, sample("b"))
	del(t, st, "org", token, "a")
	del(t, st, "org", token, "a") // a missing key
	sameRecords(t, []state.Record{sample("b")}, load(t, st, "org"))
}

func testEmptyKey(t *testing.T, st access.Store) {
	token := writer(t, st, "org")
	if err := st.Put(t.Context(), "org", token, state.Record{Kind: state.KindRole}); err == nil {
		t.Fatal("Put of a record with an empty key succeeded, want an error")
	}
}

func testIsolated(t *testing.T, st access.Store) {
	ta, tb := writer(t, st, "a"), writer(t, st, "b")
	put(t, st, "a", ta, sample("k"))
	b := sample("k")
	b.KisiID = 99
	put(t, st, "b", tb, b)
	sameRecords(t, []state.Record{sample("k")}, load(t, st, "a"))
	sameRecords(t, []state.Record{b}, load(t, st, "b"))
	del(t, st, "a", ta, "k")
	sameRecords(t, []state.Record{b}, load(t, st, "b"))
	// A token of one organization does not write another.
	if ta != tb {
		wantLost(t, st.Put(t.Context(), "b", ta, sample("x")))
	}
	wantLost(t, st.Put(t.Context(), "no-lease", ta, sample("x")))
	wantLost(t, st.Delete(t.Context(), "no-lease", ta, "x"))
}

func lease(ctx context.Context, st access.Store, org, holder string, ttl time.Duration) (int64, error) {
	now := time.Now()
	var exp time.Time
	if ttl > 0 {
		exp = now.Add(ttl)
	}
	return st.Lease(ctx, org, holder, now, exp)
}

func release(t *testing.T, st access.Store, org, holder string) {
	t.Helper()
	if token, err := lease(t.Context(), st, org, holder, 0); err != nil || token != 0 {
		t.Fatalf("release of %q by %q = %d, %v; want 0, nil", org, holder, token, err)
	}
}

// wantHeld returns a check that a Lease failed with ErrLeaseHeld; call it
// as wantHeld(t)(st.Lease(…)).
func wantHeld(t *testing.T) func(int64, error) {
	return func(token int64, err error) {
		t.Helper()
		if !errors.Is(err, state.ErrLeaseHeld) {
			t.Fatalf("Lease = %d, %v; want an error matching state.ErrLeaseHeld", token, err)
		}
	}
}

func wantLost(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, state.ErrLeaseLost) {
		t.Fatalf("write = %v, want an error matching state.ErrLeaseLost", err)
	}
}

// expire waits until a lease of the short time, taken before the call,
// has expired by any clock that runs at the real rate.
func expire() { time.Sleep(short + short/2) }

func testLeaseExclusive(t *testing.T, open func() access.Store) {
	a, b := open(), open()
	take(t, a, "org", "run-1", long)
	wantHeld(t)(lease(t.Context(), b, "org", "run-2", long))
	wantHeld(t)(lease(t.Context(), a, "org", "run-2", long))
	// The holder renews through either handle.
	take(t, b, "org", "run-1", long)
	wantHeld(t)(lease(t.Context(), a, "org", "run-2", long))
	// A held lease reports who may come back when.
	_, err := lease(t.Context(), b, "org", "run-2", long)
	var lhe *state.LeaseHeldError
	if errors.As(err, &lhe) && lhe.Organization != "org" {
		t.Fatalf("LeaseHeldError.Organization = %q, want %q", lhe.Organization, "org")
	}
}

func testLeaseExpires(t *testing.T, open func() access.Store) {
	a, b := open(), open()
	take(t, a, "org", "run-1", short)
	expire()
	take(t, b, "org", "run-2", long)
	wantHeld(t)(lease(t.Context(), a, "org", "run-1", long))
}

func testRenewalKeepsToken(t *testing.T, open func() access.Store) {
	a, b := open(), open()
	first := take(t, a, "org", "run-1", short)
	if again := take(t, b, "org", "run-1", short); again != first {
		t.Fatalf("renewal returned token %d, want the term's token %d", again, first)
	}
	// Expired but not taken over: still the holder's term.
	expire()
	if again := take(t, a, "org", "run-1", long); again != first {
		t.Fatalf("renewal after expiry returned token %d, want %d (nobody took the lease)", again, first)
	}
	put(t, b, "org", first, sample("k"))
}

func testFencedAfterTakeover(t *testing.T, open func() access.Store) {
	a, b := open(), open()
	stale := take(t, a, "org", "run-1", short)
	put(t, a, "org", stale, sample("kept"))
	put(t, a, "org", stale, sample("doomed"))
	expire()
	current := take(t, b, "org", "run-2", long)
	if current <= stale {
		t.Fatalf("takeover token %d, want greater than the stale %d", current, stale)
	}
	// The stalled run wakes up: every write of its term fails, through
	// any handle, and changes nothing.
	changed := sample("kept")
	changed.KisiID = 666
	for _, st := range []access.Store{a, b} {
		wantLost(t, st.Put(t.Context(), "org", stale, changed))
		wantLost(t, st.Put(t.Context(), "org", stale, sample("new")))
		wantLost(t, st.Delete(t.Context(), "org", stale, "doomed"))
		wantLost(t, st.Delete(t.Context(), "org", stale, "missing"))
	}
	// Nor can it renew its way back while the new term runs.
	wantHeld(t)(lease(t.Context(), a, "org", "run-1", long))
	sameRecords(t, []state.Record{sample("doomed"), sample("kept")}, load(t, a, "org"))
	del(t, b, "org", current, "doomed")
	// After the new term ends, the stale holder gets a new term, never
	// its old one back.
	release(t, b, "org", "run-2")
	again := take(t, a, "org", "run-1", long)
	if again == stale || again <= current {
		t.Fatalf("lease after takeover and release = token %d, want greater than %d", again, current)
	}
	wantLost(t, a.Put(t.Context(), "org", stale, changed))
	sameRecords(t, []state.Record{sample("kept")}, load(t, b, "org"))
}

func testFencedAfterRelease(t *testing.T, open func() access.Store) {
	a, b := open(), open()
	token := take(t, a, "org", "run-1", long)
	put(t, a, "org", token, sample("k"))
	release(t, b, "org", "run-1")
	wantLost(t, a.Put(t.Context(), "org", token, sample("x")))
	wantLost(t, b.Delete(t.Context(), "org", token, "k"))
	again := take(t, b, "org", "run-1", long)
	if again <= token {
		t.Fatalf("lease after release = token %d, want greater than %d", again, token)
	}
	sameRecords(t, []state.Record{sample("k")}, load(t, a, "org"))
}

// testTakeoverWhileWriting: a stalled run keeps writing through one
// handle while another run takes the organization over through the other.
// Every write the old term was told succeeded is in what the new holder
// loads right after the takeover, and nothing lands after it: the check of
// the token and the write are one atomic step.
func testTakeoverWhileWriting(t *testing.T, open func() access.Store) {
	a, b := open(), open()
	ctx := t.Context()
	stale := take(t, a, "org", "run-1", short)
	var mu sync.Mutex
	var written []string
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			key := fmt.Sprintf("role/1/m%06d", i)
			err := a.Put(ctx, "org", stale, sample(key))
			if errors.Is(err, state.ErrLeaseLost) {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
			mu.Lock()
			written = append(written, key)
			mu.Unlock()
			time.Sleep(100 * time.Microsecond) // a run's pace, not a flood
		}
	}()
	expire()
	take(t, b, "org", "run-2", long)
	seen := keys(load(t, b, "org"))
	if err := <-done; err != nil {
		t.Fatalf("stale writer: %v", err)
	}
	final := keys(load(t, b, "org"))
	mu.Lock()
	defer mu.Unlock()
	if len(written) == 0 {
		t.Fatal("the stale run wrote nothing before the takeover")
	}
	if !reflect.DeepEqual(written, seen) || !reflect.DeepEqual(seen, final) {
		t.Fatalf("writes acknowledged to the old term: %d; loaded right after the takeover: %d; at the end: %d "+
			"(want all three equal)", len(written), len(seen), len(final))
	}
}

func keys(recs []state.Record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Key)
	}
	return out
}

func testLeaseRelease(t *testing.T, st access.Store) {
	take(t, st, "org", "run-1", long)
	// Releasing someone else's lease does nothing.
	release(t, st, "org", "run-2")
	wantHeld(t)(lease(t.Context(), st, "org", "run-2", long))
	release(t, st, "org", "run-1")
	take(t, st, "org", "run-2", long)
	// Releasing an organization never leased does nothing.
	release(t, st, "other", "run-1")
}

func testLeasePerOrg(t *testing.T, st access.Store) {
	take(t, st, "a", "run-1", long)
	take(t, st, "b", "run-2", long)
}

func testConcurrent(t *testing.T, st access.Store) {
	const writers, each = 8, 25
	ctx := t.Context()
	token := writer(t, st, "org")
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := sample(fmt.Sprintf("role/%d/w%d", i, w))
				if err := st.Put(ctx, "org", token, r); err != nil {
					errs <- err
					return
				}
				if _, err := st.Load(ctx, "org"); err != nil {
					errs <- err
					return
				}
				if i%5 == 0 {
					if err := st.Delete(ctx, "org", token, r.Key); err != nil {
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

func testConcurrentLease(t *testing.T, open func() access.Store) {
	const runs = 8
	handles := []access.Store{open(), open()}
	ctx := t.Context()
	var wg sync.WaitGroup
	won := make(chan string, runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := fmt.Sprintf("run-%d", i)
			if _, err := lease(ctx, handles[i%2], "org", holder, long); err == nil {
				won <- holder
			} else if !errors.Is(err, state.ErrLeaseHeld) {
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

// testConcurrentOrgs: runs of different organizations write at once
// through two handles, as two processes would; no record is lost.
func testConcurrentOrgs(t *testing.T, open func() access.Store) {
	const orgs, each = 6, 30
	handles := []access.Store{open(), open()}
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, orgs)
	for o := range orgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := handles[o%2]
			org := fmt.Sprintf("org-%d", o)
			token, err := lease(ctx, st, org, "run-"+org, long)
			if err != nil {
				errs <- err
				return
			}
			for i := range each {
				if err := st.Put(ctx, org, token, sample(fmt.Sprintf("role/%d/m%03d", o, i))); err != nil {
					errs <- err
					return
				}
			}
			if err := st.Delete(ctx, org, token, fmt.Sprintf("role/%d/m%03d", o, 0)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent organizations: %v", err)
	}
	check := open()
	for o := range orgs {
		org := fmt.Sprintf("org-%d", o)
		var want []state.Record
		for i := 1; i < each; i++ {
			want = append(want, sample(fmt.Sprintf("role/%d/m%03d", o, i)))
		}
		sameRecords(t, want, load(t, check, org))
	}
}

func testReopen(t *testing.T, open func() access.Store) {
	st := open()
	token := take(t, st, "org", "run-1", long)
	r := sample("role/12/alice@example.com")
	put(t, st, "org", token, r)
	put(t, st, "org", token, sample("gone"))
	del(t, st, "org", token, "gone")
	closeHandle(t, st)
	again := open()
	sameRecords(t, []state.Record{r}, load(t, again, "org"))
	// The lease survives too: the term still holds and still writes.
	wantHeld(t)(lease(t.Context(), again, "org", "run-2", long))
	if got := take(t, again, "org", "run-1", long); got != token {
		t.Fatalf("renewal after reopen = token %d, want %d", got, token)
	}
	put(t, again, "org", token, sample("after"))
}

func closeHandle(t *testing.T, st access.Store) {
	t.Helper()
	switch c := st.(type) {
	case interface{ Close() error }:
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	case interface{ Close() }:
		c.Close()
	}
}

// Seed writes recs into org of st as a run would, under a lease of its own
// that it releases before returning: for tests and tools that start from
// known records. It fails tb if the lease is held or a write fails.
func Seed(tb testing.TB, st access.Store, org string, recs ...state.Record) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now()
	token, err := st.Lease(ctx, org, "storetest-seed", now, now.Add(time.Hour))
	if err != nil {
		tb.Fatalf("storetest: seed %q: lease: %v", org, err)
	}
	for _, rec := range recs {
		if err := st.Put(ctx, org, token, rec); err != nil {
			tb.Fatalf("storetest: seed %q: put %q: %v", org, rec.Key, err)
		}
	}
	if _, err := st.Lease(ctx, org, "storetest-seed", now, time.Time{}); err != nil {
		tb.Fatalf("storetest: seed %q: release: %v", org, err)
	}
}
