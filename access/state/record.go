package state

import (
	"strconv"
	"time"

	"github.com/kisisync/kisisync/schedule"
)

// RecordKind says which Kisi object a [Record] stands for.
type RecordKind string

// The record kinds.
const (
	KindUser RecordKind = "user" // a Kisi user id cached for an email
	KindRole RecordKind = "role" // a group role assignment (access grant)
	KindLink RecordKind = "link" // a group link for a drop-in booking
	// KindPark: a change held back with back-off after Kisi refused it
	// (key "park/" and the change's key), or a group found deleted in Kisi
	// (key "park/group/<group id>/<mapping fingerprint>").
	KindPark RecordKind = "park"
)

// RecordState is the state of a role or link [Record].
type RecordState string

// The record states.
const (
	// StateSettled: the object exists in Kisi with KisiID.
	StateSettled RecordState = "settled"
	// StatePending: an intent recorded before a create whose outcome is not
	// known yet (a run in progress, a lost response or a crash). The next
	// run looks the object up in Kisi before anything is created again.
	StatePending RecordState = "pending"
	// StateGone: the object was deleted in Kisi outside this SDK (found by
	// Verify); it is re-created if still wanted.
	StateGone RecordState = "gone"
	// StateConflict: Kisi refused the create because the user already holds
	// a role in the group that this SDK does not manage (KisiID is that
	// role). It is not retried until the wanted grant changes, and then
	// only once its back-off (Attempts, RetryAt) ends, or until Verify
	// finds the other role gone; kept, and reported, while that role
	// stands after the access is no longer wanted.
	StateConflict RecordState = "conflict"
	// StateExposed: this SDK deleted the member's role in force to replace
	// it and the create of its successor failed, so the member is without
	// a role inside their window. Window is the deleted role's window. The
	// next runs create the role first, without back-off, and restore Window
	// if Kisi refuses the new one.
	StateExposed RecordState = "exposed"
)

// Source names one platform record that produced access: its Kind (plan,
// allowance, booking, assignment, checkin or default) and its ID. It is
// the type of access.Source, defined here so a [Record] can list the
// sources of the role it stands for.
type Source struct {
	// Kind is one of access.KindPlan, KindAllowance, KindBooking,
	// KindAssignment, KindCheckIn or KindDefault.
	Kind string `json:"kind"`
	// ID is the ID of the record in its Snapshot slice (for default, of
	// the plan).
	ID string `json:"id"`
}

// FailureClass is the type of access.FailureClass, which lists its values:
// how a failed change affects a run. It is defined here so a park
// [Record] can keep the class of the failure that parked it.
type FailureClass string

// Superseded is a link in Kisi that a newer link of the same booking
// replaces (see [Record.Supersedes]).
type Superseded struct {
	KisiID int64             `json:"kisi_id"`
	Window schedule.Interval `json:"window"`
}

// Record is one entry of a Store: a Kisi object this SDK created or is
// creating, or a cached Kisi user. Records are plain data, JSON-marshalable,
// so a Store may keep them as documents.
//
// Secret and QRImage of a link are credentials: a Store should protect them
// like passwords (or drop them, if the host needs no Notifier retry).
type Record struct {
	// Key identifies the record within its organization; see [RoleKey],
	// [LinkKey] and [UserKey].
	Key   string      `json:"key"`
	Kind  RecordKind  `json:"kind"`
	State RecordState `json:"state,omitempty"`
	// KisiID is the id of the role assignment, group link or user in Kisi;
	// zero while pending.
	KisiID int64 `json:"kisi_id,omitempty"`

	Email    string `json:"email,omitempty"` // normalized
	MemberID string `json:"member_id,omitempty"`
	GroupID  int64  `json:"group_id,omitempty"`
	// UserID is the Kisi user a role is assigned to.
	UserID int64 `json:"user_id,omitempty"`
	// Window is the validity sent to Kisi (roles and links).
	Window  schedule.Interval `json:"window,omitzero"`
	Sources []Source          `json:"sources,omitempty"`

	// Link fields.
	BookingID string `json:"booking_id,omitempty"`
	Name      string `json:"name,omitempty"`
	SendLink  bool   `json:"send_link,omitempty"`
	QR        bool   `json:"qr,omitempty"`
	Secret    string `json:"secret,omitempty"`
	QRImage   string `json:"qr_image,omitempty"`
	// Notified is set once a Notifier accepted the created link.
	Notified bool `json:"notified,omitempty"`
	// Supersedes is the link in force this one replaces: a link's new
	// window is created before the old link is deleted, so that its guest
	// is never without one, and the record names the old link until Kisi
	// deleted it.
	Supersedes *Superseded `json:"supersedes,omitempty"`

	// User fields.
	// Created: the SDK created this Kisi user (it carries the metadata mark).
	Created bool `json:"created,omitempty"`
	// Managed: a managed user (no Kisi email).
	Managed bool `json:"managed,omitempty"`
	// Invited: the user's one Kisi invitation (a notify:true grant) is done,
	// or not needed.
	Invited bool `json:"invited,omitempty"`
	// Confirmed: Kisi reported the user confirmed.
	Confirmed bool `json:"confirmed,omitempty"`

	// Park fields: why the change or group is parked (Kisi's message),
	// its failure class, how often it failed in a row and when it is tried
	// again. A link whose Notifier call failed, and a conflict, keep their
	// retries in Attempts and RetryAt too.
	Reason   string       `json:"reason,omitempty"`
	Class    FailureClass `json:"class,omitempty"`
	Attempts int          `json:"attempts,omitempty"`
	RetryAt  time.Time    `json:"retry_at,omitzero"`

	// Updated is when the reconciler last wrote the record (its clock).
	Updated time.Time `json:"updated,omitzero"`
}

// RoleKey is the key of the role record of (email, group).
func RoleKey(email string, groupID int64) string {
	return "role/" + strconv.FormatInt(groupID, 10) + "/" + email
}

// LinkKey is the key of the link record of (booking, group).
func LinkKey(bookingID string, groupID int64) string {
	return "link/" + strconv.FormatInt(groupID, 10) + "/" + bookingID
}

// UserKey is the key of the user record of email.
func UserKey(email string) string { return "user/" + email }
