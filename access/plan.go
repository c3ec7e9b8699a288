package access

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// Plan is the dry run: it computes the [Changes] that Apply would make,
// from the snapshot, the Store and the clock, and writes nothing. It reads
// Kisi only to look up pending intents (creates whose outcome is unknown);
// when nothing is pending it makes no Kisi request at all.
//
// Records of the snapshot that Desired rejects are listed in
// Changes.Skipped; every valid record is planned. err is non-nil only when
// nothing can be planned (the Store fails, or the mapping is invalid).
//
// Unlike Sync, Plan also shows the grants a role this SDK does not manage
// would block (Kisi holds one role per user and group): it lists the roles
// of each group that gets new grants, ⌈n/250⌉ requests per such group for n
// roles in it. Such a grant is listed in Changes.Conflicts instead of being
// planned; with [WithExclusiveGroups], or when the role is one this SDK's
// own user holds, the grant is planned to replace it.
func (r *Reconciler) Plan(ctx context.Context, s Snapshot) (*Changes, error) {
	c, recs, err := r.plan(ctx, s)
	if err != nil {
		return c, err
	}
	// Only a plan kept for a later Apply needs its Store's fingerprint
	// (Sync applies what it planned under the same lease).
	c.Base = fingerprint(r.o.org, recs)
	if err := r.blocked(ctx, c, recs); err != nil {
		if classify(err) == FailureSystemic {
			return c, &SystemicError{Organization: r.o.org, Err: err, Advice: advice(err), NotAttempted: len(c.Changes)}
		}
		return c, err
	}
	return c, nil
}

// blocked moves out of c the grant creates that a role this SDK does not
// manage blocks, or notes that they will replace it.
func (r *Reconciler) blocked(ctx context.Context, c *Changes, recs []state.Record) error {
	if !slices.ContainsFunc(c.Changes, func(ch Change) bool { return ch.Action == ActionCreate && ch.Object == ObjectGrant }) {
		return nil
	}
	owned := make(map[int64]bool) // Kisi ids of the roles the Store records
	users := make(map[string]state.Record)
	for _, rec := range recs {
		switch rec.Kind {
		case state.KindRole:
			owned[rec.KisiID] = true
		case state.KindUser:
			users[rec.Email] = rec
		}
	}
	holders := make(map[int64]map[string]*kisi.RoleAssignment) // group → email → role
	out := c.Changes[:0]
	for _, ch := range c.Changes {
		if ch.Action != ActionCreate || ch.Object != ObjectGrant {
			out = append(out, ch)
			continue
		}
		byEmail, ok := holders[ch.GroupID]
		if !ok {
			roles, err := kisi.All(ctx, r.k.ListRoleAssignments, &kisi.RoleAssignmentListOptions{
				AppliesToType: kisi.ScopeGroup, AppliesToID: ch.GroupID})
			if err != nil {
				return fmt.Errorf("access: list roles of group %d: %w", ch.GroupID, err)
			}
			byEmail = make(map[string]*kisi.RoleAssignment)
			for _, ra := range roles {
				if ra.Assignee == nil || owned[ra.ID] {
					continue
				}
				if email, err := NormalizeEmail(ra.Assignee.Email); err == nil {
					byEmail[email] = ra
				}
			}
			holders[ch.GroupID] = byEmail
		}
		ra, blocked := byEmail[ch.Email]
		switch {
		case !blocked:
		case users[ch.Email].Created:
			ch.Reason += fmt.Sprintf("; replaces role %d left by kisisync", ra.ID)
		case r.o.exclusive:
			ch.Reason += fmt.Sprintf("; replaces hand-made role %d (exclusive groups)", ra.ID)
		default:
			c.Conflicts = append(c.Conflicts, Conflict{Email: ch.Email, GroupID: ch.GroupID, KisiID: ra.ID, Window: *ch.Window})
			continue
		}
		out = append(out, ch)
	}
	c.Changes = out
	return nil
}

// plan computes the Changes and returns the records they were planned from.
func (r *Reconciler) plan(ctx context.Context, s Snapshot) (*Changes, []state.Record, error) {
	now := r.o.clock.Now()
	// The snapshot is validated once; Desired, Links and NextChange share
	// the result, which they only read. NextChange looks days ahead:
	// compute it alongside.
	type next struct {
		t  time.Time
		ok bool
	}
	nextc := make(chan next, 1)
	perr := r.p.Validate()
	var e *engine
	var ix *index
	var errs []error
	var col *edges
	var inc *desiredOut
	if perr == nil && r.incremental {
		// Compute again only what the changes since the last plan touch
		// (see incremental.go), or else in full and keep that.
		if c := r.compiled.Swap(nil); c != nil {
			if out, ok := c.update(&s, now); ok {
				inc = &out
				nextc <- next{out.next, out.nextOK}
				r.compiled.Store(c)
			}
		}
		if inc == nil {
			col = &edges{}
		}
	}
	switch {
	case perr == nil && inc == nil:
		// One engine gives the grants of Desired and the links of Links;
		// the records Links rejects are among those Desired rejects.
		// Only the weekly rules depend on the horizon: NextChange starts
		// from a copy of the other records' pieces.
		ix = newIndex(&s, r.m, r.p)
		errs = slices.Clone(ix.errs)
		e = engineOn(ix, r.m, r.p, leadHorizon(now, r.p), -1)
		e.errs = &errs
		e.follow = true
		e.generateFixed()
		fixed := &engine{pieces: append(make([]piece, 0, len(e.pieces)+4*len(s.Assignments)), e.pieces...), dropIns: e.dropIns}
		go func() {
			t, ok := nextChange(ix, r.m, r.p, now, fixed, col)
			nextc <- next{t, ok}
		}()
	case perr != nil:
		nextc <- next{}
	}
	recs, err := r.load(ctx)
	if err != nil {
		<-nextc
		return nil, nil, err
	}
	if perr != nil {
		<-nextc
		return nil, nil, fmt.Errorf("access: desired access: %w", fmt.Errorf("access: %w", perr))
	}
	var grants []Grant
	var links []Link
	if inc != nil {
		grants, links, errs = inc.grants, inc.links, inc.errs
	} else {
		e.admitAssignments()
		grants = e.merge(true)
		links = e.links(now)
	}
	skipped, err := splitRecordErrors(errors.Join(errs...))
	if err != nil {
		<-nextc
		return nil, nil, fmt.Errorf("access: desired access: %w", err)
	}
	skipped = mergeSkipped(skipped, nil)

	res := make(map[string]resolution)
	waits := map[string]time.Time{} // pending intents whose lookup failed, until its back-off ends
	for _, rec := range recs {
		if rec.Kind == state.KindPark && rec.Class == FailureUnknown && rec.State == state.StatePending && now.Before(rec.RetryAt) {
			waits[strings.TrimPrefix(rec.Key, "park/")] = rec.RetryAt
		}
	}
	for _, rec := range recs {
		if rec.State != state.StatePending || (rec.Kind != state.KindRole && rec.Kind != state.KindLink) {
			continue
		}
		if retry, ok := waits[rec.Key]; ok {
			// Looked up in vain before: its lookup backs off.
			res[rec.Key] = resolution{retry: retry}
			continue
		}
		res[rec.Key] = r.resolve(ctx, rec)
	}

	c := diff(diffInput{now: now, lead: r.p.Lead, hold: r.holding(now, s), recs: recs, grants: grants, links: links,
		res: res, snap: &snapIndex{s: &s, m: r.m, p: r.p, skipped: skipped}, mappingFP: r.mappingFP,
		notify: r.o.notifier != nil, linkWarn: r.o.linkWarn, keepParks: r.o.maxBackoff})
	c.Organization = r.o.org
	for i := range c.Changes {
		c.Changes[i].GroupName = r.o.groupNames[c.Changes[i].GroupID]
	}
	c.Skipped = skipped
	c.GroupLocations = r.groupLocations(s)
	r.markHeld(c, recs)
	c.loc = r.location(s)
	c.Location = c.loc.String()
	nx := <-nextc
	if col != nil {
		r.compiled.Store(compile(ix, r.m, r.p, now, grants, links, errs, col))
	}
	if nx.ok {
		c.NextRun = nx.t
	}
	for _, t := range []time.Time{c.renewals, c.retries} {
		if !t.IsZero() {
			c.NextRun = earliest(c.NextRun, t)
		}
	}
	return c, recs, nil
}

// splitRecordErrors separates record errors (reported, not fatal) from any
// other error.
func splitRecordErrors(err error) ([]*RecordError, error) {
	if err == nil {
		return nil, nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var msgs []*RecordError
	var fatal []error
	for _, e := range errs {
		var re *RecordError
		if errors.As(e, &re) {
			msgs = append(msgs, re)
			continue
		}
		fatal = append(fatal, e)
	}
	return msgs, errors.Join(fatal...)
}

func mergeSkipped(a, b []*RecordError) []*RecordError {
	out := append(slices.Clone(a), b...)
	slices.SortFunc(out, func(x, y *RecordError) int { return strings.Compare(x.Error(), y.Error()) })
	return slices.CompactFunc(out, func(x, y *RecordError) bool { return x.Error() == y.Error() })
}

func memberIndex(s Snapshot) map[string]Member {
	m := make(map[string]Member, len(s.Members))
	for _, mem := range s.Members {
		m[mem.ID] = mem
	}
	return m
}

// resolution is what Plan found in Kisi for a pending intent.
type resolution struct {
	err    error     // lookup failed: leave the intent pending
	retry  time.Time // not looked up: its back-off runs until then
	found  bool
	kisiID int64
	window schedule.Interval
}

// resolve looks up the object of a pending intent: a role assignment by
// group and assignee, a link by group and email.
func (r *Reconciler) resolve(ctx context.Context, rec state.Record) resolution {
	switch rec.Kind {
	case state.KindRole:
		if rec.UserID == 0 {
			return resolution{}
		}
		roles, err := r.rolesOf(ctx, rec.GroupID, rec.UserID)
		if err != nil {
			return resolution{err: err}
		}
		for _, ra := range roles {
			if ra.RoleID == kisi.RoleGroupBasic && kisiglue.SameWindow(kisiglue.RoleWindow(ra), rec.Window) {
				return resolution{found: true, kisiID: ra.ID, window: rec.Window}
			}
		}
		return resolution{}
	case state.KindLink:
		links, err := r.linksOf(ctx, rec.GroupID, rec.Email)
		if err != nil {
			return resolution{err: err}
		}
		for _, l := range links {
			if linkMatches(l, rec) {
				return resolution{found: true, kisiID: l.ID, window: rec.Window}
			}
		}
		return resolution{}
	}
	return resolution{}
}

func linkMatches(l *kisi.GroupLink, rec state.Record) bool {
	if l.Email == nil || !strings.EqualFold(strings.TrimSpace(*l.Email), rec.Email) {
		return false
	}
	return l.GroupID == rec.GroupID && (l.Name == kisiglue.LinkName(rec.Name, rec.BookingID) || l.Name == rec.Name) &&
		kisiglue.SameWindow(kisiglue.Window(l.ValidFrom, l.ValidUntil), rec.Window)
}

// rolesOf lists the role assignments of one user in one group.
func (r *Reconciler) rolesOf(ctx context.Context, groupID, userID int64) ([]*kisi.RoleAssignment, error) {
	return onceMore(func() ([]*kisi.RoleAssignment, error) {
		return kisi.All(ctx, r.k.ListRoleAssignments, &kisi.RoleAssignmentListOptions{
			AppliesToType: kisi.ScopeGroup, AppliesToID: groupID,
			AssigneeType: kisi.AssigneeUser, AssigneeID: userID,
		})
	})
}

// linksOf lists the links of one group whose text matches email.
func (r *Reconciler) linksOf(ctx context.Context, groupID int64, email string) ([]*kisi.GroupLink, error) {
	return onceMore(func() ([]*kisi.GroupLink, error) {
		return kisi.All(ctx, r.k.ListGroupLinks, &kisi.GroupLinkListOptions{GroupID: groupID, Query: email})
	})
}

// onceMore calls fn, and once more if Kisi answered 500. The client retries
// transport errors, 429 and 502–504 itself and leaves a 500 to its caller;
// the lookups that settle an unknown outcome, and the deletes that revoke
// access, are worth one more try. No retry is stacked on the client's own.
func onceMore[T any](fn func() (T, error)) (T, error) {
	v, err := fn()
	if status(err) == http.StatusInternalServerError {
		v, err = fn()
	}
	return v, err
}

// status is the HTTP status of a Kisi error answer, or 0.
func status(err error) int {
	var ke *kisi.Error
	if errors.As(err, &ke) {
		return ke.StatusCode
	}
	return 0
}
