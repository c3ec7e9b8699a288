package fleet_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// logBuffer is a bytes.Buffer safe for the worker's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines logged so far that contain every one of subs.
func (b *logBuffer) lines(subs ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
next:
	for _, l := range strings.Split(b.buf.String(), "\n") {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runID finds a run's id in a log line.
var runID = regexp.MustCompile(`run=\S+`)

// TestRunLogsUndone (issue 29/30): a run that skipped records, parked
// changes or held cuts says so: its "run finished" line is at WARN with the
// counts, one WARN line per cause names the records or people and the
// remedy, and the metrics count them by cause. Before, such a run logged
// "run finished" at INFO with no error, without the skipped records.
func TestRunLogsUndone(t *testing.T) {
	dsn := testDatabase(t)
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	g, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	cfg, err := fleet.ParseConfig(fmt.Appendf(nil, `{"floor": "10ms", "ceiling": "1h", "workers": 2,
		"organizations": [{"id": "org-a", "kisi_user": "u1", "api_key": %q, "base_url": %q,
		"mapping": {"plans": {"flex": [%d], "day": [999999]}}}]}`, srv.APIKey, srv.URL, g))
	require.NoError(t, err)

	now := time.Now()
	full := access.Snapshot{}
	for i := range 6 {
		id := fmt.Sprintf("m%d", i)
		full.Members = append(full.Members, access.Member{ID: id, Email: id + "@example.com", Name: id, Managed: true})
		full.Plans = append(full.Plans, access.Plan{ID: "p-" + id, PlanID: "flex", MemberID: id, Status: access.PlanActive,
			Start: now.Add(-time.Hour), End: now.Add(24 * time.Hour)})
	}
	// A member whose email has a typo, and two on a plan mapped to a group
	// Kisi does not have.
	full.Members = append(full.Members, access.Member{ID: "carla", Email: "carla@", Name: "Carla", Managed: true})
	full.Plans = append(full.Plans,
		access.Plan{ID: "p-carla", PlanID: "flex", MemberID: "carla", Status: access.PlanActive, Start: now.Add(-time.Hour)},
		access.Plan{ID: "p-day0", PlanID: "day", MemberID: "m0", Status: access.PlanActive, Start: now.Add(-time.Hour)},
		access.Plan{ID: "p-day1", PlanID: "day", MemberID: "m1", Status: access.PlanActive, Start: now.Add(-time.Hour)},
		access.Plan{ID: "p-day2", PlanID: "day", MemberID: "m2", Status: access.PlanActive, Start: now.Add(-time.Hour)})
	var emptied atomic.Bool
	loader := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) {
		if emptied.Load() { // an export that lost every plan
			return access.Snapshot{Members: full.Members}, nil
		}
		return full, nil
	})
	logs := &logBuffer{}
	w, err := fleet.New(testPool(t, dsn), cfg, access.NewMemoryStore(), loader,
		fleet.Options{ID: "w1", Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })

	finished := func(n int) string {
		t.Helper()
		require.Eventually(t, func() bool { return len(logs.lines(`msg="run finished"`)) >= n }, 20*time.Second, 20*time.Millisecond)
		return logs.lines(`msg="run finished"`)[n-1]
	}
	// one returns the one WARN line of the run of line run that holds
	// every one of subs. The run logs its causes right after its "run
	// finished" line: wait for them.
	one := func(run string, subs ...string) string {
		t.Helper()
		id := runID.FindString(run)
		require.NotEmpty(t, id, run)
		var got []string
		require.Eventually(t, func() bool {
			got = logs.lines(append([]string{"level=WARN", id + " "}, subs...)...)
			return len(got) > 0
		}, 5*time.Second, 10*time.Millisecond, logs.String())
		require.Len(t, got, 1, logs.String())
		return got[0]
	}

	run := finished(1)
	// The audit: the run says how many Kisi users it created and how many
	// invitations Kisi sent for its grants (issue 29).
	for _, want := range []string{"level=WARN", "organization=org-a", "skipped=2", "parked=2", "failed=1", "held=0", "users_created=6", "invitations=0"} {
		require.Contains(t, run, want)
	}
	one(run, "cause=invalid_email", `msg="snapshot records skipped`, "organization=org-a", "count=1", `member \"carla\"`,
		`remedy="correct the member's email`)
	one(run, "cause=depends_on_rejected", `plan \"p-carla\"`)
	one(run, `msg="changes parked`, "class=missing", "group=999999", "count=2", "m1@example.com", "m2@example.com",
		`remedy="the group is gone from Kisi`)
	one(run, `msg="changes failed`, "class=missing", "m0@example.com")

	// The next run fails nothing and returns no error: it still warns.
	require.NoError(t, w.Wake(ctx, "org-a", false))
	run = finished(2)
	for _, want := range []string{"level=WARN", "result=ok", "skipped=2", "parked=3", "failed=0"} {
		require.Contains(t, run, want)
	}
	require.NotContains(t, run, "error=")
	one(run, "cause=invalid_email", `member \"carla\"`)
	one(run, `msg="changes parked`, "class=missing", "count=3", "m0@example.com")

	emptied.Store(true)
	require.NoError(t, w.Wake(ctx, "org-a", false))
	run = finished(3)
	for _, want := range []string{"level=WARN", "result=held", "held=6"} {
		require.Contains(t, run, want)
	}
	one(run, `msg="revoke guard held cuts`, "cut=vanished", "count=6", "m0@example.com", "and 1 more",
		`remedy="check that the snapshot is complete`)

	rw := httptest.NewRecorder()
	fleet.NewHandler(w).ServeHTTP(rw, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`kisisync_fleet_undone_total{cause="invalid_email",kind="skipped"} 3`, // once per run
		`kisisync_fleet_undone_total{cause="missing",kind="parked"} 5`,
		`kisisync_fleet_undone_total{cause="vanished",kind="held"} 6`,
	} {
		require.Contains(t, rw.Body.String(), want)
	}
}
