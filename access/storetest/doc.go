// Package storetest is the conformance suite for implementations of
// [access.Store]. Every Store, in this module or a host's, runs it, with a
// function that creates an empty backing store (a database, a file, a
// schema) and returns how to open handles on it, as separate processes
// would:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) func() access.Store {
//			path := filepath.Join(t.TempDir(), "state.db")
//			return func() access.Store {
//				st, err := sqlitestore.Open(path)
//				if err != nil {
//					t.Fatal(err)
//				}
//				t.Cleanup(func() { st.Close() })
//				if err := st.Migrate(t.Context()); err != nil {
//					t.Fatal(err)
//				}
//				return st
//			}
//		})
//	}
//
// # What it checks
//
// The contract in the doc comments of [access.Store]: Put replaces by key
// and keeps a copy, Load returns sorted copies per organization, Delete of
// a missing key succeeds, organizations are isolated, and the lease admits
// one holder at a time until it expires or is released. With two handles
// on one backing store it checks lease exclusion, that a holder whose
// lease was taken over or released can no longer write (fencing, the
// error matching [state.ErrLeaseLost]) and that the check and the write
// are one atomic step (a write acknowledged to a term that is being taken
// over is visible to the new holder at once), that a renewal keeps the term's
// token and a new term gets a greater one, that concurrent writers of
// different organizations lose no record, and that records survive a
// reopen. It runs concurrent writers, so run it with -race.
//
// # Time
//
// The lease checks use the real clock with lease times of a fraction of a
// second and wait for expiry, so they hold both for Stores that compare
// the callers' times and for Stores that judge expiry by their own clock
// (a database server's). A run of the suite takes about a second.
//
// # Handles
//
// The function Run is given is called once per subtest and must create an
// empty backing store; the open function it returns is called one or more
// times in that subtest, and each call returns a new handle on that same
// backing store (for an in-memory Store, the same value). Use t.Cleanup to
// release resources. Before reopening, the suite closes the first handle
// if it has a Close method (Close() or Close() error), so a second Close by
// a cleanup must be harmless.
//
// [Seed] writes known records under a lease of its own, for tests that
// start from a given state.
//
// # Old records
//
// A Store must read the records earlier versions wrote. [OldRecords] are
// the documents of schema version 1; a Store's test writes them into its
// backing as that version did (rows of its table) and calls
// [CheckOldRecords], which loads them and finds every field kept:
//
//	for _, doc := range storetest.OldRecords() {
//		// INSERT INTO kisisync_records (organization, key, record) …
//	}
//	storetest.CheckOldRecords(t, st, "org")
package storetest
