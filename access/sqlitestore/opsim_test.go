package sqlitestore_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/internal/opsim"
)

// TestOperationsOnSQLite runs generated histories of the operations
// simulator with the SQLite Store: two processes on one state file, lost
// Stores replaced by new files and restored ones rebuilt from backups. It
// fails on any violation of an invariant that is not a known defect of the
// reconciler (see opsim.Known).
func TestOperationsOnSQLite(t *testing.T) {
	t.Parallel()
	for seed := int64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			dir, files := t.TempDir(), 0
			newStore := func() access.Store {
				files++
				return open(t, filepath.Join(dir, fmt.Sprintf("state-%d.db", files)))
			}
			res, err := opsim.Run(t.Context(), opsim.Generate(seed, opsim.Config{Days: 1}),
				opsim.Options{NewStore: newStore, Known: opsim.Known})
			if err != nil {
				t.Fatal(err)
			}
			if res.Violation != nil {
				t.Fatal(res.Violation)
			}
			if res.Runs == 0 || files == 0 {
				t.Fatalf("%d runs on %d state files", res.Runs, files)
			}
		})
	}
}
