package filestore_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/storetest"
	"github.com/kisisync/kisisync/examples/internal/filestore"
	"github.com/kisisync/kisisync/schedule"
)

func TestConformance(t *testing.T) {
	// One handle only: two processes must not share a file.
	storetest.Run(t, func(t *testing.T) func() access.Store {
		st, err := filestore.Open(filepath.Join(t.TempDir(), "state.json"))
		require.NoError(t, err)
		return func() access.Store { return st }
	})
}

// TestReopen checks that records and leases survive a reopen.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.json")
	t0 := time.Date(2026, time.June, 10, 12, 0, 0, 0, time.UTC)
	rec := access.Record{Key: "role/alice@example.com/12", Kind: access.KindRole, State: access.StateSettled,
		KisiID: 42, Email: "alice@example.com", GroupID: 12, UserID: 7,
		Window:  schedule.Interval{Start: t0, End: schedule.Forever},
		Sources: []access.Source{{Kind: "plan", ID: "p1"}}}

	st, err := filestore.Open(path)
	require.NoError(t, err)
	token, err := st.Lease(ctx, "acme", "a", t0, t0.Add(time.Minute))
	require.NoError(t, err)
	require.NoError(t, st.Put(ctx, "acme", token, rec))

	st2, err := filestore.Open(path)
	require.NoError(t, err)
	got, err := st2.Load(ctx, "acme")
	require.NoError(t, err)
	if diff := cmp.Diff([]access.Record{rec}, got); diff != "" {
		t.Errorf("records after reopen (-want +got):\n%s", diff)
	}
	_, err = st2.Lease(ctx, "acme", "b", t0, t0.Add(time.Minute))
	require.ErrorIs(t, err, access.ErrLeaseHeld)
}

func TestOpenBadFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))
	_, err := filestore.Open(path)
	require.ErrorContains(t, err, "state.json")
}
