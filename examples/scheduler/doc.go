// Command scheduler shows how a host runs kisisync for real: a long-running
// process that syncs one organization at the moments its access changes
// (Report.NextRun, kept between a floor and a ceiling), verifies Kisi
// periodically, logs with log/slog and stops cleanly on SIGINT or SIGTERM.
//
//	go run ./examples/scheduler            # against an embedded fake Kisi, until Ctrl-C
//	go run ./examples/scheduler -once      # one sync and one verify, then exit
//
// With KISI_API_KEY set it syncs a real organization (KISI_URL overrides
// the base URL) from -snapshot and -mapping JSON files (see
// examples/kisisync/README.md for their format), keeping its records in
// -state, a SQLite file that kisisync apply can use at the same time.
// -integration NAME,CONTACT (default KISI_INTEGRATION, as kisisync's CLI
// reads it) sends Kisi's integration partner headers with every request.
//
// # Where a host plugs in
//
//   - its data: a [SnapshotLoader] that reads the platform's database (here
//     a JSON file, or a demo space for the fake);
//   - its Store: an access.Store over its own database, keyed by
//     organization (access/pgstore; here a SQLite file through
//     access/sqlitestore, or memory);
//   - its triggers: [Scheduler.Wake] from the platform's change events, so
//     a booking made now is in Kisi within the floor;
//   - its job system: one [Scheduler] (or one job) per organization.
package main
