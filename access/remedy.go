package access

import "errors"

// Remedy says in one sentence what an operator does about the rejected
// record: which field of the platform's data to correct. A record that
// shares an email ([ErrSharedEmail]) is served, merged with the other
// member; its remedy says so.
func (e *RecordError) Remedy() string {
	switch {
	case errors.Is(e.Err, ErrSharedEmail):
		return "give each member an email of their own, or leave them merged: both get the access of either"
	case errors.Is(e.Err, ErrDependsOnRejected):
		return "correct the record it depends on (reported on its own); this one is synced again then"
	case errors.Is(e.Err, ErrInvalidEmail):
		return "correct the member's email in the platform; until then Kisi keeps what it holds"
	case errors.Is(e.Err, ErrDuplicateID), errors.Is(e.Err, ErrEmptyID):
		return "give every record of a kind its own non-empty id in the export"
	case errors.Is(e.Err, ErrUnknownMember), errors.Is(e.Err, ErrUnknownTeam),
		errors.Is(e.Err, ErrUnknownResource), errors.Is(e.Err, ErrUnknownLocation):
		return "export the record it refers to, or correct the id it names"
	case errors.Is(e.Err, ErrUnknownTimeZone):
		return "set the location's time zone to an IANA name such as Europe/Berlin"
	case errors.Is(e.Err, ErrInvalidWindow):
		return "give the record a start and an end after it"
	case errors.Is(e.Err, ErrInvalidRule):
		return "correct the weekly rule: days, and from/to times of day"
	case errors.Is(e.Err, ErrNoHolder):
		return "name the member or team (or, for a booking, the guest) it belongs to"
	case errors.Is(e.Err, ErrInvalidStatus):
		return "set the plan's status to pending, active or cancelled"
	}
	return "correct the record in the platform's data"
}

// Remedy says in one sentence what an operator does about the parked
// change, by its class.
func (p Parked) Remedy() string {
	switch p.Class {
	case FailureMissing:
		return "the group is gone from Kisi: re-create it, or map the entry to an existing group"
	case FailureUserDeleted:
		return "the member's Kisi user was deleted by hand: re-create it in Kisi to restore access, or end the member's plans"
	case FailureQuota:
		return "Kisi's email-link quota is full: the link is created when room frees up; nothing to do unless it persists"
	case FailureForbidden:
		return "the API key may not change this group: give the key's user rights on the group's place, or use an administrator's key"
	case FailureHost:
		return "the platform's notifier failed: fix it; the notification alone is retried"
	case FailureRefused:
		return "Kisi refused the change (see the reason); it is retried with back-off, correct the member's data if it persists"
	}
	return "it is retried with back-off"
}
