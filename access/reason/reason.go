package reason

// Code is the stable code of a sentence of an access.Explanation: a host
// can branch on it, translate it or count it, while the sentence may be
// reworded. New codes may be added.
type Code string

// The codes of access.SourceExplanation.Code,
// access.GroupExplanation.ReasonCode and access.Explanation.ProblemCode.
// "At" is the instant explained (access.Explanation.At); "Window" is the
// source's access.SourceExplanation.Window.
const (
	// InForce: the record gives access at At.
	InForce Code = "in_force"
	// PlanPending: the plan is pending acceptance; it gives no
	// access and sends no Kisi invitation.
	PlanPending Code = "plan_pending"
	// PlanCancelled: the plan is cancelled.
	PlanCancelled Code = "plan_cancelled"
	// NotStarted: the plan, allowance or assignment starts after At.
	NotStarted Code = "not_started"
	// BookingStartsLater: the booking's access (widened by the
	// buffer) opens after At.
	BookingStartsLater Code = "booking_starts_later"
	// OutsideSchedule: the assignment's weekly rules give no access
	// at At; the next occurrence is in Window.
	OutsideSchedule Code = "outside_schedule"
	// NoOccurrence: the assignment's weekly rules give no access in
	// the coming week.
	NoOccurrence Code = "no_occurrence"
	// Ended: the record's access ended before At.
	Ended Code = "ended"
	// CheckedOut: the member checked out, which ended the access of
	// the check-in.
	CheckedOut Code = "checked_out"
	// NotCheckedIn: the member has not checked in at the location on
	// At's local day.
	NotCheckedIn Code = "not_checked_in"
	// DropInLink: a drop-in booking made with the member's email as
	// a guest gets a link by email, not group access (no
	// mapping.DropIn.AddToGroup).
	DropInLink Code = "drop_in_link"
	// DropInNoOption: a drop-in booking made with the member's email
	// as a guest gets nothing: mapping.DropIn sets no option.
	DropInNoOption Code = "drop_in_no_option"
	// PlanNotMapped: the plan maps to no group and no Default group
	// is set.
	PlanNotMapped Code = "plan_not_mapped"
	// AllowanceNotMapped: the allowance maps to no group.
	AllowanceNotMapped Code = "allowance_not_mapped"
	// ResourceNotMapped: the booked or assigned resource maps to no
	// group.
	ResourceNotMapped Code = "resource_not_mapped"
	// LocationNotMapped: the check-in's location maps to no group.
	LocationNotMapped Code = "location_not_mapped"
	// NoSource: no source of the member grants the group at At.
	NoSource Code = "no_source"
	// MemberUnknown: no member has the ID asked about.
	MemberUnknown Code = "member_unknown"
	// EmailInvalid: the member's email is invalid, so the member is
	// rejected (see access.ErrInvalidEmail).
	EmailInvalid Code = "email_invalid"
	// MemberSuspended: the platform suspended the member (Member.Suspended):
	// their records grant nothing until it is cleared.
	MemberSuspended Code = "member_suspended"
	// NothingHeld: the member holds no plan, allowance, booking,
	// assignment or check-in.
	NothingHeld Code = "nothing_held"
	// NothingMapped: none of the member's records maps to a group.
	NothingMapped Code = "nothing_mapped"
)
