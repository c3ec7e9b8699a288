// Package bench holds the measured evidence for kisisync: comparisons with other Go libraries,
// a month-long simulation of a coworking space syncing to a fake Kisi, and the fault matrix.
// It is a module of its own so that the libraries it compares against never become
// dependencies of the SDK.
//
// Everything lives in test files; the package itself exports nothing. The figures it produces
// are written up in BENCHMARKS.md and RELIABILITY.md at the repository root.
//
// # Comparisons
//
// Weekly-rule expansion is compared with github.com/teambition/rrule-go and interval-set union
// and subtraction with github.com/google/go-intervals (timespanset). Each comparison has a test
// that checks both libraries give the same result, and side by side benchmarks:
//
//	cd bench && go test -run '^$' -bench . -benchmem
//
// # Simulation
//
// TestMonth drives a generated space through thirty days on a fake clock against
// kisitest, syncing at every Report.NextRun, and compares the requests it spends with the
// lower bound (with the cleanup of expired objects and the renewals of rolling windows) and
// with two baselines: polling every fifteen minutes, and deleting and recreating every role
// on each change. A second run under injected faults reads the fake's own state every 30
// seconds of simulated time for access outside the windows and lockouts. It runs ten days
// at a reduced size as an ordinary test; -month.report runs the whole month with every
// strategy, -month.paced adds the baselines with paced clients, -month.days sets the days,
// and TestMonthFull runs 1,000 members with -month.full.
//
// TestTenDays runs ten days of two locations (Berlin and New York) across the end of a month
// with a lost Store on day 4, and TestOnboarding onboards 5,000 members against the bound of
// one request per user created and per grant. TestOnboardingPaced onboards them again at Kisi's
// 5 requests per second and a 300 ms round trip, one request after another and with requests
// in flight, in a synctest bubble: simulated time that does not depend on the machine's load.
//
// # Faults
//
// TestFaultMatrix runs the reconciler against kisitest with injected errors, lost responses,
// latency and a group deleted mid-run; TestCrashAtEveryStep kills the process at every Store
// write of a run. Both check that it converges without duplicates, without touching objects
// made by hand and without ever granting access outside a desired window. TestBadInput feeds
// malformed snapshots, mappings and Kisi answers; the ones the SDK does not handle yet are
// skipped with the reason, and run with -badinput.known (as is TestRenewalCreateAndLookupFail,
// a lockout the reconciler still leaves).
//
// # Flags
//
//	-sets.full        also time go-intervals' quadratic union at 100,000 intervals
//	-month.report     every strategy in the reduced month
//	-month.paced      the baselines with 5 requests/second pacing too
//	-month.full       the month at 1,000 members
//	-month.days       the days of the reduced month
//	-onboard.all      TestOnboardingPaced also at 50 and 600 ms round trips and 2 in flight
//	-badinput.known   run the known, unfixed issues instead of skipping them
package bench
