-- kisisync PostgreSQL Store, schema version 1.
-- Applied by pgstore.Migrate, which records it in kisisync_schema.

-- One row per record of access.Store, keyed by (organization, key). The
-- record is the JSON of access.Record; link records may hold secrets. The
-- key sorts bytewise (COLLATE "C"), as Load promises.
CREATE TABLE kisisync_records (
	organization text NOT NULL,
	key          text COLLATE "C" NOT NULL,
	record       jsonb NOT NULL,
	PRIMARY KEY (organization, key)
);

-- One row per organization that was ever leased: the run lease. holder is
-- '' when released; token is the current (or last) term's fencing token and
-- only grows; expires is on the database server's clock.
CREATE TABLE kisisync_leases (
	organization text PRIMARY KEY,
	holder       text NOT NULL,
	token        bigint NOT NULL,
	expires      timestamptz NOT NULL
);
