package fleet_test

import (
	"testing"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/pgstore"
)

// openStore opens the Store the workers share, as the test process sees it.
func openStore(t *testing.T, dsn string) access.Store {
	t.Helper()
	return pgstore.New(testPool(t, dsn))
}
