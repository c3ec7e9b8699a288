// Package memstore provides the in-memory [access.Store].
//
// [New] returns the implementation behind [access.NewMemoryStore]. It
// depends only on the records' package, [github.com/kisisync/kisisync/access/state],
// as any Store may, and is offered as its own package so hosts can name their
// Store choice the way they would name a database-backed one:
//
//	st := memstore.New()
//	r, err := access.NewReconciler(client, st, m, access.DefaultPolicy())
//
// It is meant for trying the SDK, for tests and for single-process hosts
// that can afford to forget; it passes the
// [github.com/kisisync/kisisync/access/storetest.Run] conformance suite.
//
// # Durability
//
// Records live only as long as the process. After a restart the Store is
// empty: Kisi users are found again by email, but roles and links created
// before the restart are no longer known as managed — they are reported as
// not managed here (and grants for their users as conflicts), never
// deleted. Hosts that restart use a persistent Store.
//
// # Concurrency
//
// The Store is safe for concurrent use and holds any number of
// organizations; its lease keeps two runs of one organization apart, and
// fences the writes of a run whose lease was taken over (see
// [access.Store]). Lease compares the callers' times: every caller is in
// one process.
//
// [access.Store]: https://pkg.go.dev/github.com/kisisync/kisisync/access#Store
// [access.NewMemoryStore]: https://pkg.go.dev/github.com/kisisync/kisisync/access#NewMemoryStore
package memstore
