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
	// (Deleted includes the cleanup of expired ones, also in Expired).
	Created  int `json:"created"`
	Replaced int `json:"replaced"`
	Deleted  int `json:"deleted"`
	// Failed counts changes that failed; they are retried next run, and the
	// error returned with the Report joins their causes.
	Failed int `json:"failed"`
	// NextRun is the next instant the desired access changes (a window
	// entering its lead time, a window ending); zero if none. After a run
	// with failures or unresolved intents it is at most a short delay away
	// (see [WithRetryAfter]).
	NextRun time.Time `json:"next_run,omitzero"`

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
	// Held is set when the revoke guard stopped the run; nothing was applied.
	Held bool `json:"held,omitempty"`
}

// RevokeLimitError is returned by Apply and Sync when the changes revoke
// more grants and links than the revoke limit allows (see
// [WithRevokeLimit]); nothing was applied. Review the plan, then call
// [Changes.Approve] and Apply it.
type RevokeLimitError struct {
	Organization string  `json:"organization"`
	Revocations  int     `json:"revocations"`
	Managed      int     `json:"managed"`
	Limit        float64 `json:"limit"`
	Floor        int     `json:"floor"`
}

// Error implements error.
func (e *RevokeLimitError) Error() string {
	return fmt.Sprintf("access: plan for %q revokes %d of %d managed grants and links, above the limit of %.0f%% (and %d): not applied; "+
		"an empty or truncated snapshot would lock people out, so approve the changes to apply them",
		e.Organization, e.Revocations, e.Managed, e.Limit*100, e.Floor)
}

// Notifier is told of each group link the reconciler creates, for hosts
// that send the link or QR code in their own email. The secret is only
// available at creation; a Notifier error is reported and retried on the
// next runs until it succeeds.
type Notifier interface {
	LinkCreated(ctx context.Context, l CreatedLink) error
}

// CreatedLink is a group link just created in Kisi, with its credentials.
type CreatedLink struct {
	Link
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
func (r *Reconciler) Apply(ctx context.Context, c *Changes) (*Report, error) {
	if c == nil {
		return nil, errors.New("access: apply nil changes")
	}
	if c.Organization != "" && c.Organization != r.o.org {
		return nil, fmt.Errorf("access: changes for organization %q applied to %q", c.Organization, r.o.org)
	}
	release, err := r.lease(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	recs, err := r.st.Load(ctx, r.o.org)
	if err != nil {
		return nil, fmt.Errorf("access: load store of %q: %w", r.o.org, err)
	}
	if fingerprint(recs) != c.Base {
		return nil, ErrStalePlan
	}
	return r.apply(ctx, c)
}

// run is the state of one Apply.
type run struct {
	r       *Reconciler
	rep     *Report
	recs    map[string]Record
	renewed time.Time
	errs    []error
	// tried holds the links whose Notifier was called in this run.
	tried map[string]bool
}

func (r *Reconciler) apply(ctx context.Context, c *Changes) (*Report, error) {
	now := r.o.clock.Now()
	rep := &Report{
		NextRun:    c.NextRun,
		Conflicts:  append([]Conflict(nil), c.Conflicts...),
		Skipped:    c.Skipped,
		Unresolved: c.Unresolved,
	}
	recs, err := r.st.Load(ctx, r.o.org)
	if err != nil {
		return rep, fmt.Errorf("access: load store of %q: %w", r.o.org, err)
	}
	ru := &run{r: r, rep: rep, recs: make(map[string]Record, len(recs)), renewed: now, tried: map[string]bool{}}
	for _, rec := range recs {
		ru.recs[rec.Key] = rec
		if rec.Kind == KindLink && rec.State == StateSettled && rec.Email != "" {
			rep.Links++
		}
	}
	if r.guardTrips(c) {
		rep.Held = true
		r.finish(rep, now)
		return rep, &RevokeLimitError{Organization: r.o.org, Revocations: c.Revocations, Managed: c.Managed,
			Limit: r.o.revokeLimit, Floor: r.o.revokeFloor}
	}
	for i, ch := range c.Changes {
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
		}
	}
	if r.o.notifier != nil {
		ru.retryNotifications(ctx)
	}
	r.finish(rep, now)
	if rep.Failed > 0 {
		rep.NextRun = earliest(rep.NextRun, now.Add(r.o.retryAfter))
	}
	r.o.logger.DebugContext(ctx, "access: run applied", "organization", r.o.org, "created", rep.Created,
		"replaced", rep.Replaced, "deleted", rep.Deleted, "failed", rep.Failed)
	return rep, errors.Join(ru.errs...)
}

func (r *Reconciler) guardTrips(c *Changes) bool {
	if c.Approved || r.o.approveAlway || c.Revocations <= r.o.revokeFloor {
		return false
	}
	return float64(c.Revocations) > r.o.revokeLimit*float64(c.Managed)
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

func (ru *run) renew(ctx context.Context) error {
	now := ru.r.o.clock.Now()
	if now.Sub(ru.renewed) < ru.r.o.leaseTTL/3 {
		return nil
	}
	if err := ru.r.renew(ctx); err != nil {
		return fmt.Errorf("access: renew lease of %q: %w", ru.r.o.org, err)
	}
	ru.renewed = now
	return nil
}

func (ru *run) put(ctx context.Context, rec Record) error {
	rec.Updated = ru.r.o.clock.Now()
	if err := ru.r.st.Put(ctx, ru.r.o.org, rec); err != nil {
		return fmt.Errorf("store %s: %w", rec.Key, err)
	}
	ru.recs[rec.Key] = rec
	return nil
}

func (ru *run) del(ctx context.Context, key string) error {
	if err := ru.r.st.Delete(ctx, ru.r.o.org, key); err != nil {
		return fmt.Errorf("store delete %s: %w", key, err)
	}
	delete(ru.recs, key)
	return nil
}

func (ru *run) do(ctx context.Context, ch Change) error {
	switch ch.Action {
	case ActionAdopt:
		rec, ok := ru.recs[ch.Key]
		if !ok {
			return errors.New("adopted record missing from store")
		}
		rec.State, rec.KisiID, rec.Window = StateSettled, ch.KisiID, *ch.Window
		if err := ru.put(ctx, rec); err != nil {
			return err
		}
		ru.rep.Adopted++
		if rec.Kind == KindLink && rec.Email != "" {
			ru.rep.Links++
		}
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
	if ch.Window == nil {
		return errors.New("create without a window")
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
	if rec, ok := ru.recs[ch.Key]; ok && rec.Kind == KindLink && rec.State == StateSettled && rec.Email != "" {
		ru.rep.Links--
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
	if _, err := r.k.UpdateRoleAssignment(ctx, ch.KisiID, &kisi.RoleAssignmentUpdateRequest{ValidFrom: from, ValidUntil: until}); err != nil {
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
	notify := !user.Managed && !user.Invited
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
	ru.rep.Created++
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
	ru.rep.Created++
	if ch.Email != "" {
		ru.rep.Links++
	}
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
