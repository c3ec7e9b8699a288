package fleet_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

var backlogAll = flag.Bool("fleet.backlog.all", false,
	"TestVerifyBacklogKeepsLead: run the whole backlog of 10,000 Verifies, with organizations whose windows enter the lead all along (minutes)")

// backlogLead is one organization whose access is due while the Verify
// backlog waits: a booking whose window enters the lead at a time the
// test chooses (a run at its NextRun), or one made within the lead
// during the backlog (a wake).
type backlogLead struct {
	id     string
	srv    *kisitest.Server
	group  int64
	offset time.Duration // when its access is due, from the start
	wake   bool          // made within the lead and woken, not scheduled

	mu      sync.Mutex
	snap    access.Snapshot
	created time.Time // its role create reached its fake
	due     time.Time // when the run was due: its NextRun, or the wake
	backlog int       // Verify runs not done when its role was created
}

// TestVerifyBacklogKeepsLead (issue 29): 10,000 organizations are due for
// their periodic Verify at once (workers down for longer than the Verify
// period; each run's next job waits at the lower priority, as the worker
// schedules it), each on one fast fake Kisi. Meanwhile organizations whose
// booking's window enters the lead (their run at Report.NextRun), or whose
// booking is made within the lead and woken, get their role at Kisi
// within River's scheduling delay of when their run was due, while
// thousands of Verifies still wait: the backlog never delays a run whose
// window is within the lead. Without -fleet.backlog.all the test stops
// once the last of three such organizations has its role; with it, the
// whole backlog runs and the figures for BENCHMARKS.md are logged.
func TestVerifyBacklogKeepsLead(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 10,000 jobs")
	}
	const n = 10_000
	// dueWithin bounds the delay from a run's due time to its role at
	// Kisi: River's scheduler makes a scheduled job available every 5 s,
	// the producer fetches every 500 ms, then the run itself.
	const dueWithin = 10 * time.Second
	dsn := testDatabase(t)
	pool := testPool(t, dsn)
	ctx := t.Context()

	fast := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(fast.Close)
	fastGroup, err := fast.AddGroup("Members", 0)
	require.NoError(t, err)
	cfg := &fleet.Config{Floor: fleet.Duration(time.Second), Ceiling: fleet.Duration(time.Hour), VerifyEvery: fleet.Duration(time.Hour), Workers: 10}
	backlog := make([]string, n)
	for i := range n {
		backlog[i] = fmt.Sprintf("org-%05d", i)
		cfg.Organizations = append(cfg.Organizations, fleet.Organization{ID: backlog[i], KisiUser: "user-" + backlog[i],
			APIKey: fast.APIKey, BaseURL: fast.URL, Mapping: mapping.Mapping{Plans: map[string][]int64{"desk": {fastGroup}}}})
	}
	offsets := []time.Duration{8 * time.Second, 16 * time.Second}
	wakeAt := 4 * time.Second
	if *backlogAll {
		offsets = []time.Duration{10 * time.Second, 30 * time.Second, 60 * time.Second, 90 * time.Second, 120 * time.Second,
			180 * time.Second, 240 * time.Second, 300 * time.Second, 360 * time.Second}
	}
	start := time.Now().Truncate(time.Second).Add(2 * time.Second)
	policy := access.DefaultPolicy()
	var leads []*backlogLead
	for i := range len(offsets) + 1 {
		l := &backlogLead{id: fmt.Sprintf("lead-%d", i), srv: kisitest.NewServer()}
		t.Cleanup(l.srv.Close)
		place, err := l.srv.AddPlace("Main", "Europe/Berlin")
		require.NoError(t, err)
		l.group, err = l.srv.AddGroup("Meeting room", place)
		require.NoError(t, err)
		l.snap = access.Snapshot{
			Locations: []access.Location{{ID: "loc", TimeZone: "Europe/Berlin"}},
			Resources: []access.Resource{{ID: "room", LocationID: "loc"}},
			Members:   []access.Member{{ID: "m1", Email: "m1@" + l.id + ".example", Name: "Member One", Managed: true}},
		}
		if i < len(offsets) {
			// The window (the booking less the buffer) enters the lead
			// offset after the start.
			l.offset = offsets[i]
			bookingStart := start.Add(l.offset + policy.Lead + policy.Buffer.Before)
			l.snap.Bookings = []access.Booking{{ID: "b1", ResourceID: "room", MemberID: "m1",
				Start: bookingStart, End: bookingStart.Add(time.Hour), CreatedAt: start.Add(-time.Hour)}}
		} else {
			l.offset, l.wake = wakeAt, true
		}
		l.srv.Intercept(func(r *http.Request) kisitest.Fault {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/role_assignments") {
				l.mu.Lock()
				if l.created.IsZero() {
					l.created = time.Now()
				}
				l.mu.Unlock()
			}
			return kisitest.Fault{}
		})
		leads = append(leads, l)
		cfg.Organizations = append(cfg.Organizations, fleet.Organization{ID: l.id, KisiUser: "user-" + l.id,
			APIKey: l.srv.APIKey, BaseURL: l.srv.URL, Mapping: mapping.Mapping{Resources: map[string][]int64{"room": {l.group}}}})
	}
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	cfg, err = fleet.ParseConfig(b)
	require.NoError(t, err)

	// The backlog as the workers leave it after an outage longer than the
	// Verify period: every organization's Verify overdue, its job waiting
	// at the lower priority since then.
	overdue := start.Add(-2 * time.Hour)
	_, err = pool.Exec(ctx, `INSERT INTO fleet_org (org, verify_due) SELECT unnest($1::text[]), $2`, backlog, overdue)
	require.NoError(t, err)
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	params := make([]river.InsertManyParams, n)
	for i, org := range backlog {
		params[i] = river.InsertManyParams{Args: fleet.SyncArgs{Org: org}, InsertOpts: &river.InsertOpts{Priority: 3, ScheduledAt: overdue}}
	}
	_, err = rc.InsertMany(ctx, params)
	require.NoError(t, err)
	// The table is not analyzed here: a worker starting on it must see
	// to that (River's scheduler once took its 30 s timeout over these
	// jobs, and the runs due meanwhile waited 20 to 28 s under -race).
	remaining := func() int { // Verify runs of the backlog not done
		var c int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM fleet_org WHERE org = ANY($1) AND verify_due < $2`, backlog, start).Scan(&c))
		return c
	}

	byID := map[string]*backlogLead{}
	for _, l := range leads {
		byID[l.id] = l
	}
	loader := fleet.LoaderFunc(func(_ context.Context, org string) (access.Snapshot, error) {
		if l := byID[org]; l != nil {
			l.mu.Lock()
			defer l.mu.Unlock()
			return l.snap, nil
		}
		return access.Snapshot{}, nil
	})
	w, err := fleet.New(pool, cfg, openStore(t, dsn), loader, fleet.Options{ID: "w1"})
	require.NoError(t, err)
	time.Sleep(time.Until(start))
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })

	// The scheduled ones' first runs (before the backlog: they come at the
	// higher priority) record when their window enters the lead.
	for _, l := range leads[:len(offsets)] {
		require.Eventually(t, func() bool {
			st, err := w.Status(ctx, l.id)
			if err != nil || st.LastFinished == nil || st.NextRun == nil {
				return false
			}
			l.due = *st.NextRun
			return true
		}, 30*time.Second, 20*time.Millisecond, "%s: no first run", l.id)
		want := start.Add(l.offset)
		require.WithinDuration(t, want, l.due, time.Second, "%s: NextRun is not when its window enters the lead", l.id)
	}

	waker := leads[len(offsets)]
	remainingAt := map[*backlogLead]bool{}
	var drained time.Time
	deadline := start.Add(slices.Max(offsets) + 2*time.Minute)
	if *backlogAll {
		deadline = start.Add(slices.Max(offsets) + 20*time.Minute)
	}
	for {
		now := time.Now()
		require.True(t, now.Before(deadline), "the organizations within the lead did not get their roles; backlog %d", remaining())
		if waker.due.IsZero() && now.After(start.Add(waker.offset)) {
			// A booking made now, starting within the lead, woken in the
			// platform's transaction.
			waker.mu.Lock()
			bookingStart := now.Truncate(time.Second).Add(10 * time.Minute)
			waker.snap.Bookings = []access.Booking{{ID: "b1", ResourceID: "room", MemberID: "m1",
				Start: bookingStart, End: bookingStart.Add(time.Hour), CreatedAt: now.Truncate(time.Second)}}
			waker.due = now
			waker.mu.Unlock()
			require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return fleet.WakeTx(ctx, tx, waker.id) }))
		}
		left := remaining()
		if left == 0 && drained.IsZero() {
			drained = time.Now()
		}
		done := true
		for _, l := range leads {
			l.mu.Lock()
			if !l.created.IsZero() && !remainingAt[l] {
				l.backlog, remainingAt[l] = left, true
			}
			done = done && !l.created.IsZero()
			l.mu.Unlock()
		}
		if done && (!*backlogAll || !drained.IsZero()) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	var worst time.Duration
	for _, l := range leads {
		delay := l.created.Sub(l.due)
		worst = max(worst, delay)
		kind := "window entered the lead"
		if l.wake {
			kind = "booking made within the lead, woken"
		}
		t.Logf("FIGURES %s (%s %v after the start): role at Kisi %v after its run was due, with %d of %d Verify runs still waiting",
			l.id, kind, l.offset, delay.Round(time.Millisecond), l.backlog, n)
	}
	if !drained.IsZero() {
		t.Logf("FIGURES the backlog of %d Verify runs (one process, %d runs at once) done %v after the start: %.0f runs per second; worst delay of a run within the lead %v",
			n, cfg.Workers, drained.Sub(start).Round(100*time.Millisecond), float64(n)/drained.Sub(start).Seconds(), worst.Round(time.Millisecond))
	}
	for _, l := range leads {
		require.LessOrEqual(t, l.created.Sub(l.due), dueWithin, "%s waited for the Verify backlog", l.id)
		if !*backlogAll || l.offset < 60*time.Second {
			require.Positive(t, l.backlog, "%s: the backlog was done before its run was due; the test shows nothing", l.id)
		}
	}
}
