// Package sqlitestore is an [github.com/kisisync/kisisync/access.Store] in
// one SQLite file, through the pure-Go driver modernc.org/sqlite (no cgo):
// the embedded default for single-host tools such as a CLI and a scheduler
// sharing one state file. It is its own module, so the SDK's module carries
// no database driver.
//
//	st, err := sqlitestore.Open("kisisync-state.db")
//	if err != nil { … }
//	defer st.Close()
//	if err := st.Migrate(ctx); err != nil { … }
//	r, err := access.NewReconciler(client, st, m, access.DefaultPolicy(), access.WithOrganization("acme"))
//
// # Schema and migrations
//
// [Store.Migrate] creates or upgrades the schema: each version is a file
// migrations/NNN_name.sql of this module (see [Versions]), applied once in
// its own transaction and recorded in the table kisisync_schema. Version 1
// has two tables: kisisync_records, one row per record keyed by
// (organization, key) with the record as JSON, and kisisync_leases, one
// row per organization with the lease's holder, fencing token and expiry.
// Every Store method is a single statement (Delete adds a second, read
// only, when it deleted nothing).
//
// # Several processes on one file
//
// Each connection uses WAL journaling, so readers never wait for the
// writer, a busy timeout ([BusyTimeout]) so that writers of different
// processes queue instead of failing, and immediate transactions. The
// lease and fencing live in the file: two processes on one file exclude
// each other as two workers on one database do, and a write of a term
// that is over fails with [state.ErrLeaseLost] in the same statement that
// would have made it. Lease compares the callers' now and expires: every
// process on one file runs on one host, on one clock. Keep the file on a
// local disk: SQLite's locking is unreliable on network file systems.
//
// # Durability and backups
//
// By default commits use synchronous=NORMAL: a process that crashes loses
// nothing it committed, but a power loss or an operating system crash may
// take back the last commits (the file stays consistent). Records taken
// back that way are those of the last Kisi side effects; the next run looks
// pending intents up in Kisi, and access.Reconciler.Verify reports and
// repairs the rest. [WithFullSync] makes every commit durable at the cost
// of one disk flush per write. Back the file up with SQLite's online
// backup (sqlite3 state.db ".backup copy.db") or VACUUM INTO, never by
// copying the file while a process writes; after restoring a backup, run
// Verify.
//
// The file is created with mode 0600: link records hold secrets.
package sqlitestore
