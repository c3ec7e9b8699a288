package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
)

// heldSyncer is an organization whose lease another process holds (the
// CLI applying on the same SQLite state).
type heldSyncer struct{ expires time.Time }

func (h heldSyncer) Sync(context.Context, access.Snapshot) (*access.Report, error) {
	return nil, &state.LeaseHeldError{Organization: "org", Expires: h.expires}
}

func (h heldSyncer) Verify(context.Context) (*access.Drift, error) {
	return nil, &state.LeaseHeldError{Organization: "org", Expires: h.expires}
}

// TestLeaseHeldRetriesSoon (issue 29): when another run holds the
// organization's lease, the scheduler tries again a floor later, not a
// ceiling later (15 minutes of changes left waiting by a CLI apply of a
// few seconds), and reports no error.
func TestLeaseHeldRetriesSoon(t *testing.T) {
	t.Parallel()
	for _, verify := range []bool{false, true} {
		clock := clockwork.NewFakeClockAt(start)
		var logs bytes.Buffer
		s := NewScheduler(heldSyncer{expires: start.Add(30 * time.Second)},
			LoaderFunc(func(context.Context) (access.Snapshot, error) { return demoSnapshot(start), nil }),
			clock, slog.New(slog.NewTextHandler(&logs, nil)))
		next, err := s.Once(t.Context(), verify)
		require.NoError(t, err)
		require.Equal(t, start.Add(s.Floor), next, "verify %v; logs:\n%s", verify, logs.String())
		require.Contains(t, logs.String(), "another run of this organization is in progress")
	}
}
