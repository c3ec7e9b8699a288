//go:build race

package access_test

// raceEnabled: the race detector slows HTTP-heavy tests several times, so
// they shrink their data while keeping what they check.
const raceEnabled = true
