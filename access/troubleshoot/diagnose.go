package troubleshoot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// Diagnosis answers "why can't this member get in?": the platform's side
// from [access.Explain] combined with what only Kisi knows — the member's Kisi
// user, roles, the groups' doors and restrictions and the recent unlock
// attempts with their error codes decoded. Findings are sorted most serious
// first. It marshals to JSON for a host's admin page;
// [Diagnosis.String] renders it for a support person.
type Diagnosis struct {
	MemberID string    `json:"member_id"`
	Name     string    `json:"name,omitempty"`
	Email    string    `json:"email,omitempty"` // normalized
	At       time.Time `json:"at"`
	// Zone is the IANA time zone times are shown in.
	Zone     string           `json:"zone"`
	Findings []Finding        `json:"findings"`
	Key      *KeyInfo         `json:"key,omitempty"`
	User     *KisiUserInfo    `json:"kisi_user,omitempty"`
	Groups   []GroupDiagnosis `json:"groups,omitempty"`
	// Attempts are the most recent unlock attempts, newest first.
	Attempts []UnlockAttempt `json:"attempts,omitempty"`
	// Platform is the platform side, as [access.Explain] gives it.
	Platform access.Explanation `json:"platform"`

	loc *time.Location
}

// KisiUserInfo is the member's Kisi user.
type KisiUserInfo struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
	// Confirmed reports that the user has taken up the account
	// ([kisi.UserStatusActive]); Status is [kisi.User.Status] in words:
	// "active", "pending" or "unknown" (Kisi sent no "confirmed" key and the
	// user never opened a door).
	Confirmed     bool   `json:"confirmed"`
	Status        string `json:"status"`
	AccessEnabled bool   `json:"access_enabled"`
	// CreatedBySDK reports the metadata mark of users this SDK created.
	CreatedBySDK bool `json:"created_by_sdk"`
}

// GroupDiagnosis is one Kisi group the member has or should have access
// to: what the platform wants and what Kisi holds.
type GroupDiagnosis struct {
	GroupID int64  `json:"group_id"`
	Name    string `json:"name,omitempty"`
	Exists  bool   `json:"exists"`
	Doors   int    `json:"doors"`
	// Allowed reports whether the platform gives access now; Slot is the
	// window Kisi should hold now (nil: none).
	Allowed      bool               `json:"allowed"`
	Slot         *schedule.Interval `json:"slot,omitempty"`
	Roles        []RoleInfo         `json:"roles,omitempty"`
	Restrictions []Code             `json:"restrictions,omitempty"`
}

// RoleInfo is a role assignment of the member's Kisi user in a group.
type RoleInfo struct {
	ID     int64  `json:"id"`
	RoleID string `json:"role_id"`
	// Window is Kisi's validity (zero Start: valid since created; End
	// schedule.Forever: no end).
	Window   schedule.Interval `json:"window"`
	Managed  bool              `json:"managed"`
	ValidNow bool              `json:"valid_now"`
}

// UnlockAttempt is one of the member's recent unlock attempts from Kisi's
// event log.
type UnlockAttempt struct {
	UUID      string         `json:"uuid"`
	At        time.Time      `json:"at"`
	LockID    int64          `json:"lock_id"`
	Lock      string         `json:"lock,omitempty"`
	Success   bool           `json:"success"`
	ErrorCode kisi.ErrorCode `json:"error_code,omitempty"`
	// Explanation is a sentence on why a failed attempt failed.
	Explanation string `json:"explanation,omitempty"`
}

// Worst returns the highest severity among the findings.
func (d *Diagnosis) Worst() Severity {
	if d == nil {
		return SeverityInfo
	}
	return worst(d.Findings)
}

// Diagnose explains why member memberID can or cannot get in at `at`. It
// combines [access.Explain] (snapshot s with the Checker's mapping and
// policy) with Kisi's side: whether the API key may write; the member's
// Kisi user (missing, unconfirmed, access disabled); the user's roles in
// each group compared with the window the platform wants (missing,
// expired, not yet valid, not managed here); each group's existence, doors
// and restrictions; and the user's unlock attempts of the unlock lookback
// ([WithUnlockLookback]) before at, their error codes decoded into
// sentences with remedies. It never writes to Kisi.
//
// The returned error is non-nil only for a snapshot error other than
// invalid records, or when ctx ends. Kisi failures (an invalid key, Kisi
// unreachable) are findings.
//
// Roles the user holds through a team are not read. It makes about 7
// requests, plus 1 per group and 1 per place, 1 more per group when an
// unlock failed, and 1 per further page of events (Kisi allows 1 event set
// per second).
func (c *Checker) Diagnose(ctx context.Context, s access.Snapshot, memberID string, at time.Time) (*Diagnosis, error) {
	x, xerr := access.Explain(s, c.m, c.p, memberID, at)
	bad := access.RecordErrors(xerr)
	if xerr != nil && len(bad) == 0 {
		return nil, fmt.Errorf("troubleshoot: diagnose member %q: %w", memberID, xerr)
	}
	dg := &diagnoser{c: c, x: &x, byGroup: map[int64]*access.GroupExplanation{}}
	d := &Diagnosis{MemberID: memberID, Name: x.Name, Email: x.Email, At: at, Platform: x, loc: diagnosisZone(s, &x)}
	d.Zone = d.loc.String()
	dg.d = d
	for i := range x.Groups {
		dg.byGroup[x.Groups[i].GroupID] = &x.Groups[i]
	}
	if len(bad) > 0 {
		dg.add(Finding{Severity: SeverityWarning, Code: CodeSnapshotRecordsSkipped,
			Message: fmt.Sprintf("%s of the snapshot are invalid and were ignored, the first: %v.", textfmt.Plural(len(bad), "record", "records"), bad[0]),
			Remedy:  "Correct these records on the platform; until then they give no access."})
	}
	if err := dg.run(ctx, s); err != nil {
		return nil, fmt.Errorf("troubleshoot: diagnose member %q: %w", memberID, err)
	}
	sortFindings(d.Findings)
	return d, nil
}

// diagnosisZone picks the time zone of a diagnosis: the zone of the first
// of the member's sources at a location whose zone is not UTC, else the
// snapshot's first location's, else UTC.
func diagnosisZone(s access.Snapshot, x *access.Explanation) *time.Location {
	var srcs []access.SourceExplanation
	for _, g := range x.Groups {
		srcs = append(srcs, g.Sources...)
	}
	srcs = append(srcs, x.Unmapped...)
	for _, sx := range srcs {
		if loc := textfmt.Zone(sx.Zone); loc != time.UTC {
			return loc
		}
	}
	for _, l := range s.Locations {
		if loc := textfmt.Zone(l.TimeZone); loc != time.UTC {
			return loc
		}
	}
	return time.UTC
}

// diagnoser carries the state of one Diagnose call.
type diagnoser struct {
	c       *Checker
	x       *access.Explanation
	d       *Diagnosis
	byGroup map[int64]*access.GroupExplanation
	key     *KeyInfo
	own     ownership
	user    *kisi.User
	roles   map[int64][]*kisi.RoleAssignment // group roles of the user by group
	checks  map[int64]GroupCheck
	managed bool
}

func (dg *diagnoser) add(f ...Finding) { dg.d.Findings = append(dg.d.Findings, f...) }

// run gathers Kisi's side and emits the findings. Its error is non-nil
// only when ctx ends.
func (dg *diagnoser) run(ctx context.Context, s access.Snapshot) error {
	for _, mb := range s.Members {
		if mb.ID == dg.d.MemberID {
			dg.managed = mb.Managed
			break
		}
	}
	dg.platformMember(s)
	kc, err := checkKey(ctx, dg.c.k)
	if err != nil {
		return err
	}
	dg.key, dg.d.Key = kc.key, kc.key
	for _, f := range kc.findings {
		if f.Code != CodeKeyAdmin {
			dg.add(f)
		}
	}
	if !kc.usable {
		dg.platformGroups()
		return nil
	}
	own, f, err := dg.c.loadOwnership(ctx, kc.key.UserID)
	if err != nil {
		return err
	}
	dg.own = own
	dg.add(f...)
	if dg.d.Email != "" {
		if err := dg.findUser(ctx); err != nil {
			return err
		}
	}
	if err := dg.readRoles(ctx); err != nil {
		return err
	}
	if err := dg.groups(ctx); err != nil {
		return err
	}
	if dg.user != nil {
		return dg.attempts(ctx)
	}
	return nil
}

// platformMember reports problems of the member as a whole.
func (dg *diagnoser) platformMember(s access.Snapshot) {
	x := dg.x
	if x.Problem == "" {
		return
	}
	known := slices.ContainsFunc(s.Members, func(mb access.Member) bool { return mb.ID == dg.d.MemberID })
	switch {
	case !known:
		dg.add(Finding{Severity: SeverityError, Code: CodeMemberUnknown, Message: x.Problem,
			Remedy: "Check the member ID; a member must be in the snapshot to get access."})
	case x.Email == "":
		dg.add(Finding{Severity: SeverityError, Code: CodeMemberEmailInvalid, Message: x.Problem,
			Remedy: "Correct the member's email on the platform: it must be the address the member uses in the Kisi app."})
	case len(x.Unmapped) > 0:
		dg.add(Finding{Severity: SeverityError, Code: CodeNotMapped, Message: x.Problem,
			Remedy: "Map the member's plan, allowance, resource or location to a Kisi group in the integration settings."})
	default:
		dg.add(Finding{Severity: SeverityError, Code: CodeNoSources, Message: x.Problem,
			Remedy: "Give the member a plan, pass, booking or assignment on the platform, or let them check in; the sync then gives access."})
	}
}

// platformGroups reports the platform's verdict per group (used when Kisi
// cannot be read).
func (dg *diagnoser) platformGroups() {
	for _, gx := range dg.x.Groups {
		dg.add(dg.platformFinding(&gx, groupLabel(gx.GroupID, "")))
	}
}

func (dg *diagnoser) anyAllowed() bool {
	return slices.ContainsFunc(dg.x.Groups, func(g access.GroupExplanation) bool { return g.Allowed })
}

// platformFinding states what the platform gives in one group now.
func (dg *diagnoser) platformFinding(gx *access.GroupExplanation, label string) Finding {
	loc := dg.d.loc
	if gx.Allowed {
		return Finding{Severity: SeverityInfo, Code: CodeAccessNow, GroupID: gx.GroupID,
			Message: fmt.Sprintf("The platform gives access to %s now (%s).", textfmt.LowerFirst(label), textfmt.Validity(*gx.Slot, loc))}
	}
	f := Finding{Severity: SeverityWarning, Code: CodeNoAccessNow, GroupID: gx.GroupID,
		Message: fmt.Sprintf("The platform gives no access to %s now. %s", textfmt.LowerFirst(label), gx.Reason),
		Remedy:  "If the member should have access now, correct the record named above on the platform (accept or activate the plan, move the booking, map the resource, check in); the sync follows on its next run."}
	if !dg.anyAllowed() {
		f.Severity = SeverityError
	}
	if gx.Slot != nil {
		f.Severity = SeverityInfo
		f.Remedy = fmt.Sprintf("Nothing to fix: access opens at %s.", textfmt.Time(gx.Slot.Start, loc))
	}
	return f
}

// findUser looks the member's Kisi user up by email.
func (dg *diagnoser) findUser(ctx context.Context) error {
	email := dg.d.Email
	u, _, err := dg.c.k.GetUserByEmail(ctx, email)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, kisi.ErrNotFound) {
			dg.add(checkFailed("look the member's Kisi user up", err))
			return nil
		}
		wanted := slices.ContainsFunc(dg.x.Groups, func(g access.GroupExplanation) bool { return g.Slot != nil })
		f := Finding{Severity: SeverityInfo, Code: CodeNoKisiUser,
			Message: fmt.Sprintf("No Kisi user has the email %s yet; the sync creates one when the platform first gives access.", email)}
		if wanted {
			f.Severity = SeverityError
			f.Message = fmt.Sprintf("No Kisi user has the email %s, so Kisi gives the member no access although the platform does.", email)
			f.Remedy = "Run a sync: it creates the user. If the user stays missing, run the connection check (the API key must belong to an organization administrator). A member who signed up in Kisi with another address must use " + email + ", the same email as on the platform."
		}
		dg.add(f)
		return nil
	}
	dg.user = u
	status := u.Status()
	info := &KisiUserInfo{ID: u.ID, Email: u.Email, Confirmed: status == kisi.UserStatusActive, Status: status.String(),
		AccessEnabled: u.AccessEnabled, CreatedBySDK: kisiglue.MarkedBySDK(u)}
	dg.d.User = info
	who := fmt.Sprintf("The Kisi user %s (id %d)", u.Email, u.ID)
	// Kisi marks "confirmed" deprecated: only a user it still reports
	// unconfirmed is one; without the key the answer cannot tell (see
	// WithUnknownConfirmationReported), and telling the operator to delete
	// a working user would be worse than saying nothing.
	if status == kisi.UserStatusUnknown && dg.c.o.reportUnknownConfirmation {
		dg.add(Finding{Severity: SeverityWarning, Code: CodeUserConfirmationUnknown,
			Message: who + " has never opened a door and Kisi no longer reports whether the account is confirmed, so this check cannot tell whether the member has signed up.",
			Remedy:  "Ask the member whether the Kisi app lists their doors. If it shows “No locks found”, they have not signed up with " + u.Email + " yet: ask them to open Kisi's invitation email."})
	}
	if status == kisi.UserStatusPending {
		f := Finding{Severity: SeverityError, Code: CodeUserUnconfirmed,
			Message: who + " is unconfirmed and was not created by this SDK — typically it was added by hand in the Kisi dashboard. Such a user sees “No locks found”.",
			Remedy:  "Remove the user in the Kisi dashboard (Users) and let the SDK recreate it on its next sync; the member then gets a fresh invitation and access."}
		if info.CreatedBySDK && !dg.managedMember() {
			f.Message = who + " was created by this SDK and has not accepted Kisi's invitation yet: until the member signs up in the Kisi app with this email, the app shows “No locks found”."
			f.Remedy = "Ask the member to open Kisi's invitation email (check the spam folder) and sign up with " + u.Email + ". If the email is lost, remove the user in the Kisi dashboard: the next sync creates it again with a new invitation."
		}
		dg.add(f)
	}
	if !u.AccessEnabled {
		dg.add(Finding{Severity: SeverityError, Code: CodeUserAccessDisabled,
			Message: who + " has access disabled (access_enabled is false): Kisi refuses every unlock (error fcd8ff), whatever the roles.",
			Remedy:  remedyAccessDisabled + " The sync never changes this setting."})
	}
	return nil
}

// managedMember reports whether the member is a managed member (a
// white-label app user, created confirmed and never emailed by Kisi).
func (dg *diagnoser) managedMember() bool { return dg.managed }

// readRoles lists every role of the user, keeping group roles by group
// and reporting place and organization roles.
func (dg *diagnoser) readRoles(ctx context.Context) error {
	dg.roles = map[int64][]*kisi.RoleAssignment{}
	if dg.user == nil {
		return nil
	}
	for ra, err := range kisi.Items(ctx, dg.c.k.ListRoleAssignments, &kisi.RoleAssignmentListOptions{
		AssigneeType: kisi.AssigneeUser, AssigneeID: dg.user.ID}) {
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			dg.add(checkFailed("list the member's roles", err))
			dg.roles = nil
			return nil
		}
		switch ra.AppliesToType {
		case kisi.ScopeGroup:
			dg.roles[ra.AppliesToID] = append(dg.roles[ra.AppliesToID], ra)
		default:
			scope := "the organization"
			if ra.AppliesToType == kisi.ScopePlace {
				scope = fmt.Sprintf("place %d", ra.AppliesToID)
				if ra.AppliesTo != nil && ra.AppliesTo.Name != "" {
					scope += fmt.Sprintf(" %q", ra.AppliesTo.Name)
				}
			}
			dg.add(Finding{Severity: SeverityInfo, Code: CodeRoleOtherScope,
				Message: fmt.Sprintf("The Kisi user also holds the role %s on %s, which the sync does not manage; it may open doors beyond the mapped groups.", ra.RoleID, scope)})
		}
	}
	return nil
}

// groups checks every group the member has or should have, and compares
// the user's roles in it with the platform's window.
func (dg *diagnoser) groups(ctx context.Context) error {
	ids := slices.Collect(maps.Keys(dg.byGroup))
	for g := range dg.roles {
		ids = append(ids, g)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	places := map[int64]*kisi.Place{}
	dg.checks = map[int64]GroupCheck{}
	for _, g := range ids {
		gc, gf, err := checkGroup(ctx, dg.c.k, g, dg.c.m, places)
		if err != nil {
			return err
		}
		dg.checks[g] = gc
		gx := dg.byGroup[g]
		gd := GroupDiagnosis{GroupID: g, Name: gc.Name, Exists: gc.Exists, Doors: gc.Doors, Restrictions: gc.Restrictions}
		if gx != nil {
			gd.Allowed, gd.Slot = gx.Allowed, gx.Slot
			if gc.Exists || !gx.Allowed {
				dg.add(dg.platformFinding(gx, groupLabel(g, gc.Name)))
			}
		}
		dg.add(gf...)
		if gc.Exists {
			dg.compareRoles(&gd, gx)
		}
		dg.d.Groups = append(dg.d.Groups, gd)
	}
	return nil
}

// compareRoles compares the user's roles in one group with the platform's
// slot.
func (dg *diagnoser) compareRoles(gd *GroupDiagnosis, gx *access.GroupExplanation) {
	at := dg.d.At
	label := groupLabel(gd.GroupID, gd.Name)
	loc := dg.d.loc
	roles := dg.roles[gd.GroupID]
	if len(roles) == 0 {
		if dg.user == nil || dg.roles == nil || gx == nil || gx.Slot == nil {
			return
		}
		f := Finding{Severity: SeverityError, Code: CodeRoleMissing, GroupID: gd.GroupID,
			Message: fmt.Sprintf("The platform gives access to %s (%s), but the Kisi user holds no role in it, so the Kisi app shows none of this group's doors.", textfmt.LowerFirst(label), textfmt.Validity(*gx.Slot, loc)),
			Remedy:  "Run a sync (or wait for the next one). If the role stays missing, run the connection check: the API key may not be an organization administrator, or the sync's report names a failure or a conflict for this member."}
		if dg.key != nil && !dg.key.Admin {
			f.Message += " The API key may not create it (see key_not_admin)."
		}
		if !gx.Allowed {
			f.Severity = SeverityWarning
		}
		dg.add(f)
		return
	}
	for _, ra := range roles {
		w := kisiglue.RoleWindow(ra)
		ri := RoleInfo{ID: ra.ID, RoleID: ra.RoleID, Window: w, Managed: dg.own.managed(ra),
			ValidNow: !w.Start.After(at) && w.End.After(at)}
		gd.Roles = append(gd.Roles, ri)
		desc := fmt.Sprintf("role %d (%s, %s) in %s", ra.ID, ra.RoleID, textfmt.Validity(w, loc), textfmt.LowerFirst(label))
		allowed := gx != nil && gx.Allowed
		if !ri.Managed {
			f := Finding{Severity: SeverityWarning, Code: CodeRoleUnmanaged, GroupID: gd.GroupID,
				Message: fmt.Sprintf("The Kisi user holds %s that this SDK did not create (given by hand in the Kisi dashboard or by another integration). Kisi allows one role per user and group, so the sync cannot put the platform's window there: this role alone decides access to the group.", desc),
				Remedy:  "If the platform should decide, remove this role in Kisi (the group's access rights); the next sync creates its own. Otherwise leave it."}
			if gx == nil {
				f.Severity = SeverityInfo
			}
			dg.add(f)
		}
		switch {
		case w.Start.After(at):
			f := Finding{Severity: SeverityInfo, Code: CodeRoleNotYetValid, GroupID: gd.GroupID,
				Message: fmt.Sprintf("The %s becomes valid only at %s (in %s); until then Kisi refuses unlocks (error f358de).", desc, textfmt.Time(w.Start, loc), textfmt.Duration(w.Start.Sub(at))),
				Remedy:  fmt.Sprintf("Nothing to fix: try again from %s.", textfmt.ClockOrTime(w.Start, at, loc))}
			if allowed {
				f = outOfDate(f, "already", ri.Managed, "Run a sync: it replaces the role with the platform's window.",
					"Remove the hand-made role in Kisi, or correct its window; then run a sync.")
			}
			dg.add(f)
		case !w.End.After(at):
			f := Finding{Severity: SeverityWarning, Code: CodeRoleExpired, GroupID: gd.GroupID,
				Message: fmt.Sprintf("The %s expired at %s; Kisi refuses unlocks (error f35ade).", desc, textfmt.Time(w.End, loc)),
				Remedy:  "If the member should still have access, extend the booking or plan on the platform; the sync updates Kisi."}
			if allowed {
				f = outOfDate(f, "now", ri.Managed, "Run a sync: it replaces the expired role with the platform's window.",
					"Remove the expired hand-made role in Kisi; the next sync creates the platform's.")
			}
			dg.add(f)
		case !allowed && ri.Managed && (gx == nil || gx.Slot == nil):
			dg.add(Finding{Severity: SeverityWarning, Code: CodeRoleNotWanted, GroupID: gd.GroupID,
				Message: fmt.Sprintf("Kisi still gives access through %s, though the platform gives none now.", desc),
				Remedy:  "Run a sync: it removes the role."})
		case ri.Managed && gx != nil && gx.Slot != nil && !kisiglue.SameWindow(w, *gx.Slot) && !kisiglue.RollingBound(w, *gx.Slot):
			dg.add(Finding{Severity: SeverityInfo, Code: CodeRoleWindowDiffers, GroupID: gd.GroupID,
				Message: fmt.Sprintf("The %s differs from the platform's window %s; it is valid now.", desc, textfmt.Validity(*gx.Slot, loc)),
				Remedy:  "Run a sync: it replaces the role with the platform's window."})
		case ri.Managed:
			dg.add(Finding{Severity: SeverityInfo, Code: CodeRoleOK, GroupID: gd.GroupID,
				Message: fmt.Sprintf("The Kisi user holds %s, and it is valid now.", desc)})
		}
	}
}

// maxEventsRead bounds the unlock events one Diagnose reads.
const maxEventsRead = 500

// attempts reads the user's recent unlock attempts and explains the
// failures.
func (dg *diagnoser) attempts(ctx context.Context) error {
	d := dg.d
	evs, ok, err := dg.readAttempts(ctx)
	if err != nil || !ok {
		return err
	}
	if len(evs) == 0 {
		dg.add(Finding{Severity: SeverityInfo, Code: CodeNoUnlockAttempts,
			Message: fmt.Sprintf("Kisi recorded no unlock attempt by %s in the %s before %s.", d.Email, textfmt.Duration(dg.c.o.lookback), textfmt.Time(d.At, d.loc)),
			Remedy:  fmt.Sprintf("If the member tried to unlock, the phone never reached Kisi: check that the Kisi (or white-label) app is signed in with %s and up to date, that Bluetooth and location services are on, and that the phone was near the reader.", d.Email)})
		return nil
	}
	var lockGroups map[int64][]int64
	if slices.ContainsFunc(evs, func(e *kisi.Event) bool { return !e.Success }) {
		if lockGroups, err = dg.lockGroups(ctx); err != nil {
			return err
		}
	}
	dg.tallyAttempts(evs, lockGroups)
	return nil
}

// readAttempts reads the user's unlock events of the lookback, newest
// first. ok is false when they could not be read (a finding says so); err
// is non-nil only when ctx ends.
func (dg *diagnoser) readAttempts(ctx context.Context) (evs []*kisi.Event, ok bool, err error) {
	d := dg.d
	uid := dg.user.ID
	req := &kisi.EventSetCreateRequest{
		Interval:       kisi.EventInterval(d.At.Add(-dg.c.o.lookback), d.At),
		EventActorType: kisi.Ptr(kisi.AssigneeUser),
		EventActorID:   &uid,
		EventType:      kisi.Ptr(kisi.EventLockUnlock),
	}
	for ev, err := range dg.c.k.EventSetEvents(ctx, req, 100) {
		if err != nil {
			if ctx.Err() != nil {
				return nil, false, ctx.Err()
			}
			dg.add(checkFailed("read the member's unlock attempts", err))
			return nil, false, nil
		}
		if ev.Type != kisi.EventLockUnlock {
			continue
		}
		evs = append(evs, ev)
		if len(evs) >= maxEventsRead {
			break
		}
	}
	slices.SortStableFunc(evs, func(a, b *kisi.Event) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return evs, true, nil
}

// tallyAttempts lists the most recent attempts (evs, newest first) and
// reports one finding per error code of the failed ones and one for the
// successful ones.
func (dg *diagnoser) tallyAttempts(evs []*kisi.Event, lockGroups map[int64][]int64) {
	d := dg.d
	type tally struct {
		count  int
		latest *UnlockAttempt
		remedy string
	}
	var lastOK *UnlockAttempt
	okCount := 0
	tallies := map[kisi.ErrorCode]*tally{}
	var order []kisi.ErrorCode
	for i, ev := range evs {
		a := UnlockAttempt{UUID: ev.UUID, At: ev.CreatedAt, LockID: ev.ObjectID, Lock: ev.ObjectName, Success: ev.Success}
		var remedy string
		if !ev.Success {
			if ev.ErrorCode != nil {
				a.ErrorCode = *ev.ErrorCode
			}
			a.Explanation, remedy = dg.failure(a, lockGroups[a.LockID])
		}
		if i < dg.c.o.maxAttempts {
			d.Attempts = append(d.Attempts, a)
		}
		if a.Success {
			okCount++
			if lastOK == nil {
				lastOK = &a
			}
			continue
		}
		t := tallies[a.ErrorCode]
		if t == nil {
			t = &tally{latest: &a, remedy: remedy}
			tallies[a.ErrorCode] = t
			order = append(order, a.ErrorCode)
		}
		t.count++
	}
	for _, code := range order {
		t := tallies[code]
		a := t.latest
		what := "with no error code"
		if code != "" {
			what = "with " + code.String()
		}
		f := Finding{Severity: SeverityError, Code: CodeUnlockFailed, ErrorCode: code, Count: t.count, At: a.At,
			Message: fmt.Sprintf("%s failed %s, the last on %s at %s: %s", textfmt.Plural(t.count, "unlock attempt", "unlock attempts"), what,
				textfmt.Time(a.At, d.loc), lockLabel(a), a.Explanation),
			Remedy: t.remedy}
		if lastOK != nil && lastOK.At.After(a.At) {
			f.Severity = SeverityWarning
			f.Message += " The member has unlocked successfully since."
		}
		dg.add(f)
	}
	if lastOK != nil {
		dg.add(Finding{Severity: SeverityInfo, Code: CodeUnlockSucceeded, Count: okCount, At: lastOK.At,
			Message: fmt.Sprintf("%s succeeded in the %s before %s, the last on %s at %s.", textfmt.Plural(okCount, "unlock", "unlocks"),
				textfmt.Duration(dg.c.o.lookback), textfmt.Time(d.At, d.loc), textfmt.Time(lastOK.At, d.loc), lockLabel(lastOK))})
	}
}

func lockLabel(a *UnlockAttempt) string {
	if a.Lock != "" {
		return fmt.Sprintf("door %q", a.Lock)
	}
	return fmt.Sprintf("door %d", a.LockID)
}

// lockGroups maps each lock of the diagnosed groups to those groups.
func (dg *diagnoser) lockGroups(ctx context.Context) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	for _, gd := range dg.d.Groups {
		if !gd.Exists || gd.Doors == 0 {
			continue
		}
		for gl, err := range kisi.Items(ctx, dg.c.k.ListGroupLocks, &kisi.GroupLockListOptions{GroupID: gd.GroupID}) {
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				break // the explanation falls back to every group
			}
			out[gl.LockID] = append(out[gl.LockID], gd.GroupID)
		}
	}
	return out, nil
}

// candidateGroups are the groups that explain an attempt at a lock: the
// diagnosed groups holding it, else every diagnosed group.
func (dg *diagnoser) candidateGroups(groups []int64) []GroupDiagnosis {
	var out []GroupDiagnosis
	for _, gd := range dg.d.Groups {
		if len(groups) == 0 || slices.Contains(groups, gd.GroupID) {
			out = append(out, gd)
		}
	}
	return out
}

// outOfDate turns f, about a role that is not valid now, into an error: the
// platform gives access (when: "now", "already"), so the role is out of date.
// The remedy depends on whether the role is managed here.
func outOfDate(f Finding, when string, managed bool, remedy, remedyHandMade string) Finding {
	f.Severity = SeverityError
	f.Message += " The platform gives access " + when + ", so the role is out of date."
	f.Remedy = remedy
	if !managed {
		f.Remedy = remedyHandMade
	}
	return f
}

// groupWindow is one platform window of a group.
type groupWindow struct {
	schedule.Interval
	gx *access.GroupExplanation
}

// windowAround finds, among the platform windows of the candidate groups,
// the one in force at t (cur), the first one after t (next) and the last one
// before t (prev); each is nil when there is none.
func (dg *diagnoser) windowAround(t time.Time, groups []int64) (cur, next, prev *groupWindow) {
	for _, gd := range dg.candidateGroups(groups) {
		x := dg.byGroup[gd.GroupID]
		if x == nil {
			continue
		}
		for _, w := range x.Windows {
			switch {
			case !w.Start.After(t) && w.End.After(t):
				if cur == nil {
					cur = &groupWindow{w, x}
				}
			case w.Start.After(t):
				if next == nil || w.Start.Before(next.Start) {
					next = &groupWindow{w, x}
				}
			default:
				if prev == nil || w.End.After(prev.End) {
					prev = &groupWindow{w, x}
				}
			}
		}
	}
	return cur, next, prev
}

// noun names what produced the window: "booking window", "plan's access",
// or "access window" when several kinds of source overlap it.
func (gw *groupWindow) noun() string { return windowNoun(gw.gx, gw.Interval) }

// group names the window's group for a sentence: `group 101 "Members"`.
func (dg *diagnoser) group(gw *groupWindow) string {
	return textfmt.LowerFirst(groupLabel(gw.gx.GroupID, dg.checks[gw.gx.GroupID].Name))
}

// windowNoun names what produced window w of group gx: "booking window",
// "plan's access", or "access window" when several kinds overlap.
func windowNoun(gx *access.GroupExplanation, w schedule.Interval) string {
	kinds := map[string]bool{}
	for _, sx := range gx.Sources {
		if sx.Window != nil && sx.Window.Start.Before(w.End) && sx.Window.End.After(w.Start) {
			kinds[sx.Kind] = true
		}
	}
	if len(kinds) == 1 {
		for k := range kinds {
			switch k {
			case access.KindBooking:
				return "booking window"
			case access.KindAssignment:
				return "assignment window"
			case access.KindPlan, access.KindDefault:
				return "plan's access"
			case access.KindAllowance:
				return "allowance's access"
			case access.KindCheckIn:
				return "check-in access"
			}
		}
	}
	return "access window"
}

// restricted returns the candidate groups with restriction code.
func (dg *diagnoser) restricted(groups []int64, code Code) []string {
	var out []string
	for _, gd := range dg.candidateGroups(groups) {
		if slices.Contains(gd.Restrictions, code) {
			out = append(out, textfmt.LowerFirst(groupLabel(gd.GroupID, gd.Name)))
		}
	}
	return out
}

// Families of error codes that share an explanation.
var (
	codesGeofence  = []kisi.ErrorCode{kisi.CodeTooFarAway, kisi.CodeLocationInvalid, kisi.CodeLockLocationInvalid}
	codesLocation  = []kisi.ErrorCode{kisi.CodeAuthorizeLocation, kisi.CodeEnableLocation, kisi.CodeEnableLocationServices}
	codesBluetooth = []kisi.ErrorCode{kisi.CodeNoNearbyReader, kisi.CodeAuthorizeBluetooth, kisi.CodeEnableBluetooth}
	codesDenied    = []kisi.ErrorCode{kisi.CodeAccessDenied, kisi.CodeAccessDeniedDevice, kisi.CodeAccessInvalid, kisi.CodeAccessRightInvalid}
	codesHardware  = []kisi.ErrorCode{kisi.CodeControllerUnavailable, kisi.CodeControllerUnavailable2, kisi.CodeDeviceUnavailable,
		kisi.CodeDeviceUnavailable2, kisi.CodeControllerUnhandledError, kisi.CodeControllerFirmwareUpdating, kisi.CodeControllerNotConfigured,
		kisi.CodeDoorWithoutController, kisi.CodeDoorMisconfigured, kisi.CodeDoorNotFound, kisi.CodeWirelessLockConnectError,
		kisi.CodeWirelessLockNotFound, kisi.CodeWirelessLockOffline, kisi.CodeWirelessUnlockInProgress}
)

// failure says in a sentence why the attempt a failed, and what to do about
// it.
func (dg *diagnoser) failure(a UnlockAttempt, groups []int64) (why, remedy string) {
	code := a.ErrorCode
	switch {
	case code == kisi.CodeAccessNotYetValid, code == kisi.CodeAccessNoLongerValid:
		return dg.validityFailure(a, groups)
	case code == kisi.CodeAccessNotAllowedNow:
		why = "a time restriction (opening hours) of the door or its group did not include that time, so the app showed “Restricted”."
		if gs := dg.restricted(groups, CodeTimeRestriction); len(gs) > 0 {
			why = fmt.Sprintf("the time restriction (opening hours) of %s did not include that time, so the app showed “Restricted”.", strings.Join(gs, " and "))
		}
		return "access not allowed at this moment — " + why, remedyTimeRestrict
	case code == kisi.CodeAccessDisabled:
		return "access disabled — the Kisi user's access is switched off (access_enabled is false).", remedyAccessDisabled
	case code == kisi.CodeAppsNotIncluded:
		return "the group's access rights do not include apps — app access is turned off for the group.", remedyAppAccess
	case code == kisi.CodeNotPrimaryDevice:
		return "the phone is not the member's primary device, and the group allows only the primary one.", remedyPrimaryDevice
	case slices.Contains(codesGeofence, code):
		return "Kisi could not confirm that the phone was at the place (geofence restriction): the app showed “Unable to detect your location”.", remedyLocation
	case slices.Contains(codesLocation, code):
		return "the app may not use the phone's location, which the geofence restriction needs: the app showed “Unable to detect your location”.", remedyLocation
	case code == kisi.CodeNotCloseEnough:
		return "the phone was not close enough to the Kisi reader (reader restriction).", remedyReader
	case slices.Contains(codesBluetooth, code):
		return "the phone found no Kisi reader over Bluetooth (Bluetooth off or not allowed for the app).",
			"Ask the member to turn Bluetooth on and allow the app to use it."
	case code == kisi.CodeInAppAccessDisabled:
		return "in-app unlocking is disabled for the group (tap-to-access restriction): the member must tap the phone on the reader.", remedyTapToAccess
	case code == kisi.CodeDoorLockedDown:
		return "the door was locked down.", remedyLockdown
	case code == kisi.CodePlaceLockedDown:
		return "the place was locked down.", remedyLockdown
	case slices.Contains(codesHardware, code):
		return "a problem of the door's hardware (" + code.Description() + "), not of the member's access.",
			"Check the door's controller and reader in the Kisi dashboard; contact Kisi support if it persists."
	case slices.Contains(codesDenied, code):
		return "Kisi found no valid access right of the member for this door.",
			"See the role findings: run a sync, and make sure the platform gives access to a group holding this door."
	}
	switch {
	case code == "":
		why = "Kisi gave no reason."
	case code.LikelyCause() != "":
		why = "most likely " + code.LikelyCause() + "."
	case code.Description() != "":
		why = textfmt.LowerFirst(code.Description()) + "."
	default:
		why = "an error code Kisi does not document."
	}
	return why, "Look the event up in the Kisi dashboard's Event History for details."
}

// validityFailure explains an attempt refused because the member's role was
// not yet or no longer valid, from the platform's windows around it.
func (dg *diagnoser) validityFailure(a UnlockAttempt, groups []int64) (why, remedy string) {
	loc := dg.d.loc
	early := a.ErrorCode == kisi.CodeAccessNotYetValid
	cur, next, prev := dg.windowAround(a.At, groups)
	switch {
	case cur != nil && early:
		return fmt.Sprintf("Kisi said access was not yet valid, although the platform gave access then (%s): Kisi's role was out of date.", textfmt.Validity(cur.Interval, loc)), remedyResync
	case cur != nil:
		return fmt.Sprintf("Kisi said access was no longer valid, although the platform gave access then (%s): Kisi's role was out of date.", textfmt.Validity(cur.Interval, loc)), remedyResync
	case early && next != nil:
		why = fmt.Sprintf("access not yet valid — the %s for %s opens at %s.", next.noun(), dg.group(next), textfmt.ClockOrTime(next.Start, a.At, loc))
		remedy = fmt.Sprintf("Nothing is broken: Kisi opens the door from %s.", textfmt.Time(next.Start, loc))
		if n := next.noun(); n == "booking window" || n == "assignment window" {
			remedy += " To let members in earlier, raise the buffer before bookings."
		}
		return why, remedy
	case early:
		return "access not yet valid — the member's role in this door's group starts later, and the platform gives no access in the coming week.",
			"Check the member's plan or booking on the platform."
	case prev != nil:
		why = fmt.Sprintf("access no longer valid — the %s for %s closed at %s.", prev.noun(), dg.group(prev), textfmt.ClockOrTime(prev.End, a.At, loc))
	default:
		why = "access no longer valid — the member's role in this door's group has expired."
	}
	return why, "If the member should still have access, extend the booking or plan on the platform; the sync updates Kisi."
}

// String renders the diagnosis for a support person: the findings, most
// serious first, each with its remedy; Kisi's side; the recent unlock
// attempts; and the platform's explanation.
func (d *Diagnosis) String() string {
	if d == nil {
		return "No diagnosis.\n"
	}
	loc := d.loc
	if loc == nil {
		loc = textfmt.Zone(d.Zone)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Diagnosis of member %s at %s\n\nFindings:\n", textfmt.MemberLabel(d.MemberID, d.Name, d.Email), textfmt.Time(d.At, loc))
	writeFindings(&b, d.Findings)

	d.writeKisi(&b, loc)
	if len(d.Attempts) > 0 {
		b.WriteString("\nRecent unlock attempts, newest first:\n")
		width := 0
		for _, a := range d.Attempts {
			width = max(width, len(a.Lock))
		}
		for _, a := range d.Attempts {
			result := "ok"
			if !a.Success {
				result = "failed " + cmp.Or(string(a.ErrorCode), "(no code)")
			}
			fmt.Fprintf(&b, "  %s  %-*s  %s\n", textfmt.Time(a.At, loc), width, a.Lock, result)
		}
	}
	b.WriteString("\nPlatform:\n")
	for line := range strings.SplitSeq(strings.TrimRight(d.Platform.String(), "\n"), "\n") {
		fmt.Fprintf(&b, "  %s\n", line)
	}
	return b.String()
}

// writeKisi renders Kisi's side of the diagnosis: the API key, the user and
// the groups with the user's roles.
func (d *Diagnosis) writeKisi(b *strings.Builder, loc *time.Location) {
	b.WriteString("\nKisi:\n")
	if d.Key != nil {
		role := "no organization role"
		if len(d.Key.Roles) > 0 {
			role = strings.Join(d.Key.Roles, ", ")
		}
		fmt.Fprintf(b, "  API key  %s (user %d), %s\n", d.Key.Email, d.Key.UserID, role)
	}
	if u := d.User; u != nil {
		state := []string{"unconfirmed"}
		switch {
		case u.Confirmed:
			state[0] = "confirmed"
		case u.Status == kisi.UserStatusUnknown.String():
			state[0] = "confirmation unknown"
		}
		if u.AccessEnabled {
			state = append(state, "access enabled")
		} else {
			state = append(state, "access disabled")
		}
		if u.CreatedBySDK {
			state = append(state, "created by this SDK")
		}
		fmt.Fprintf(b, "  User     %s (user %d), %s\n", u.Email, u.ID, strings.Join(state, ", "))
	} else if d.Email != "" && d.Key != nil {
		fmt.Fprintf(b, "  User     no Kisi user with %s\n", d.Email)
	}
	for _, g := range d.Groups {
		if !g.Exists {
			fmt.Fprintf(b, "  Group    %d: missing in Kisi\n", g.GroupID)
			continue
		}
		want := "platform: no access now"
		switch {
		case g.Allowed:
			want = "platform: access " + textfmt.Validity(*g.Slot, loc)
		case g.Slot != nil:
			want = "platform: access from " + textfmt.Time(g.Slot.Start, loc)
		}
		fmt.Fprintf(b, "  Group    %d %q: %s; %s\n", g.GroupID, g.Name, textfmt.Plural(g.Doors, "door", "doors"), want)
		for _, r := range g.Roles {
			state := "not valid now"
			if r.ValidNow {
				state = "valid now"
			}
			owner := "not managed here"
			if r.Managed {
				owner = "managed"
			}
			fmt.Fprintf(b, "           role %d %s, %s, %s, %s\n", r.ID, r.RoleID, textfmt.Validity(r.Window, loc), owner, state)
		}
	}
}
