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
package opsim
