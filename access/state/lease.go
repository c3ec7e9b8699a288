package state

import (
	"errors"
	"fmt"
	"time"
)

// ErrLeaseHeld is matched (errors.Is) by the error a Store returns from
// Lease, and the reconciler from Plan, Apply, Sync and Verify, when another
// run of the same organization holds the lease.
var ErrLeaseHeld = errors.New("access: another run of this organization is in progress")

// ErrLeaseLost is matched (errors.Is) by the error a Store returns from
// Put and Delete when the token is not that of the organization's current
// lease term (the lease was taken over by another run, or released), and
// by the error of a reconciler run stopped for that reason. Nothing was
// written; the run that now holds the lease carries on.
var ErrLeaseLost = errors.New("access: the run lease was lost to another run")

// LeaseHeldError reports that another run holds the lease of Organization
// until Expires. It matches [ErrLeaseHeld].
type LeaseHeldError struct {
	Organization string    `json:"organization"`
	Expires      time.Time `json:"expires"`
}

// Error implements error.
func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("access: organization %q is being synced by another run (lease until %s)",
		e.Organization, e.Expires.UTC().Format(time.RFC3339))
}

// Is reports whether target is [ErrLeaseHeld].
func (e *LeaseHeldError) Is(target error) bool { return target == ErrLeaseHeld }
