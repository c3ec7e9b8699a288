package attendance_test

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/internal/testtime"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// cest returns the time hh:mm on 2026-06-10 in Berlin (CEST).
var cest = testtime.CEST

// eventRig is a fake Kisi with one place and two doors, whose event log
// records unlocks, and a client with the owner's key.
type eventRig struct {
	srv    *kisitest.Server
	c      *kisi.Client
	place  int64
	front  int64 // lock "Front door"
	roomDr int64 // lock "Room 1 door"
	s      access.Snapshot
}

func newEventRig(t testing.TB, now time.Time) *eventRig {
	t.Helper()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit(), kisitest.WithClock(clockwork.NewFakeClockAt(now)))
	t.Cleanup(srv.Close)
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0),
		kisi.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	r := &eventRig{srv: srv, c: c}
	r.place, err = srv.AddPlace("Berlin Mitte", "Europe/Berlin")
	require.NoError(t, err)
	r.front, err = srv.AddLock(r.place, "Front door")
	require.NoError(t, err)
	r.roomDr, err = srv.AddLock(r.place, "Room 1 door")
	require.NoError(t, err)
	r.s = access.Snapshot{
		Locations: []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}},
		Members:   []access.Member{{ID: "alice", Email: "Alice@Example.com", Name: "Alice"}},
	}
	return r
}

// user creates a Kisi user; marked users carry the SDK's metadata mark.
func (r *eventRig) user(t testing.TB, email string, confirmed, marked bool) int64 {
	t.Helper()
	req := &kisi.UserCreateRequest{Email: email, Confirm: kisi.Ptr(confirmed)}
	if marked {
		req.Metadata = map[string]any{access.MetadataKey: access.MetadataValue}
	}
	u, _, err := r.c.Users.Create(t.Context(), req)
	require.NoError(t, err)
	return u.ID
}

// unlock records an unlock attempt (code "" for a successful one).
func (r *eventRig) unlock(t testing.TB, uid, lock int64, at time.Time, code string) {
	t.Helper()
	_, err := r.srv.RecordUnlock(kisitest.Unlock{UserID: uid, LockID: lock, At: at, ErrorCode: code})
	require.NoError(t, err)
}
