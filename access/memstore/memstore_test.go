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
