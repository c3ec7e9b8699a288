package access

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// NormalizeEmail trims s and case-folds it, the form in which members are
// matched to Kisi users. It returns an error wrapping [ErrInvalidEmail] for
// an empty or malformed address: one "@" between a non-empty local part and
// a domain with a dot inside it, and no spaces, commas, quotes or angle
// brackets.
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" {
		return "", fmt.Errorf("empty email: %w", ErrInvalidEmail)
	}
	local, domain, ok := strings.Cut(e, "@")
	switch {
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@"):
		return "", fmt.Errorf("email %q: %w", s, ErrInvalidEmail)
	case strings.ContainsAny(e, " \t\r\n,;:<>()[]\"\\"):
		return "", fmt.Errorf("email %q: %w", s, ErrInvalidEmail)
	case !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, ".."):
		return "", fmt.Errorf("email %q: %w", s, ErrInvalidEmail)
	}
	for _, r := range e {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("email %q: %w", s, ErrInvalidEmail)
		}
	}
	return e, nil
}

// Errors wrapped by a [RecordError]; test with [errors.Is].
var (
	// ErrInvalidEmail reports an empty or malformed email address.
	ErrInvalidEmail = errors.New("invalid email")
	// ErrSharedEmail reports that a member has the same email as an earlier member. Both
	// are one Kisi user; the later member's access is merged under the
	// earlier member's ID. The later member is still served, so this error
	// is a warning.
	ErrSharedEmail = errors.New("email shared with another member")
	// ErrDuplicateID reports that a record has the ID of an earlier record of its kind;
	// the later one is ignored.
	ErrDuplicateID = errors.New("duplicate id")
	// ErrEmptyID reports that a record has no ID.
	ErrEmptyID = errors.New("empty id")
	// ErrUnknownMember reports that a record names a member that does not exist (or was
	// rejected).
	ErrUnknownMember = errors.New("unknown member")
	// ErrUnknownTeam reports that a record names a team that does not exist.
	ErrUnknownTeam = errors.New("unknown team")
	// ErrUnknownResource reports that a record names a resource that does not exist (or
	// was rejected).
	ErrUnknownResource = errors.New("unknown resource")
	// ErrUnknownLocation reports that a record names a location that does not exist (or
	// was rejected).
	ErrUnknownLocation = errors.New("unknown location")
	// ErrUnknownTimeZone reports that a location's time zone is not a known IANA name.
	ErrUnknownTimeZone = errors.New("unknown time zone")
	// ErrInvalidWindow reports that a record ends before or when it starts, or has no
	// start.
	ErrInvalidWindow = errors.New("end not after start")
	// ErrInvalidRule reports that an assignment has an invalid weekly rule.
	ErrInvalidRule = errors.New("invalid weekly rule")
	// ErrNoHolder reports that a plan, allowance, booking or assignment names neither a
	// member nor a team (nor, for a booking, a guest).
	ErrNoHolder = errors.New("no member or team")
	// ErrInvalidPolicy reports a [Policy] that cannot be applied; it is
	// returned alone (not in a [RecordError]) and nothing is computed.
	ErrInvalidPolicy = errors.New("invalid policy")
	// ErrInvalidStatus reports that a plan has a status other than pending, active or
	// cancelled.
	ErrInvalidStatus = errors.New("invalid plan status")
	// ErrDependsOnRejected reports that a record refers to a record that
	// exists but was rejected itself (a resource at a location with a bad
	// time zone, a plan of a member with a bad email). The cause is
	// reported once, on the rejected record; the dependent record's error
	// is a [*DependencyError] naming it. It does not match
	// [ErrUnknownLocation], [ErrUnknownResource] or [ErrUnknownMember],
	// which mean that no record has the ID.
	ErrDependsOnRejected = errors.New("depends on a rejected record")
)

// RecordRef names one snapshot record by its kind (one of the Kind…
// constants, such as [KindLocation]) and ID.
type RecordRef struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// String returns e.g. `location "berlin"`.
func (r RecordRef) String() string { return fmt.Sprintf("%s %q", r.Kind, r.ID) }

// DependencyError is the error of a [RecordError] whose record refers to a
// record that was rejected: On names that record, whose own RecordError
// says what is wrong with it. A chain is reported link by link: a booking
// of a resource at a rejected location depends on the resource, and the
// resource on the location. It matches [ErrDependsOnRejected] with
// [errors.Is].
type DependencyError struct {
	On RecordRef `json:"on"`
}

// Error returns e.g. `depends on rejected location "mars"`.
func (e *DependencyError) Error() string { return "depends on rejected " + e.On.String() }

// Is reports whether target is [ErrDependsOnRejected].
func (e *DependencyError) Is(target error) bool { return target == ErrDependsOnRejected }

// RecordError reports one snapshot record that was rejected (or, for
// [ErrSharedEmail], merged). [Access], [Desired], [Links] and [Explain]
// return every RecordError joined with [errors.Join] next to the results of
// all valid records; [RecordErrors] lists them. [Changes] and [Report] keep
// them typed in Skipped, so a host can test each with [errors.Is]; they
// marshal to JSON and back (see [RecordError.MarshalJSON]).
type RecordError struct {
	Kind string // location, resource, member, team, plan, allowance, booking, assignment or checkin
	ID   string // the record's ID
	Err  error  // what is wrong; wraps one of the Err… values of this package
}

// Error returns e.g. `booking "b1": end not after start`.
func (e *RecordError) Error() string { return fmt.Sprintf("%s %q: %v", e.Kind, e.ID, e.Err) }

// Unwrap returns e.Err.
func (e *RecordError) Unwrap() error { return e.Err }

// causes are the errors a RecordError can wrap, by the name its JSON form
// gives them.
var causes = []struct {
	name string
	err  error
}{
	{"depends_on_rejected", ErrDependsOnRejected},
	{"invalid_email", ErrInvalidEmail},
	{"shared_email", ErrSharedEmail},
	{"duplicate_id", ErrDuplicateID},
	{"empty_id", ErrEmptyID},
	{"unknown_member", ErrUnknownMember},
	{"unknown_team", ErrUnknownTeam},
	{"unknown_resource", ErrUnknownResource},
	{"unknown_location", ErrUnknownLocation},
	{"unknown_time_zone", ErrUnknownTimeZone},
	{"invalid_window", ErrInvalidWindow},
	{"invalid_rule", ErrInvalidRule},
	{"no_holder", ErrNoHolder},
	{"invalid_status", ErrInvalidStatus},
	{"horizon_too_long", ErrHorizonTooLong},
}

// recordErrorJSON is the wire form of a RecordError.
type recordErrorJSON struct {
	Kind  string     `json:"kind"`
	ID    string     `json:"id"`
	Cause string     `json:"cause,omitempty"`
	On    *RecordRef `json:"on,omitempty"`
	Error string     `json:"error"`
}

// MarshalJSON encodes e as {"kind", "id", "cause", "on", "error"}: cause
// names the Err… value e wraps ("unknown_member" for [ErrUnknownMember],
// "depends_on_rejected" for a [*DependencyError], whose record is in on),
// and error is the text of e.Err.
func (e *RecordError) MarshalJSON() ([]byte, error) {
	w := recordErrorJSON{Kind: e.Kind, ID: e.ID}
	if e.Err != nil {
		w.Error = e.Err.Error()
	}
	for _, c := range causes {
		if errors.Is(e.Err, c.err) {
			w.Cause = c.name
			break
		}
	}
	var de *DependencyError
	if errors.As(e.Err, &de) {
		w.On = &de.On
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the form written by [RecordError.MarshalJSON].
// The decoded Err has the same text and matches the same Err… value with
// [errors.Is] (and a [*DependencyError] with [errors.As]); an unknown cause
// is kept as text only.
func (e *RecordError) UnmarshalJSON(data []byte) error {
	var w recordErrorJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("access: record error: %w", err)
	}
	d := &decodedCause{msg: w.Error}
	for _, c := range causes {
		if c.name == w.Cause {
			d.cause = c.err
		}
	}
	if w.On != nil {
		d.cause = &DependencyError{On: *w.On}
	}
	*e = RecordError{Kind: w.Kind, ID: w.ID, Err: d}
	return nil
}

// decodedCause is the Err of a RecordError read from JSON: the original
// text, wrapping the cause it named.
type decodedCause struct {
	msg   string
	cause error
}

func (d *decodedCause) Error() string { return d.msg }
func (d *decodedCause) Unwrap() error { return d.cause }

// RecordErrors returns every [*RecordError] inside err (as joined by
// [errors.Join] or wrapped with %w), in order.
func RecordErrors(err error) []*RecordError {
	var out []*RecordError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if re, ok := err.(*RecordError); ok {
			out = append(out, re)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}
