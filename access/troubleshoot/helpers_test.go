package troubleshoot_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/troubleshoot"
	"github.com/kisisync/kisisync/internal/testtime"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// berlinTZ is the time zone of the rig's place and location.
var berlinTZ = testtime.Berlin

// cest returns the time hh:mm on 2026-06-10 in Berlin (CEST).
var cest = testtime.CEST

// troubleRig is a fake Kisi with one place, two doors and three groups,
// a client with the owner's key, and a snapshot and mapping that use them.
type troubleRig struct {
	srv    *kisitest.Server
	c      *kisi.Client
	clock  *clockwork.FakeClock
	place  int64
	front  int64 // lock "Front door", in group members
	roomDr int64 // lock "Room 1 door", in group room
	member int64 // group "Members"
	room   int64 // group "Room 1"
	empty  int64 // group "Storage" without doors
	m      mapping.Mapping
	s      access.Snapshot
}

func newTroubleRig(t testing.TB, now time.Time, opts ...kisitest.Option) *troubleRig {
	t.Helper()
	clock := clockwork.NewFakeClockAt(now)
	srv := kisitest.NewServer(append([]kisitest.Option{kisitest.WithoutRateLimit(), kisitest.WithClock(clock)}, opts...)...)
	t.Cleanup(srv.Close)
	r := &troubleRig{srv: srv, clock: clock}
	r.c = r.client(t, srv.APIKey)
	var err error
	r.place, err = srv.AddPlace("Berlin Mitte", "Europe/Berlin")
	require.NoError(t, err)
	r.front, err = srv.AddLock(r.place, "Front door")
	require.NoError(t, err)
	r.roomDr, err = srv.AddLock(r.place, "Room 1 door")
	require.NoError(t, err)
	r.member, err = srv.AddGroup("Members", r.place)
	require.NoError(t, err)
	r.room, err = srv.AddGroup("Room 1", r.place)
	require.NoError(t, err)
	r.empty, err = srv.AddGroup("Storage", r.place)
	require.NoError(t, err)
	_, err = srv.AddGroupLock(r.member, r.front)
	require.NoError(t, err)
	_, err = srv.AddGroupLock(r.room, r.roomDr)
	require.NoError(t, err)
	_, err = srv.AddGroupLock(r.room, r.front)
	require.NoError(t, err)
	r.m = mapping.Mapping{
		Plans:     map[string][]int64{"pro": {r.member}, "storage": {r.empty}},
		Resources: map[string][]int64{"room1": {r.room}},
	}
	r.s = access.Snapshot{
		Locations: []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room1", LocationID: "berlin"}, {ID: "desk9", LocationID: "berlin"}},
		Members:   []access.Member{{ID: "alice", Email: "Alice@Example.com", Name: "Alice"}},
	}
	return r
}

// client returns a fast client for key.
func (r *troubleRig) client(t testing.TB, key string) *kisi.Client {
	t.Helper()
	c, err := kisi.NewClient(key, kisi.WithBaseURL(r.srv.URL), kisi.WithRateLimit(rate.Inf, 0),
		kisi.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	return c
}

// user creates a Kisi user as the owner's key would; marked users carry
// the SDK's metadata mark.
func (r *troubleRig) user(t testing.TB, email string, confirmed, marked bool) int64 {
	t.Helper()
	// Kisi confirms at once only a managed user (send_emails false).
	req := &kisi.UserCreateRequest{Email: email, Confirm: kisi.Ptr(confirmed)}
	if confirmed {
		req.SendEmails = kisi.Ptr(false)
	}
	if marked {
		req.Metadata = map[string]any{access.MetadataKey: access.MetadataValue}
	}
	u, _, err := r.c.Users.Create(t.Context(), req)
	require.NoError(t, err)
	return u.ID
}

// role gives user uid the group role in group g with the window
// [from, until) (zero: none), through client c.
func (r *troubleRig) role(t testing.TB, c *kisi.Client, uid, g int64, from, until time.Time) int64 {
	t.Helper()
	req := &kisi.RoleAssignmentCreateRequest{RoleID: kisi.RoleGroupBasic, AppliesToType: kisi.ScopeGroup, AppliesToID: g,
		AssigneeType: kisi.AssigneeUser, AssigneeID: uid}
	if !from.IsZero() {
		req.ValidFrom = kisi.Ptr(from.UTC())
	}
	if !until.IsZero() {
		req.ValidUntil = kisi.Ptr(until.UTC())
	}
	ra, _, err := c.RoleAssignments.Create(t.Context(), req)
	require.NoError(t, err)
	return ra.ID
}

// unlock records an unlock attempt.
func (r *troubleRig) unlock(t testing.TB, uid, lock int64, at time.Time, code string) {
	t.Helper()
	_, err := r.srv.RecordUnlock(kisitest.Unlock{UserID: uid, LockID: lock, At: at, ErrorCode: code})
	require.NoError(t, err)
}

// newChecker returns a Checker of k for mapping m and the default policy.
func newChecker(t testing.TB, k troubleshoot.Kisi, m mapping.Mapping, opts ...troubleshoot.Option) *troubleshoot.Checker {
	t.Helper()
	c, err := troubleshoot.New(k, m, access.DefaultPolicy(), opts...)
	require.NoError(t, err)
	return c
}

// countingKisi is a host's wrapper around the client: it counts the calls
// and forwards them.
type countingKisi struct {
	troubleshoot.Kisi
	calls atomic.Int64
}

func (k *countingKisi) CurrentUser(ctx context.Context) (*kisi.User, *kisi.Response, error) {
	k.calls.Add(1)
	return k.Kisi.CurrentUser(ctx)
}

func (k *countingKisi) ListRoleAssignments(ctx context.Context, opts *kisi.RoleAssignmentListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error) {
	k.calls.Add(1)
	return k.Kisi.ListRoleAssignments(ctx, opts)
}

// checkGolden compares got with testdata/<dir>/<name>.golden, rewriting it
// under -update.
func checkGolden(t *testing.T, dir, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", dir, strings.ReplaceAll(name, " ", "_")+".golden")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./access/troubleshoot/ -update")
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// wantFinding is a finding a test expects: its code and severity, and
// words its remedy (or message) must contain.
type wantFinding struct {
	code     troubleshoot.Code
	severity troubleshoot.Severity
	remedy   string
	message  string
}

// requireFindings checks that every wanted finding is present.
func requireFindings(t *testing.T, got []troubleshoot.Finding, want []wantFinding) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, f := range got {
			if f.Code != w.code || f.Severity != w.severity {
				continue
			}
			if w.remedy != "" && !strings.Contains(f.Remedy, w.remedy) {
				continue
			}
			if w.message != "" && !strings.Contains(f.Message, w.message) {
				continue
			}
			found = true
			break
		}
		if !found {
			t.Errorf("no %s finding %q (remedy ~ %q, message ~ %q) among:\n%s", w.severity, w.code, w.remedy, w.message, dumpFindings(got))
		}
	}
}

func dumpFindings(fs []troubleshoot.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s %s: %s | %s\n", f.Severity, f.Code, f.Message, f.Remedy)
	}
	return b.String()
}
