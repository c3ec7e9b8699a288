//go:build race

package bench_test

// raceDetector reports whether the tests run with -race, which makes the fake ten times
// slower: the largest simulations then run at a reduced size.
const raceDetector = true
