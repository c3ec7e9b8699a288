package troubleshoot

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/kisi"
)

// Severity ranks a [Finding]: [SeverityError] explains why a member cannot
// get in or why the sync cannot work, [SeverityWarning] may do so, and
// [SeverityInfo] is a fact worth knowing.
type Severity int

// The severities, from least to most serious.
const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityError
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// MarshalText encodes s as "info", "warning" or "error"; JSON uses it.
func (s Severity) MarshalText() ([]byte, error) {
	if s < SeverityInfo || s > SeverityError {
		return nil, fmt.Errorf("troubleshoot: invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes "info", "warning" or "error" (any case).
func (s *Severity) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "info":
		*s = SeverityInfo
	case "warning":
		*s = SeverityWarning
	case "error":
		*s = SeverityError
	default:
		return fmt.Errorf("troubleshoot: invalid severity %q", b)
	}
	return nil
}

// Code is the stable, machine-readable name of a [Finding] (one of the
// Code… constants), which a host may branch on or translate. Its values
// are snake_case words such as "access_disabled"; they are unrelated to
// Kisi's six-character unlock error codes ([kisi.ErrorCode], carried in
// [Finding].ErrorCode).
type Code string

// Finding is one result of [Checker.CheckConnection] or
// [Checker.Diagnose]: what was found, in a plain sentence for a support
// person, and what to do about it. Code is stable; Message and Remedy are
// English text that may change between versions.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     Code     `json:"code"`
	Message  string   `json:"message"`
	Remedy   string   `json:"remedy,omitempty"`
	// GroupID is the Kisi group the finding is about, if any.
	GroupID int64 `json:"group_id,omitempty"`
	// ErrorCode is Kisi's error code of failed unlock attempts.
	ErrorCode kisi.ErrorCode `json:"error_code,omitempty"`
	// Count is how many unlock attempts the finding stands for.
	Count int `json:"count,omitempty"`
	// At is when the latest of those attempts happened.
	At time.Time `json:"at,omitzero"`
}

// Finding codes of [Checker.CheckConnection].
const (
	// CodeKisiUnreachable: Kisi could not be reached or answered with a
	// server error.
	CodeKisiUnreachable Code = "kisi_unreachable"
	// CodeKeyInvalid: Kisi refused the API key (401): wrong, revoked or
	// expired.
	CodeKeyInvalid Code = "key_invalid"
	// CodeKeyNotAdmin: the key's user is not an organization owner or
	// administrator, so the sync cannot write.
	CodeKeyNotAdmin Code = "key_not_admin"
	// CodeKeyAdmin: the key's user is an organization owner or
	// administrator.
	CodeKeyAdmin Code = "key_admin"
	// CodeNoGroupsMapped: the mapping names no Kisi group.
	CodeNoGroupsMapped Code = "no_groups_mapped"
	// CodeGroupMissing: a group named by the mapping does not exist in Kisi.
	CodeGroupMissing Code = "group_missing"
	// CodeGroupNoDoors: a group holds no doors (locks).
	CodeGroupNoDoors Code = "group_no_doors"
	// CodeGroupShared: a group holds roles this SDK does not manage.
	CodeGroupShared Code = "group_shared"
	// CodeGroupOK: a group exists, has doors and no restriction.
	CodeGroupOK Code = "group_ok"
	// CodePlaceInLockdown: the place of a group is locked down.
	CodePlaceInLockdown Code = "place_locked_down"
	// CodeEmailLinks: how many of Kisi's concurrent email links are used.
	CodeEmailLinks Code = "email_links"
	// CodeGroupParked: the sync found a mapped group deleted in Kisi and
	// parks its grants.
	CodeGroupParked Code = "group_parked"
	// CodeChangesParked: Kisi refused changes; the sync retries them with
	// back-off.
	CodeChangesParked Code = "changes_parked"
	// CodeGroupForbidden: Kisi refused the API key on a group's roles or
	// links (403); the sync parks that group's changes with back-off.
	CodeGroupForbidden Code = "group_forbidden"
	// CodeRunsStopped: the last runs stopped at a failure of the whole
	// organization (the key refused, Kisi unreachable or failing, the
	// Store failing); the next waits for the back-off.
	CodeRunsStopped Code = "runs_stopped"
	// CodeSyncNote: something the sync keeps in mind that needs no action:
	// a run interrupted in the middle of its writes (the next verifies
	// first), or Kisi not changing windows with PATCH.
	CodeSyncNote Code = "sync_note"
	// CodeWebhookDisabled: Kisi disabled the event webhook after errors.
	CodeWebhookDisabled Code = "webhook_disabled"
	// CodeWebhookUnsigned: the event webhook has no signature key (see
	// [WithUnsignedWebhooks]), so its deliveries cannot be verified.
	CodeWebhookUnsigned Code = "webhook_unsigned"
	// CodeCheckFailed: one check could not be made; the others were.
	CodeCheckFailed Code = "check_failed"
)

// Finding codes of group restrictions, reported by [Checker.CheckConnection] and
// [Checker.Diagnose]. Each can make app unlocks fail although the member holds a
// valid role.
const (
	CodeTimeRestriction          Code = "time_restriction"
	CodeGeofenceRestriction      Code = "geofence_restriction"
	CodeReaderRestriction        Code = "reader_restriction"
	CodePrimaryDeviceRestriction Code = "primary_device_restriction"
	CodeManagedDeviceRestriction Code = "managed_device_restriction"
	CodeTapToAccessRestriction   Code = "tap_to_access_restriction"
	CodeAppAccessOff             Code = "app_access_off"
)

// Finding codes of [Checker.Diagnose].
const (
	// CodeSnapshotRecordsSkipped: some snapshot records are invalid and were
	// ignored.
	CodeSnapshotRecordsSkipped Code = "snapshot_records_skipped"
	// CodeMemberUnknown: no member with this ID in the snapshot.
	CodeMemberUnknown Code = "member_unknown"
	// CodeMemberEmailInvalid: the member's email cannot identify a Kisi user.
	CodeMemberEmailInvalid Code = "member_email_invalid"
	// CodeNoSources: the member holds no plan, allowance, booking,
	// assignment or check-in.
	CodeNoSources Code = "no_sources"
	// CodeNotMapped: none of the member's records maps to a Kisi group.
	CodeNotMapped Code = "not_mapped"
	// CodeNoAccessNow: the platform gives no access to a group at this time.
	CodeNoAccessNow Code = "no_access_now"
	// CodeAccessNow: the platform gives access to a group now.
	CodeAccessNow Code = "access_now"
	// CodeNoKisiUser: no Kisi user has the member's email.
	CodeNoKisiUser Code = "no_kisi_user"
	// CodeUserUnconfirmed: the Kisi user is unconfirmed.
	CodeUserUnconfirmed Code = "user_unconfirmed"
	// CodeUserConfirmationUnknown: Kisi did not report whether the Kisi
	// user is confirmed and the user never opened a door (reported only
	// with [WithUnknownConfirmationReported]).
	CodeUserConfirmationUnknown Code = "user_confirmation_unknown"
	// CodeUserAccessDisabled: the Kisi user's access_enabled is false.
	CodeUserAccessDisabled Code = "access_disabled"
	// CodeRoleMissing: the platform gives access but Kisi holds no role.
	CodeRoleMissing Code = "role_missing"
	// CodeRoleExpired: the user's role in a group has expired.
	CodeRoleExpired Code = "role_expired"
	// CodeRoleNotYetValid: the user's role in a group is not valid yet.
	CodeRoleNotYetValid Code = "role_not_yet_valid"
	// CodeRoleUnmanaged: the user holds a role in a group that this SDK did
	// not create.
	CodeRoleUnmanaged Code = "role_unmanaged"
	// CodeRoleNotWanted: Kisi gives access the platform does not give now.
	CodeRoleNotWanted Code = "role_not_wanted"
	// CodeRoleWindowDiffers: Kisi's window differs from the platform's.
	CodeRoleWindowDiffers Code = "role_window_differs"
	// CodeRoleOK: the user holds a valid role in the group now.
	CodeRoleOK Code = "role_ok"
	// CodeRoleOtherScope: the user holds a place or organization role.
	CodeRoleOtherScope Code = "role_other_scope"
	// CodeUnlockFailed: recent unlock attempts failed with a Kisi error code.
	CodeUnlockFailed Code = "unlock_failed"
	// CodeUnlockSucceeded: the latest successful unlock.
	CodeUnlockSucceeded Code = "unlock_succeeded"
	// CodeNoUnlockAttempts: Kisi recorded no unlock attempt recently.
	CodeNoUnlockAttempts Code = "no_unlock_attempts"
)

// sortFindings orders findings by severity, most serious first, keeping the
// order of detection within a severity.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int { return cmp.Compare(b.Severity, a.Severity) })
}

// worst returns the highest severity among fs (SeverityInfo when empty).
func worst(fs []Finding) Severity {
	s := SeverityInfo
	for _, f := range fs {
		s = max(s, f.Severity)
	}
	return s
}

// writeFindings renders fs as an aligned table: severity, code, message,
// and the remedy on the next line under the message.
func writeFindings(b *strings.Builder, fs []Finding) {
	if len(fs) == 0 {
		b.WriteString("  No findings.\n")
		return
	}
	width := 0
	for _, f := range fs {
		width = max(width, len(f.Code))
	}
	indent := strings.Repeat(" ", 2+7+2+width+2)
	for _, f := range fs {
		fmt.Fprintf(b, "  %-7s  %-*s  %s\n", strings.ToUpper(f.Severity.String()), width, f.Code, f.Message)
		if f.Remedy != "" {
			fmt.Fprintf(b, "%sRemedy: %s\n", indent, f.Remedy)
		}
	}
}

// Remedies shared by the findings of a group's restrictions and of the
// unlock failures they cause.
const (
	remedyAppAccess      = "Turn app access on for the group in Kisi if members should unlock with their phone; otherwise the member uses a card or a link."
	remedyTimeRestrict   = "Widen or remove the time restriction of the group (or of its doors) in Kisi if members should get in whenever the platform gives access — the platform's windows already limit access in time — or map a group without one instead."
	remedyLocation       = "Ask the member to allow location access for the Kisi (or white-label) app and to turn location services on; or turn the group's geofence restriction off."
	remedyReader         = "Ask the member to unlock standing at the door, next to the reader, with Bluetooth on; or turn the group's reader restriction off."
	remedyPrimaryDevice  = "Ask the member to make this phone the primary device in the Kisi app; or turn the group's primary-device restriction off."
	remedyTapToAccess    = "Ask the member to tap the phone on the Kisi reader; or turn the group's tap-to-access restriction off to allow the unlock button in the app."
	remedyLockdown       = "Cancel the lockdown in the Kisi dashboard once it is over."
	remedyAccessDisabled = "Turn access back on for the user in the Kisi dashboard (Users → the user → Access)."
	remedyResync         = "Run a sync; if this repeats, check the sync's report for failures."
)
