package kisiglue

import (
	"fmt"
	"strings"
	"time"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// Metadata key and value that mark a Kisi user created by this SDK, so the
// ownership survives a lost Store.
const (
	MetadataKey   = "kisisync"
	MetadataValue = "managed"
)

// MarkedBySDK reports whether u carries the metadata tag of users this SDK
// created.
func MarkedBySDK(u *kisi.User) bool {
	if u == nil {
		return false
	}
	v, ok := u.Metadata[MetadataKey]
	return ok && fmt.Sprint(v) == MetadataValue
}

// Window converts Kisi's validity to an interval: a nil from gives a zero
// Start (valid since created), a nil until gives [schedule.Forever].
func Window(from, until *time.Time) schedule.Interval {
	iv := schedule.Interval{End: schedule.Forever}
	if from != nil {
		iv.Start = *from
	}
	if until != nil {
		iv.End = *until
	}
	return iv
}

// RoleWindow is the validity of a role assignment as an interval (see
// [Window]).
func RoleWindow(ra *kisi.RoleAssignment) schedule.Interval {
	return Window(ra.ValidFrom, ra.ValidUntil)
}

// Validity converts a window to Kisi's validity, in UTC: its start to the
// second, floored, and its end ceiled to a whole minute (see
// [ValidityStep]). A zero Start is sent as no valid_from (valid from now),
// an open-ended window (see [OpenEnded]) as no valid_until.
func Validity(iv schedule.Interval) (from, until *time.Time) {
	if !iv.Start.IsZero() {
		f := iv.Start.UTC().Truncate(time.Second)
		from = &f
	}
	if !OpenEnded(iv) {
		u := iv.End.UTC()
		if c := u.Truncate(ValidityStep); c.Before(u) {
			u = c.Add(ValidityStep)
		}
		until = &u
	}
	return from, until
}

// ValidityStep is the step [Validity] ceils a window's end to. Kisi's
// stored precision of valid_from and valid_until is not documented (its
// examples use seconds; a server keeping whole minutes is a setting of the
// fake): an end Kisi truncates must never cut a window short, so the SDK
// sends ends every precision down to a minute keeps as they are. The cost
// is under a minute of access after a window that does not end on a whole
// minute; bookings, buffers and plans do. A start needs no such care: one
// Kisi truncates begins sooner, never later.
const ValidityStep = time.Minute

// OpenEnded reports whether iv has no end: its End is zero (as the
// platform's records write it) or at or after [schedule.Forever] (see
// [schedule.Interval.IsOpenEnded]).
func OpenEnded(iv schedule.Interval) bool { return iv.End.IsZero() || iv.IsOpenEnded() }

// Tolerance is how far apart two window edges may be and still count as the
// same: Kisi's stored precision of valid_from and valid_until is not
// documented, and a rounding by Kisi must not make every run replace a role.
const Tolerance = time.Minute

// SameInstant compares two window edges within [Tolerance].
func SameInstant(a, b time.Time) bool {
	d := a.Sub(b)
	return d < Tolerance && d > -Tolerance
}

// SameWindow compares windows within [Tolerance]; two open-ended windows
// with the same start are the same.
func SameWindow(a, b schedule.Interval) bool {
	if !SameInstant(a.Start, b.Start) {
		return false
	}
	if OpenEnded(a) || OpenEnded(b) {
		return OpenEnded(a) == OpenEnded(b)
	}
	return SameInstant(a.End, b.End)
}

// RollingBound reports whether the window held holds the desired window as
// a rolling bound (see access.Policy.Validity): from the same start, ending
// sooner, renewed before it ends.
func RollingBound(held, desired schedule.Interval) bool {
	return SameInstant(held.Start, desired.Start) && !OpenEnded(held) && held.End.Before(desired.End)
}

// linkMark opens the mark this SDK puts at the end of the name of every
// group link it creates: Kisi keeps the name, so the mark tells the SDK's
// links, and their bookings, after a lost Store.
const linkMark = " [kisisync:"

// LinkName is the name a group link for bookingID is created with: the
// guest's name with the SDK's mark.
func LinkName(name, bookingID string) string { return name + linkMark + bookingID + "]" }

// LinkBooking returns the booking a link named name was created for, and
// whether the name carries the SDK's mark at all.
func LinkBooking(name string) (bookingID string, ok bool) {
	i := strings.LastIndex(name, linkMark)
	if i < 0 || !strings.HasSuffix(name, "]") {
		return "", false
	}
	id := name[i+len(linkMark) : len(name)-1]
	return id, id != ""
}

// LinkGuestName returns the guest's name of a link named name: the name
// without the SDK's mark.
func LinkGuestName(name string) string {
	if i := strings.LastIndex(name, linkMark); i >= 0 && strings.HasSuffix(name, "]") {
		return name[:i]
	}
	return name
}
