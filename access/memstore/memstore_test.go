package memstore_test

import (
	"testing"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/memstore"
	"github.com/kisisync/kisisync/access/storetest"
)

// TestConformance runs the suite with every handle on one memory Store:
// the goroutines of one process share it as two processes would share a
// database.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(*testing.T) func() access.Store {
		st := memstore.New()
		return func() access.Store { return st }
	})
}

func TestNewMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(*testing.T) func() access.Store {
		st := access.NewMemoryStore()
		return func() access.Store { return st }
	})
}

// TestOldRecords: records written at schema version 1 load with none of
// their fields lost (a memory Store has no backing of its own: they come
// in decoded, as from a dump).
func TestOldRecords(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	storetest.Seed(t, st, "org", storetest.OldRecordsDecoded(t)...)
	storetest.CheckOldRecords(t, st, "org")
}
