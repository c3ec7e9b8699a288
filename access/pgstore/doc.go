// Package pgstore is an [github.com/kisisync/kisisync/access.Store] in
// PostgreSQL, through github.com/jackc/pgx/v5: the Store for platforms that
// run many organizations as jobs on several workers. It is its own module,
// so the SDK's module carries no database driver.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	if err != nil { … }
//	defer pool.Close()
//	st := pgstore.New(pool)
//	if err := st.Migrate(ctx); err != nil { … }
//	r, err := access.NewReconciler(client, st, m, access.DefaultPolicy(), access.WithOrganization(orgID))
//
// # Schema and migrations
//
// [Store.Migrate] creates or upgrades the schema in one transaction, under
// an advisory lock: each version is a file migrations/NNN_name.sql of this
// module (see [Versions]) and is recorded in the table kisisync_schema.
// Version 1 has two tables, in the schema of the pool's search_path:
//
//   - kisisync_records (organization, key, record jsonb), primary key
//     (organization, key): one row per record, the JSON of
//     [state.Record];
//   - kisisync_leases (organization primary key, holder, token, expires):
//     one row per organization, the run lease and its fencing token.
//
// Hosts that manage their schema with their own migration tool can apply
// the same files with it instead, and record the versions in
// kisisync_schema.
//
// # Fencing and clocks
//
// Every method is one statement (Delete adds a second, read only, when it
// deleted nothing). Put and Delete write only while their token is the
// organization's current term, and share-lock the lease row as they do: a
// takeover waits for a write in flight to commit, and a write that waited
// for a takeover finds the new term and writes nothing, failing with
// [state.ErrLeaseLost]. Lease judges expiry by the database server's
// clock (clock_timestamp()): it grants the lease for expires−now from the
// server's present and ignores the workers' absolute times, so workers
// whose clocks disagree cannot take over a lease the server still counts
// as valid.
//
// # Backups
//
// Back the tables up with the rest of the platform's database (pg_dump,
// base backups and WAL archiving). A restore takes the records back to the
// backup's moment: roles and links created after it are then unknown to
// the Store; run access.Reconciler.Verify after every restore.
package pgstore
