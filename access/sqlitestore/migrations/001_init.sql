-- kisisync SQLite Store, schema version 1.
-- Applied by sqlitestore.Migrate, which records it in kisisync_schema.

-- One row per record of access.Store, keyed by (organization, key). The
-- record is the JSON of access.Record; link records may hold secrets.
CREATE TABLE kisisync_records (
	organization TEXT NOT NULL,
	key          TEXT NOT NULL,
	record       TEXT NOT NULL,
	PRIMARY KEY (organization, key)
) WITHOUT ROWID;

-- One row per organization that was ever leased: the run lease. holder is
-- '' when released; token is the current (or last) term's fencing token and
-- only grows; expires is in Unix nanoseconds of the callers' clock (one
-- host, one clock).
CREATE TABLE kisisync_leases (
	organization TEXT PRIMARY KEY,
	holder       TEXT NOT NULL,
	token        INTEGER NOT NULL,
	expires      INTEGER NOT NULL
) WITHOUT ROWID;
