package access

import (
	"fmt"
	"testing"
)

// TestRemedyEveryCause: every cause a RecordError can wrap, and every class
// a change can be parked with, has a remedy of its own, so that nothing is
// reported without what to do about it (invariant 5).
func TestRemedyEveryCause(t *testing.T) {
	t.Parallel()
	fallback := (&RecordError{Err: fmt.Errorf("something else")}).Remedy()
	for _, c := range causes {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := &RecordError{Kind: KindMember, ID: "m1", Err: fmt.Errorf("x: %w", c.err)}
			if c.name == "horizon_too_long" {
				return // a caller's horizon, never a record of the snapshot
			}
			if got := err.Remedy(); got == fallback || got == "" {
				t.Errorf("Remedy() of %s = %q, want one of its own", c.name, got)
			}
		})
	}
	fallbackPark := Parked{Class: FailureTransient}.Remedy()
	for _, class := range []FailureClass{FailureMissing, FailureUserDeleted, FailureQuota, FailureForbidden, FailureHost, FailureRefused} {
		t.Run(string(class), func(t *testing.T) {
			t.Parallel()
			if got := (Parked{Class: class}).Remedy(); got == fallbackPark || got == "" {
				t.Errorf("Remedy() of a %s park = %q, want one of its own", class, got)
			}
		})
	}
}
