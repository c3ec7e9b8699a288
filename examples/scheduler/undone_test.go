package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// demo is the demo space on a fake Kisi, its client and a reconciler over
// a Store in memory.
type demo struct {
	srv    *kisitest.Server
	client *kisi.Client
	groups [2]int64
	clock  *clockwork.FakeClock
	store  access.Store
}

func newDemo(t *testing.T) *demo {
	t.Helper()
	clock := clockwork.NewFakeClockAt(start)
	srv, groups, err := startDemo(clock)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(1000, 100))
	require.NoError(t, err)
	return &demo{srv: srv, client: c, groups: groups, clock: clock, store: access.NewMemoryStore()}
}

// scheduler returns a Scheduler of the demo space with mapping m, loading
// snap, logging to the returned buffer.
func (d *demo) scheduler(t *testing.T, m mapping.Mapping, snap func() access.Snapshot) (*Scheduler, *bytes.Buffer) {
	t.Helper()
	r, err := access.NewReconciler(d.client, d.store, m, access.DefaultPolicy(), access.WithClock(d.clock))
	require.NoError(t, err)
	var logs bytes.Buffer
	s := NewScheduler(r, LoaderFunc(func(context.Context) (access.Snapshot, error) { return snap(), nil }),
		d.clock, slog.New(slog.NewTextHandler(&logs, nil)))
	return s, &logs
}

func (d *demo) roles(t *testing.T, group int64) int {
	t.Helper()
	ras, _, err := d.client.ListRoleAssignments(t.Context(), &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: group})
	require.NoError(t, err)
	return len(ras)
}

// warnLines returns the log lines at WARN.
func warnLines(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=WARN") {
			out = append(out, l)
		}
	}
	return out
}

// TestUndoneIsLogged (issue 30): records skipped, changes parked and cuts
// held reach the log, one WARN line per cause, naming the records and what
// to do; before, the scheduler logged "synced" at INFO and nothing else.
func TestUndoneIsLogged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// grow adds members to both runs; edit changes the demo's mapping
		// and snapshot for the second run.
		grow int
		edit func(m *mapping.Mapping, s *access.Snapshot)
		// want are in one WARN line, the one of the cause of want[0]
		want []string
	}{
		{name: "invalid email", edit: func(_ *mapping.Mapping, s *access.Snapshot) {
			s.Members = append(s.Members, access.Member{ID: "m3", Email: "carla@", Name: "Carla"})
			s.Plans = append(s.Plans, access.Plan{ID: "p3", PlanID: "flex", MemberID: "m3", Start: start.Add(-time.Hour), Status: access.PlanActive})
		}, want: []string{"cause=invalid_email", `msg="snapshot records skipped`, "count=1", `member \"m3\"`, `remedy="correct the member's email`}},
		{name: "shared email", edit: func(_ *mapping.Mapping, s *access.Snapshot) {
			s.Members = append(s.Members, access.Member{ID: "m3", Email: "Alice@example.com", Name: "Alice again"})
		}, want: []string{`msg="members share an email`, "cause=shared_email", `member \"m3\"`, "remedy="}},
		{name: "group missing", edit: func(m *mapping.Mapping, _ *access.Snapshot) {
			m.Plans["flex"] = append(m.Plans["flex"], 999999)
		}, want: []string{`msg="changes parked`, "class=missing", "group=999999", "bruno@example.com", `remedy="the group is gone from Kisi`}},
		{name: "cuts held", grow: 6, edit: func(_ *mapping.Mapping, s *access.Snapshot) {
			s.Plans = nil
		}, want: []string{`msg="revoke guard held cuts of access`, "cut=vanished", "count=8", "alice@example.com", `remedy="check that the snapshot is complete`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := newDemo(t)
			base := demoSnapshot(start)
			for i := range tc.grow {
				id := fmt.Sprintf("x%d", i)
				base.Members = append(base.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
				base.Plans = append(base.Plans, access.Plan{ID: "p-" + id, PlanID: "flex", MemberID: id, Start: start.Add(-time.Hour), Status: access.PlanActive})
			}
			s, _ := d.scheduler(t, demoMapping(d.groups), func() access.Snapshot { return base })
			_, err := s.Once(t.Context(), false)
			require.NoError(t, err)

			m, snap := demoMapping(d.groups), base
			tc.edit(&m, &snap)
			s, logs := d.scheduler(t, m, func() access.Snapshot { return snap })
			_, err = s.Once(t.Context(), false)
			require.NoError(t, err)
			var lines []string
			for _, l := range warnLines(logs.String()) {
				if strings.Contains(l, tc.want[0]) {
					lines = append(lines, l)
				}
			}
			require.Len(t, lines, 1, logs.String())
			for _, w := range tc.want {
				require.Contains(t, lines[0], w)
			}
		})
	}
}

// TestVerifyFirstRepairsDrift (issue 30): a grant deleted in Kisi by hand
// is back after the next run with a Verify, not one wait later: the
// scheduler verifies first and syncs right after.
func TestVerifyFirstRepairsDrift(t *testing.T) {
	t.Parallel()
	d := newDemo(t)
	s, logs := d.scheduler(t, demoMapping(d.groups), func() access.Snapshot { return demoSnapshot(start) })
	_, err := s.Once(t.Context(), false)
	require.NoError(t, err)
	require.Equal(t, 2, d.roles(t, d.groups[0]))

	ras, _, err := d.client.ListRoleAssignments(t.Context(), &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: d.groups[0]})
	require.NoError(t, err)
	_, err = d.client.DeleteRoleAssignment(t.Context(), ras[0].ID)
	require.NoError(t, err)

	logs.Reset()
	_, err = s.Once(t.Context(), true)
	require.NoError(t, err)
	require.Equal(t, 2, d.roles(t, d.groups[0]), logs.String())
	out := logs.String()
	require.Less(t, strings.Index(out, "msg=verified"), strings.Index(out, "msg=synced"), out)
	require.Contains(t, out, "level=WARN msg=verified groups=2 missing=1")
	require.Contains(t, out, "msg=synced created=1")
}

// blocking is a Syncer whose Sync waits until its context ends, as a sync
// waiting on Kisi's rate limit does when the process is stopped.
type blocking struct {
	Syncer
	started chan struct{}
	once    sync.Once
}

func (b *blocking) Sync(ctx context.Context, _ access.Snapshot) (*access.Report, error) {
	b.once.Do(func() { close(b.started) })
	<-ctx.Done()
	return nil, ctx.Err()
}

func (b *blocking) Verify(ctx context.Context) (*access.Drift, error) {
	return &access.Drift{}, nil
}

// TestStopLogsNoError (issue 30): stopping the scheduler in the middle of
// a sync logs "stopped", not a failed sync.
func TestStopLogsNoError(t *testing.T) {
	t.Parallel()
	b := &blocking{started: make(chan struct{})}
	var logs bytes.Buffer
	s := NewScheduler(b, LoaderFunc(func(context.Context) (access.Snapshot, error) { return access.Snapshot{}, nil }),
		clockwork.NewFakeClockAt(start), slog.New(slog.NewTextHandler(&logs, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-b.started
	cancel()
	require.NoError(t, <-done)
	require.NotContains(t, logs.String(), "level=ERROR")
	require.True(t, strings.HasSuffix(strings.TrimSpace(logs.String()), "msg=stopped"), logs.String())
}

// TestLoaderRefusesUnknownFields (issue 30): the snapshot file is read as
// strictly as kisisync's CLI reads it: a misspelt list is an error, not an
// empty one.
func TestLoaderRefusesUnknownFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{name: "ok", body: `{"members": [{"id": "m1", "email": "a@example.com"}]}`},
		{name: "unknown list", body: `{"checkins": []}`, want: `unknown field "checkins"`},
		{name: "unknown record field", body: `{"members": [{"id": "m1", "mail": "a@example.com"}]}`, want: `unknown field "mail"`},
		{name: "trailing data", body: `{} {}`, want: "data after the JSON value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "snapshot.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.body), 0o600))
			_, err := fileLoader(path).Load(t.Context())
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// order is a Syncer that notes the order of its calls.
type order struct {
	Syncer
	calls []string
}

func (o *order) Sync(ctx context.Context, s access.Snapshot) (*access.Report, error) {
	o.calls = append(o.calls, "sync")
	return &access.Report{}, nil
}

func (o *order) Verify(ctx context.Context) (*access.Drift, error) {
	o.calls = append(o.calls, "verify")
	return nil, errors.New("kisi: list role assignments: 503")
}

// TestOnceVerifiesFirst: Verify runs before the sync, and a failing Verify
// does not stop the sync.
func TestOnceVerifiesFirst(t *testing.T) {
	t.Parallel()
	o := &order{}
	s := NewScheduler(o, LoaderFunc(func(context.Context) (access.Snapshot, error) { return access.Snapshot{}, nil }),
		clockwork.NewFakeClockAt(start), slog.New(slog.DiscardHandler))
	_, err := s.Once(t.Context(), true)
	require.NoError(t, err)
	if diff := cmp.Diff([]string{"verify", "sync"}, o.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
