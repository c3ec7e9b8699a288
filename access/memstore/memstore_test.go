package memstore_test

import (
	"testing"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/memstore"
	"github.com/kisisync/kisisync/access/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(*testing.T) access.Store { return memstore.New() })
}

func TestNewMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(*testing.T) access.Store { return access.NewMemoryStore() })
}
