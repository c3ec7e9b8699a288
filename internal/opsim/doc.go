// Package opsim is a deterministic operations simulator for the
// reconciler: it runs generated histories of a platform, its exporter, Kisi
// and the machine through real Reconcilers, a kisitest fake and a Store, and
// checks the five invariants of the design after every run and every 30
// simulated seconds.
//
// A [History] is a list of [Event]s generated from a seed ([Generate]);
// [Run] replays it exactly — one request at a time on one simulated clock,
// so the same history sends the same requests in the same order — and
// returns the first [Violation] it finds. [Shrink] removes events from a
// failing history while it still fails the same invariant, so a failure
// found in thousands of generated days becomes a short regression case.
//
// What the checks compare:
//
//   - the truth: the platform's records as the host holds them, before the
//     exporter's bugs (the generator knows what a broken export hides);
//   - the snapshot the host sent at its last run;
//   - what the fake Kisi holds, read through its API by an observer key the
//     rate limit does not count;
//   - every write request the processes sent, and every email a guest got
//     (a group link created with an email, or a Notifier call).
//
// Besides the five invariants, the checks hold the design's ownership rule
// (numbered 6 in a [Violation]): every world starts with objects made by
// hand — the groups, a front desk user (not a member) with a role in a
// mapped group and one in a group no mapping names, a user made for a
// member before the SDK ran, a visitor's link in a mapped room that expires
// on the first day (expired links count toward the email-link quota) — and its
// admin makes more (roles given by hand). No process may send a DELETE,
// PATCH or PUT that names one, and after every run each must be in Kisi as
// it was, unless the admin deleted it. A role the design lets the SDK adopt
// is exempt: one in a mapped group held by a user the SDK created ("Verify
// adopts the roles its users hold in mapped groups"), or any role in a
// mapped group when the world declares the groups exclusive
// ([World.Exclusive], access.WithExclusiveGroups).
//
// The request bound of invariant 3 ("a run costs at most the changes it
// plans plus a bounded number of reads"), which neither DESIGN.md nor
// RELIABILITY.md puts in numbers, is derived from what a run may need.
// Every call is sent at most 5 times (the Kisi client's first attempt and
// its 4 retries). A run makes at most one full listing of the organization
// (the users' pages, and per group the pages of its roles and links and
// the group itself: L calls, counted from what Kisi holds), at most 2
// look-ups for each intent an earlier run left pending (P), and at most 6
// calls for each change it applies or fails (C: the report's created,
// replaced, deleted, failed, expired and users created): the write, or the
// delete and create of a replacement, a user look-up and a user create, the
// look-up of a role that refused a create, the read of a group that
// answered 404. So a run sends at most 5 × (L + 2P + 6C) requests, and
// writes one key (a user, a (user, group), a link, an object) at most
// 2 × 5 times: a change and the restore of the old window, or a revocation
// and the clean-up of the same object. A stalled run is not bounded: the
// run that took over while it stalled shares its number.
//
// A replay depends on nothing but its history: one request at a time on one
// simulated clock, Kisi's faults drawn from the history's seed in request
// order, the checks meeting pairs, links and keys in sorted order, and the
// deadline of a process's Kisi writes (the reconciler's timeout, which ends
// with its lease) taken on the simulated clock as the end of the lease the
// process last took or renewed, never on the real one.
// TestReplayUnderLoad replays histories with stalls, crashes and Kisi
// errors on an idle process and on one loaded with busy goroutines on a
// single thread, and compares their full traces.
//
// -opsim.soak runs histories from seed 1 until 10,000 organization-days,
// each to its end:
//
//	go test ./internal/opsim -run 'TestOperations$' -opsim.soak -v -timeout 0
package opsim
