package sqlitestore_test

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/sqlitestore"
	"github.com/kisisync/kisisync/access/storetest"
)

// open opens and migrates a Store on path, closed when t ends.
func open(t testing.TB, path string, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestConformance runs the suite with every handle a Store of its own on
// one file, as separate processes would use it.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) func() access.Store {
		path := filepath.Join(t.TempDir(), "state.db")
		return func() access.Store { return open(t, path) }
	})
}

// TestOldRecords: records written at schema version 1, as rows of its
// table, load with none of their fields lost.
func TestOldRecords(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, doc := range storetest.OldRecords() {
		var rec struct{ Key string }
		if err := json.Unmarshal(doc, &rec); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(t.Context(), `INSERT INTO kisisync_records (organization, key, record) VALUES (?, ?, ?)`,
			"org", rec.Key, string(doc)); err != nil {
			t.Fatal(err)
		}
	}
	storetest.CheckOldRecords(t, st, "org")
}
