// Package integration is the integration sketch of the repository's
// README, kept here so that it compiles and is tested: how a platform calls
// kisisync from its own job system, one job per Kisi organization.
//
// A host implements [Platform] over its own database and calls
// [SyncOrganization] for one organization, on every change and again at
// the time it returns:
//
//	next, err := integration.SyncOrganization(ctx, platform, store, "acme", logger)
//	// log err; schedule the next job for "acme" at next (if not zero)
//
// [LogUndone] logs what a run left undone (records skipped, changes parked,
// cuts held, failures), one WARN line per cause with its remedy; the
// example scheduler and the fleet worker log with it too.
//
// # Keeping the README honest
//
// The README shows the part between the "sketch" markers verbatim; a test
// checks that the two stay the same, and the package's tests and example
// run the sketch against the embedded fake Kisi.
package integration
