// Package filestore is an [access.Store] kept in one JSON file, for the
// example programs: small, dependency-free and readable with any editor.
//
// It shows the shape a host's own Store takes (a database table keyed by
// organization and record key, and a lease row per organization); a
// production host keeps its records in its own database instead.
//
//	st, err := filestore.Open("kisisync-state.json")
//	...
//	r, err := access.NewReconciler(client, st, m, p, access.WithOrganization("acme"))
//
// # Durability and concurrency
//
// Every [Store.Put], [Store.Delete] and [Store.Lease] rewrites the file through a temporary file and
// a rename, so a crash leaves either the old or the new file. A Store is safe
// for concurrent use within one process; two processes must not share a
// file (the lease in the file is only read at [Open]). The file is created
// with mode 0600 because link records may carry secrets.
package filestore
