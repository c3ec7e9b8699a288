// Package testtime holds the times and zones the module's tests share: the
// Berlin day most scenarios play on. It is for tests only (its functions
// panic on bad input) and imports only the standard library.
package testtime

import (
	"fmt"
	"time"
)

// Berlin is Europe/Berlin, the zone of the tests' place and location.
var Berlin = Zone("Europe/Berlin")

// Zone loads the IANA zone name and panics if it is unknown.
func Zone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// CEST returns the time hh:mm on Wednesday 2026-06-10 in Berlin (CEST), the
// day the tests' scenarios play on; it panics if hhmm is not "hh:mm".
func CEST(hhmm string) time.Time {
	var h, m int
	if _, err := fmt.Sscanf(hhmm, "%d:%d", &h, &m); err != nil {
		panic(err)
	}
	return time.Date(2026, time.June, 10, h, m, 0, 0, Berlin)
}
