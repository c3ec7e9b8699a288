// Package times holds the one copy of the small comparisons of instants
// that schedule and access both need. It imports only the standard
// library.
package times

import "time"

// Later returns the later of a and b (b when they are equal).
func Later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Earlier returns the earlier of a and b (b when they are equal).
func Earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
