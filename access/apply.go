package access

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/kisi"
)

// Report is the outcome of [Reconciler.Apply] or [Reconciler.Sync].
type Report struct {
	// Created, Replaced and Deleted count grants and links written to Kisi
	// (a replacement counts once, in Replaced, whether made by delete and
	// create or by PATCH; Deleted includes the cleanup of expired ones, also
	// in Expired).
	Created  int `json:"created"`
	Replaced int `json:"replaced"`
	Deleted  int `json:"deleted"`
	// Failed counts changes that failed; they are retried next run, and the
	// error returned with the Report joins their causes.
	Failed int `json:"failed"`
	// NextRun is the next instant the desired access changes (a window
	// entering its lead time; a window ending, a check-in's day among them;
	// a drop-in link's window ending); zero if none. After a run with
	// failures or unresolved intents it is at most a short delay away (see
	// [WithRetryAfter]).
	NextRun time.Time `json:"next_run,omitzero"`
	// Expired counts grants and links whose window had ended and that were
	// deleted as cleanup (they are also counted in Deleted).
	Expired int `json:"expired"`
	// Adopted and Forgotten count Store corrections for interrupted creates.
	Adopted   int `json:"adopted"`
	Forgotten int `json:"forgotten"`
	// UsersCreated counts Kisi users created; Invitations the grants sent
	// with notify:true (each regular user's one Kisi invitation).
	UsersCreated int `json:"users_created"`
	Invitations  int `json:"invitations"`
	// Conflicts are grants held back by a role this SDK does not manage.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Skipped are the snapshot records that were not synced, one message
	// each; every valid record was.
	Skipped []string `json:"skipped,omitempty"`
	// Unresolved counts pending intents that could not be looked up.
	Unresolved int `json:"unresolved,omitempty"`
	// Links counts the email links managed after the run, against Kisi's
	// limit of [LinkLimit]; LinksNearLimit is set from the warning level of
	// [WithLinkWarning] on.
	Links          int  `json:"links"`
	LinksNearLimit bool `json:"links_near_limit,omitempty"`
	// Held are the cuts of access the revoke guard held back (see
	// [RevokeLimitError]); everything else was applied.
	Held []Change `json:"held,omitempty"`
}

// Notifier is told of each group link the reconciler creates, for hosts
// that send the link or QR code in their own email. The secret is only
// available at creation; a Notifier error is reported and retried on the
// next runs until it succeeds.
type Notifier interface {
	// LinkCreated is called for l once it exists in Kisi. After an error
	// it is called again for the same link (same KisiID) on a later run,
	// so it must tolerate being called more than once.
	LinkCreated(ctx context.Context, l CreatedLink) error
}

// CreatedLink is a group link just created in Kisi, with its credentials.
type CreatedLink struct {
	Link
	// KisiID is the link's ID in Kisi.
	KisiID int64 `json:"kisi_id"`
	// Secret authenticates the link (KISI-GROUP-LINK <secret>).
	Secret string `json:"secret,omitempty"`
	// QRImage is the base64 PNG QR code, when QR was requested.
	QRImage string `json:"qr_image,omitempty"`
}

// deleteAttempts bounds the in-run retries of a revocation: revoking is
// security-relevant, so a transient failure is retried at once.
const deleteAttempts = 4

// Apply makes the changes in Kisi, in order, under the Store's lease, and
// records every side effect in the Store as it happens. One failing change
// does not stop the others: failures are counted in the Report, joined into
// the returned error, and retried next run.
//
// Apply returns [ErrStalePlan] if the Store changed since c was planned, a
// *[RevokeLimitError] if c revokes too much and is not approved, and an
// error matching [ErrLeaseHeld] if another run holds the lease.
//
// Apply trusts c only as far as its own Store confirms it, so Changes kept
// as JSON for review are safe to apply: it refuses Changes planned for
// another organization, counts the revocations for the guard itself, and
// fails (and leaves alone) a delete or replacement of any object its Store
// does not record as created by this SDK. A create whose window has ended
// by the time Apply reaches it is skipped.
func (r *Reconciler) Apply(ctx context.Context, c *Changes) (*Report, error) {
	if c == nil {
		return nil, errors.New("access: apply nil changes")
	}
	if c.Organization != r.o.org {
		return nil, fmt.Errorf("access: changes planned for organization %q applied to %q", c.Organization, r.o.org)
	}
	release, recs, err := r.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if fingerprint(r.o.org, recs) != c.Base {
		return nil, ErrStalePlan
	}
	return r.apply(ctx, c, recs)
}

// run is the state of one Apply or Verify: the Store's records as the run
// changes them, and what it did.
type run struct {
	r    *Reconciler
	rep  *Report
	recs map[string]Record
	errs []error
	// tried holds the links whose Notifier was called in this run.
	tried map[string]bool
	// inviting counts, per email, the role intents still pending: one of
	// them may have carried the user's invitation.
	inviting map[string]int
}

func (r *Reconciler) newRun(recs []Record) *run {
	ru := &run{r: r, rep: &Report{}, recs: make(map[string]Record, len(recs)),
		tried: map[string]bool{}, inviting: map[string]int{}}
	for _, rec := range recs {
		ru.track(rec, 1)
		ru.recs[rec.Key] = rec
	}
	return ru
}

// track counts rec in (d = 1) or out of (d = -1) the run's tallies.
func (ru *run) track(rec Record, d int) {
	switch {
	case rec.Kind == KindLink && rec.State == StateSettled && rec.Email != "":
		ru.rep.Links += d
	case rec.Kind == KindRole && rec.State == StatePending:
		ru.inviting[rec.Email] += d
	}
}

func (r *Reconciler) apply(ctx context.Context, c *Changes, recs []Record) (*Report, error) {
	now := r.o.clock.Now()
	ru := r.newRun(recs)
	rep := ru.rep
	rep.NextRun = c.NextRun
	rep.Conflicts = slices.Clone(c.Conflicts)
	rep.Skipped = c.Skipped
	rep.Unresolved = c.Unresolved
	v := r.judge(c, ru.recs, now)
	held := r.holds(c, v)
	for i, ch := range c.Changes {
		if held && cut(ch, ru.recs, now, r.p.Lead) != "" {
			ch.Held = true
			rep.Held = append(rep.Held, ch)
			continue
		}
		err := ctx.Err()
		if err == nil {
			err = ru.renew(ctx)
		}
		if err != nil {
			// Stopped: the rest is left for the next run.
			left := len(c.Changes) - i
			rep.Failed += left
			ru.errs = append(ru.errs, fmt.Errorf("access: run stopped with %d changes left: %w", left, err))
			break
		}
		err = ru.do(ctx, ch)
		r.o.logger.DebugContext(ctx, "access: change", "organization", r.o.org, "action", string(ch.Action),
			"object", string(ch.Object), "group_id", ch.GroupID, "kisi_id", ch.KisiID, "ok", err == nil)
		if err != nil {
			rep.Failed++
			ru.errs = append(ru.errs, fmt.Errorf("access: %s %s %s → group %d: %w", ch.Action, ch.Object, ch.Email, ch.GroupID, err))
			if errors.Is(err, ErrLeaseLost) {
				// Fenced: another run holds the organization now.
				left := len(c.Changes) - i - 1
				rep.Failed += left
				ru.errs = append(ru.errs, fmt.Errorf("access: run stopped with %d changes left: %w", left, ErrLeaseLost))
				break
			}
		}
		if r.o.progress != nil {
			r.o.progress(i+1, len(c.Changes))
		}
	}
	if r.o.notifier != nil {
		ru.retryNotifications(ctx)
	}
	r.finish(rep, now)
	if rep.Failed > 0 || held {
		rep.NextRun = earliest(rep.NextRun, now.Add(r.o.retryAfter))
	}
	r.o.logger.DebugContext(ctx, "access: run applied", "organization", r.o.org, "created", rep.Created,
		"replaced", rep.Replaced, "deleted", rep.Deleted, "failed", rep.Failed, "held", len(rep.Held))
	if held {
		return rep, errors.Join(append([]error{r.limitError(v)}, ru.errs...)...)
	}
	return rep, errors.Join(ru.errs...)
}

func (r *Reconciler) finish(rep *Report, now time.Time) {
	rep.LinksNearLimit = rep.Links >= r.o.linkWarn
	if rep.Unresolved > 0 {
		rep.NextRun = earliest(rep.NextRun, now.Add(r.o.retryAfter))
	}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// renew extends the lease once a third of it has passed since it was
// taken or last renewed (planning included), before the run writes again.
func (ru *run) renew(ctx context.Context) error {
	if ru.r.o.clock.Now().Sub(time.Unix(0, ru.r.leased.Load())) < ru.r.o.leaseTTL/3 {
		return nil
	}
	if err := ru.r.renew(ctx); err != nil {
		if errors.Is(err, ErrLeaseHeld) {
			err = fmt.Errorf("%w: %w", ErrLeaseLost, err)
		}
		return fmt.Errorf("access: renew lease of %q: %w", ru.r.o.org, err)
	}
	return nil
}

// created counts a create; a replacement counts once, in Replaced, however
// it is made.
func (ru *run) created(ch Change) {
	if ch.Action == ActionCreate {
		ru.rep.Created++
	}
}

func (ru *run) put(ctx context.Context, rec Record) error {
	rec.Updated = ru.r.o.clock.Now()
	if err := ru.r.st.Put(ctx, ru.r.o.org, ru.r.token.Load(), rec); err != nil {
		return fmt.Errorf("store %s: %w", rec.Key, err)
	}
	if old, ok := ru.recs[rec.Key]; ok {
		ru.track(old, -1)
	}
	ru.track(rec, 1)
	ru.recs[rec.Key] = rec
	return nil
}

func (ru *run) del(ctx context.Context, key string) error {
	if err := ru.r.st.Delete(ctx, ru.r.o.org, ru.r.token.Load(), key); err != nil {
		return fmt.Errorf("store delete %s: %w", key, err)
	}
	if old, ok := ru.recs[key]; ok {
		ru.track(old, -1)
	}
	delete(ru.recs, key)
	return nil
}

// check refuses a change its Store does not back: a delete or replacement
// of an object not recorded as created by this SDK (with that Kisi id), an
// adoption without a pending intent, a create over a live record, a forget
// of a live record, a key that does not name the change's object.
func (ru *run) check(ch Change) error {
	var kind RecordKind
	var key string
	switch ch.Object {
	case ObjectGrant:
		kind, key = KindRole, RoleKey(ch.Email, ch.GroupID)
	case ObjectLink:
		kind, key = KindLink, LinkKey(ch.BookingID, ch.GroupID)
	default:
		return fmt.Errorf("unknown object %q", ch.Object)
	}
	if ch.Key != key {
		return fmt.Errorf("key %q does not name this %s (want %q)", ch.Key, ch.Object, key)
	}
	if ch.Window == nil && (ch.Action == ActionCreate || ch.Action == ActionReplace || ch.Action == ActionAdopt) {
		return fmt.Errorf("%s without a window", ch.Action)
	}
	rec, ok := ru.recs[ch.Key]
	if ok && rec.Kind != kind {
		return fmt.Errorf("store record %s is a %s, not a %s", ch.Key, rec.Kind, ch.Object)
	}
	switch ch.Action {
	case ActionDelete, ActionReplace:
		if !ok || rec.State != StateSettled || rec.KisiID != ch.KisiID {
			return fmt.Errorf("%s %d is not recorded as created by kisisync: left alone", ch.Object, ch.KisiID)
		}
	case ActionAdopt:
		if !ok || rec.State != StatePending {
			return fmt.Errorf("no pending intent %s to adopt", ch.Key)
		}
	case ActionCreate:
		if ok && (rec.State == StateSettled || rec.State == StatePending) {
			return fmt.Errorf("%s already recorded (%s): plan again", ch.Key, rec.State)
		}
	case ActionForget:
		// Forgetting a live object would leave it in Kisi for good.
		if ok && rec.State == StateSettled {
			return fmt.Errorf("%s %d is in Kisi: not forgotten", ch.Object, rec.KisiID)
		}
	}
	return nil
}

func (ru *run) do(ctx context.Context, ch Change) error {
	if err := ru.check(ch); err != nil {
		return err
	}
	switch ch.Action {
	case ActionAdopt:
		rec := ru.recs[ch.Key]
		rec.State, rec.KisiID, rec.Window = StateSettled, ch.KisiID, *ch.Window
		if err := ru.put(ctx, rec); err != nil {
			return err
		}
		ru.rep.Adopted++
		// The adopted grant carried the invitation if one was due.
		if user, ok := ru.recs[UserKey(rec.Email)]; ok && rec.Kind == KindRole && !user.Invited {
			user.Invited = true
			return ru.put(ctx, user)
		}
		return nil
	case ActionForget:
		if err := ru.del(ctx, ch.Key); err != nil {
			return err
		}
		ru.rep.Forgotten++
		return nil
	case ActionDelete:
		if err := ru.remove(ctx, ch); err != nil {
			return err
		}
		ru.rep.Deleted++
		if ch.Expired {
			ru.rep.Expired++
		}
		return nil
	case ActionReplace:
		if ch.Object == ObjectGrant {
			done, err := ru.patch(ctx, ch)
			if err != nil {
				return err
			}
			if done {
				ru.rep.Replaced++
				return nil
			}
		}
		if err := ru.remove(ctx, ch); err != nil {
			return err
		}
		if err := ru.create(ctx, ch); err != nil {
			return err
		}
		ru.rep.Replaced++
		return nil
	case ActionCreate:
		if err := ru.create(ctx, ch); err != nil {
			return err
		}
		return nil
	}
	return fmt.Errorf("unknown action %q", ch.Action)
}

func (ru *run) create(ctx context.Context, ch Change) error {
	if ended(*ch.Window, ru.r.o.clock.Now()) {
		// The clock moved past the window since Plan: nothing to grant.
		ru.r.o.logger.DebugContext(ctx, "access: window ended before apply; not created", "organization", ru.r.o.org,
			"object", string(ch.Object), "group_id", ch.GroupID)
		return nil
	}
	if ch.Object == ObjectLink {
		return ru.createLink(ctx, ch)
	}
	return ru.createGrant(ctx, ch)
}

// remove deletes the Kisi object of ch and its record. A 404 means it is
// already gone.
func (ru *run) remove(ctx context.Context, ch Change) error {
	del := ru.r.k.DeleteRoleAssignment
	if ch.Object == ObjectLink {
		del = ru.r.k.DeleteGroupLink
	}
	if ch.KisiID != 0 {
		var err error
		for range deleteAttempts {
			_, err = del(ctx, ch.KisiID)
			if err == nil || errors.Is(err, kisi.ErrNotFound) || definite(err) || ctx.Err() != nil {
				break
			}
		}
		if err != nil && !errors.Is(err, kisi.ErrNotFound) {
			return err
		}
	}
	return ru.del(ctx, ch.Key)
}

// definite reports whether err is a Kisi answer that says the request was
// refused and not applied (a 4xx other than 429).
func definite(err error) bool {
	if errors.Is(err, kisi.ErrMaybeApplied) {
		return false
	}
	var ke *kisi.Error
	return errors.As(err, &ke) && ke.StatusCode >= 400 && ke.StatusCode < 500 && ke.StatusCode != 429
}

// patch changes a role's window in place when enabled and still trusted.
// It reports whether the replacement is done.
func (ru *run) patch(ctx context.Context, ch Change) (bool, error) {
	r := ru.r
	if !r.o.patch || r.patchBroken.Load() || openEnded(ch.Window.End) || ch.KisiID == 0 {
		return false, nil
	}
	rec, ok := ru.recs[ch.Key]
	if !ok || rec.UserID == 0 || rec.State != StateSettled {
		return false, nil
	}
	from, until := toKisi(*ch.Window)
	if _, err := r.k.UpdateRoleAssignment(ctx, ch.KisiID, &kisi.RoleAssignmentUpdateRequest{Validity: &kisi.Validity{From: from, Until: until}}); err != nil {
		if errors.Is(err, kisi.ErrNotFound) || errors.Is(err, kisi.ErrValidation) {
			r.patchBroken.Store(errors.Is(err, kisi.ErrValidation))
			return false, nil
		}
		return false, err
	}
	roles, err := r.rolesOf(ctx, ch.GroupID, rec.UserID)
	if err != nil {
		return false, fmt.Errorf("read back patched window: %w", err)
	}
	for _, ra := range roles {
		if ra.ID == ch.KisiID && sameWindow(kisiWindow(ra.ValidFrom, ra.ValidUntil), *ch.Window) {
			rec.Window, rec.Sources, rec.MemberID = *ch.Window, ch.Sources, ch.MemberID
			return true, ru.put(ctx, rec)
		}
	}
	r.patchBroken.Store(true)
	r.o.logger.DebugContext(ctx, "access: window PATCH did not hold; using delete and create", "organization", r.o.org)
	return false, nil
}

func (ru *run) createGrant(ctx context.Context, ch Change) error {
	user, err := ru.ensureUser(ctx, ch)
	if err != nil {
		return err
	}
	// Kisi's one invitation rides on the user's first grant; while a grant
	// whose outcome is unknown may have carried it, no other does.
	notify := !user.Managed && !user.Invited && ru.inviting[ch.Email] == 0
	intent := Record{Key: ch.Key, Kind: KindRole, State: StatePending, Email: ch.Email, MemberID: ch.MemberID,
		GroupID: ch.GroupID, UserID: user.KisiID, Window: *ch.Window, Sources: ch.Sources}
	if err := ru.put(ctx, intent); err != nil {
		return err
	}
	from, until := toKisi(*ch.Window)
	ra, _, err := ru.r.k.CreateRoleAssignment(ctx, &kisi.RoleAssignmentCreateRequest{
		RoleID: RoleID, AppliesToType: "Group", AppliesToID: ch.GroupID,
		AssigneeType: "User", AssigneeID: user.KisiID, Notify: notify, ValidFrom: from, ValidUntil: until,
	})
	if err != nil {
		return ru.createFailed(ctx, ch, intent, err)
	}
	intent.State, intent.KisiID = StateSettled, ra.ID
	if err := ru.put(ctx, intent); err != nil {
		return err
	}
	ru.created(ch)
	if notify {
		ru.rep.Invitations++
		user.Invited = true
		if err := ru.put(ctx, user); err != nil {
			return err
		}
	}
	return nil
}

// createFailed settles an intent after a failed create of a role.
func (ru *run) createFailed(ctx context.Context, ch Change, intent Record, cause error) error {
	if !definite(cause) {
		// Outcome unknown: the intent stays pending and is looked up next run.
		return cause
	}
	if errors.Is(cause, kisi.ErrValidation) {
		// Kisi holds one role per user and group: is it someone else's?
		roles, err := ru.r.rolesOf(ctx, ch.GroupID, intent.UserID)
		if err != nil {
			return errors.Join(cause, fmt.Errorf("look up existing role: %w", err))
		}
		for _, ra := range roles {
			if ra.RoleID == RoleID && sameWindow(kisiWindow(ra.ValidFrom, ra.ValidUntil), intent.Window) {
				intent.State, intent.KisiID = StateSettled, ra.ID
				ru.rep.Adopted++
				return ru.put(ctx, intent)
			}
		}
		if len(roles) > 0 {
			intent.State, intent.KisiID = StateConflict, roles[0].ID
			ru.rep.Conflicts = append(ru.rep.Conflicts, Conflict{Email: ch.Email, GroupID: ch.GroupID, KisiID: roles[0].ID, Window: intent.Window})
			return ru.put(ctx, intent)
		}
	}
	if errors.Is(cause, kisi.ErrNotFound) {
		// The user may have been deleted in Kisi: look it up again next run.
		if err := ru.del(ctx, UserKey(ch.Email)); err != nil {
			return errors.Join(cause, err)
		}
	}
	if err := ru.del(ctx, intent.Key); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// ensureUser returns the user record of ch.Email: from the Store, else
// found in Kisi by email, else created.
func (ru *run) ensureUser(ctx context.Context, ch Change) (Record, error) {
	key := UserKey(ch.Email)
	if rec, ok := ru.recs[key]; ok && rec.KisiID != 0 {
		return rec, nil
	}
	r := ru.r
	users, _, err := r.k.ListUsers(ctx, &kisi.UserListOptions{Email: ch.Email, ListOptions: kisi.ListOptions{Limit: userPageSize}})
	if err != nil {
		return Record{}, fmt.Errorf("find user: %w", err)
	}
	for _, u := range users {
		if !strings.EqualFold(strings.TrimSpace(u.Email), ch.Email) {
			continue
		}
		created := markedByUs(u)
		rec := Record{Key: key, Kind: KindUser, KisiID: u.ID, Email: ch.Email, MemberID: ch.MemberID,
			Created: created, Managed: ch.Managed, Confirmed: u.Confirmed,
			// A user someone else created already had Kisi's invitation.
			Invited: ch.Managed || !created || u.Confirmed}
		return rec, ru.put(ctx, rec)
	}
	req := &kisi.UserCreateRequest{Email: ch.Email, Name: ch.Name, Metadata: map[string]any{MetadataKey: MetadataValue}}
	if ch.Managed {
		req.SendEmails, req.Confirm = kisi.Ptr(false), kisi.Ptr(true)
	}
	u, _, err := r.k.CreateUser(ctx, req)
	if err != nil {
		// A lost response is found by the lookup of the next run.
		return Record{}, fmt.Errorf("create user: %w", err)
	}
	ru.rep.UsersCreated++
	rec := Record{Key: key, Kind: KindUser, KisiID: u.ID, Email: ch.Email, MemberID: ch.MemberID,
		Created: true, Managed: ch.Managed, Invited: ch.Managed, Confirmed: u.Confirmed}
	return rec, ru.put(ctx, rec)
}

func markedByUs(u *kisi.User) bool {
	v, ok := u.Metadata[MetadataKey]
	return ok && fmt.Sprint(v) == MetadataValue
}

func (ru *run) createLink(ctx context.Context, ch Change) error {
	intent := Record{Key: ch.Key, Kind: KindLink, State: StatePending, Email: ch.Email, GroupID: ch.GroupID,
		BookingID: ch.BookingID, Name: ch.Name, SendLink: ch.SendLink, QR: ch.QR, Window: *ch.Window, Sources: ch.Sources}
	if err := ru.put(ctx, intent); err != nil {
		return err
	}
	from, until := toKisi(*ch.Window)
	req := &kisi.GroupLinkCreateRequest{GroupID: ch.GroupID, Name: ch.Name, LinkEnabled: kisi.Ptr(ch.SendLink),
		ValidFrom: from, ValidUntil: until}
	if ch.Email != "" {
		req.Email = kisi.Ptr(ch.Email)
	}
	if ch.QR {
		req.QuickResponseCodeType = kisi.Ptr("online")
	}
	l, _, err := ru.r.k.CreateGroupLink(ctx, req)
	if err != nil {
		if definite(err) {
			if derr := ru.del(ctx, intent.Key); derr != nil {
				return errors.Join(err, derr)
			}
		}
		return err
	}
	intent.State, intent.KisiID = StateSettled, l.ID
	created := CreatedLink{Link: Link{BookingID: ch.BookingID, GroupID: ch.GroupID, Name: ch.Name, Email: ch.Email,
		Window: *ch.Window, SendLink: ch.SendLink, QR: ch.QR}, KisiID: l.ID}
	if l.Secret != nil {
		created.Secret = *l.Secret
	}
	if l.QuickResponseCodeImage != nil {
		created.QRImage = *l.QuickResponseCodeImage
	}
	if ru.r.o.notifier != nil {
		// Kept until the Notifier accepts it, so a failed notification can
		// be retried; dropped after.
		intent.Secret, intent.QRImage = created.Secret, created.QRImage
	}
	if err := ru.put(ctx, intent); err != nil {
		return err
	}
	ru.created(ch)
	if ru.r.o.notifier != nil {
		return ru.notify(ctx, intent, created)
	}
	return nil
}

func (ru *run) notify(ctx context.Context, rec Record, l CreatedLink) error {
	ru.tried[rec.Key] = true
	if err := ru.r.o.notifier.LinkCreated(ctx, l); err != nil {
		return fmt.Errorf("notify link %d: %w", rec.KisiID, err)
	}
	rec.Notified, rec.Secret, rec.QRImage = true, "", ""
	return ru.put(ctx, rec)
}

// retryNotifications retries links whose Notifier call failed earlier.
func (ru *run) retryNotifications(ctx context.Context) {
	keys := slices.Sorted(maps.Keys(ru.recs))
	for _, key := range keys {
		rec := ru.recs[key]
		if rec.Kind != KindLink || rec.State != StateSettled || rec.Notified || ru.tried[key] ||
			rec.Secret == "" && rec.QRImage == "" {
			continue
		}
		l := CreatedLink{Link: Link{BookingID: rec.BookingID, GroupID: rec.GroupID, Name: rec.Name, Email: rec.Email,
			Window: rec.Window, SendLink: rec.SendLink, QR: rec.QR}, KisiID: rec.KisiID, Secret: rec.Secret, QRImage: rec.QRImage}
		if err := ru.notify(ctx, rec, l); err != nil {
			ru.rep.Failed++
			ru.errs = append(ru.errs, fmt.Errorf("access: %w", err))
		}
	}
}
