package access

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/internal/times"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// Metadata key and value that mark a Kisi user created by this SDK, so the
// ownership survives a lost Store.
const (
	MetadataKey   = kisiglue.MetadataKey
	MetadataValue = kisiglue.MetadataValue
)

// ErrStalePlan is returned by [Reconciler.Apply] for [Changes] planned from
// a Store that has changed since (another run applied in between): plan
// again.
var ErrStalePlan = errors.New("access: plan is stale, the store changed since it was made")

// Reconciler makes Kisi hold exactly the desired access of one Kisi
// organization. Each run (Sync, or Plan then Apply) is level-triggered and
// idempotent: it compares the desired slots with the Store's record of what
// it manages and writes only the difference.
//
// Create one with [NewReconciler]; the zero value is not usable. A
// Reconciler is safe for concurrent use, but runs (Sync, Apply, Verify)
// of one organization exclude each other through the Store's lease, and
// runs of one Reconciler through the Reconciler itself: a second concurrent
// run fails fast with an error matching [state.ErrLeaseHeld].
//
// "Now" comes from the Reconciler's clock ([WithClock]); every time it
// reports, such as [Report.NextRun], is an instant, and weekly rules are
// read in the wall clock of each [Location]'s time zone. The errors a run
// returns are listed on [Reconciler.Sync] and [Reconciler.Apply].
type Reconciler struct {
	k  KisiAPI
	st Store
	m  mapping.Mapping
	p  Policy
	o  options

	// running is set while a run of this Reconciler holds the lease: runs
	// of one Reconciler share a lease holder, so the Store alone would not
	// keep them apart.
	running atomic.Bool
	// leased is when the running run last took or renewed the lease, by
	// the reconciler's clock: a real clock's reading carries the monotonic
	// clock, so a jump of the wall clock cannot extend a lease.
	leased atomic.Pointer[time.Time]
	// mappingFP fingerprints the mapping: a group parked as missing under
	// another mapping is tried again.
	mappingFP string
	// token is the Store's token of the running run's lease term (0
	// before it is taken); the run's writes are fenced by it.
	token atomic.Int64
}

// NewReconciler returns a Reconciler that writes through k (a *kisi.Client)
// and records what it created in st, for mapping m and policy p. It does no
// I/O. A mapping that [mapping.Mapping.Validate] rejects (a group ID that is
// not positive, a group listed twice for one item, an empty platform ID) is
// an error: a broken mapping must not revoke valid access.
func NewReconciler(k KisiAPI, st Store, m mapping.Mapping, p Policy, opts ...Option) (*Reconciler, error) {
	if k == nil {
		return nil, errors.New("access: nil kisi client")
	}
	if st == nil {
		return nil, errors.New("access: nil store")
	}
	if err := m.Validate(nil); err != nil {
		return nil, fmt.Errorf("access: invalid mapping: %w", err)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.holder == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("access: lease holder id: %w", err)
		}
		o.holder = hex.EncodeToString(b[:])
	}
	return &Reconciler{k: k, st: st, m: m.Clone(), p: p, o: o, mappingFP: mappingFingerprint(m)}, nil
}

// mappingFingerprint summarizes m for the keys of group park records.
func mappingFingerprint(m mapping.Mapping) string {
	b, _ := json.Marshal(m) // maps marshal sorted; a Mapping always marshals
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// Organization returns the organization key the reconciler works under.
func (r *Reconciler) Organization() string { return r.o.org }

// Sync plans and applies in one run under the Store's lease: Plan then
// Apply. The Report is non-nil whenever the run got as far as planning,
// also when err is non-nil. err joins the failed changes (each retried next
// run) and may include a *[RevokeLimitError] (the guard held cuts of
// access; everything else was applied); or it is a *[SystemicError] (the
// run stopped at once) or an error matching [state.ErrLeaseHeld] (another run is
// in progress).
func (r *Reconciler) Sync(ctx context.Context, s Snapshot) (*Report, error) {
	release, err := r.lease(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	c, recs, err := r.plan(ctx, s)
	if err != nil {
		return nil, err
	}
	var drift *Drift
	if interrupted(recs) || len(recs) == 0 {
		// A run stopped in the middle of its writes (a crash, or a stall
		// past its lease), or a Store that knows nothing (new, or lost):
		// Kisi is read before anything is written, so what this SDK made
		// is adopted, not made again.
		var verr error
		drift, verr = r.verify(ctx, recs)
		if errors.Is(verr, state.ErrLeaseLost) {
			return nil, verr
		}
		if verr == nil || classify(verr) != FailureSystemic {
			if c, recs, err = r.plan(ctx, s); err != nil {
				return nil, err
			}
		}
		rep, err := r.applyAfter(ctx, c, recs, verr)
		rep.Adopted += len(drift.Adopted)
		return rep, err
	}
	rep, err := r.apply(ctx, c, recs)
	if drift != nil {
		rep.Adopted += len(drift.Adopted)
	}
	return rep, err
}

// interrupted reports whether recs hold the mark of a run that began
// writing to Kisi and never finished.
func interrupted(recs []state.Record) bool {
	_, found := slices.BinarySearchFunc(recs, runMarkKey, func(rec state.Record, key string) int { return strings.Compare(rec.Key, key) })
	return found // Load returns records sorted by key
}

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

// load reads the organization's records from the Store.
func (r *Reconciler) load(ctx context.Context) ([]state.Record, error) {
	recs, err := r.st.Load(ctx, r.o.org)
	if err != nil {
		return nil, fmt.Errorf("access: load store of %q: %w", r.o.org, err)
	}
	return recs, nil
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
	var errs []error
	if perr == nil {
		// One engine gives the grants of Desired and the links of Links;
		// the records Links rejects are among those Desired rejects.
		// Only the weekly rules depend on the horizon: NextChange starts
		// from a copy of the other records' pieces.
		ix := newIndex(&s, r.m, r.p)
		errs = slices.Clone(ix.errs)
		e = engineOn(ix, r.m, r.p, leadHorizon(now, r.p), -1)
		e.errs = &errs
		e.follow = true
		e.generateFixed()
		fixed := &engine{pieces: append(make([]piece, 0, len(e.pieces)+4*len(s.Assignments)), e.pieces...), dropIns: e.dropIns}
		go func() {
			t, ok := nextChange(ix, r.m, r.p, now, fixed)
			nextc <- next{t, ok}
		}()
	} else {
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
	e.admitAssignments()
	grants := e.merge(true)
	links := e.links(now)
	skipped, err := splitRecordErrors(errors.Join(errs...))
	if err != nil {
		<-nextc
		return nil, nil, fmt.Errorf("access: desired access: %w", err)
	}
	skipped = mergeSkipped(skipped, nil)

	res := make(map[string]resolution)
	for _, rec := range recs {
		if rec.State != state.StatePending || (rec.Kind != state.KindRole && rec.Kind != state.KindLink) {
			continue
		}
		res[rec.Key] = r.resolve(ctx, rec)
	}

	c := diff(diffInput{now: now, lead: r.p.Lead, hold: r.holding(now, s), recs: recs, grants: grants, links: links,
		res: res, snap: &snapIndex{s: &s, skipped: skipped}, mappingFP: r.mappingFP,
		notify: r.o.notifier != nil, linkWarn: r.o.linkWarn})
	c.Organization = r.o.org
	for i := range c.Changes {
		c.Changes[i].GroupName = r.o.groupNames[c.Changes[i].GroupID]
	}
	c.Skipped = skipped
	r.markHeld(c, recs)
	c.Base = fingerprint(r.o.org, recs)
	c.loc = r.location(s)
	c.Location = c.loc.String()
	if n := <-nextc; n.ok {
		c.NextRun = n.t
	}
	for _, t := range []time.Time{c.renewals, c.retries} {
		if !t.IsZero() {
			c.NextRun = earliest(c.NextRun, t)
		}
	}
	return c, recs, nil
}

// holding is how this run bounds the windows Kisi holds: renewals happen in
// the night hours of each group's location — the location of the
// resources or check-ins the mapping sends to it — and for other groups
// (a plan's) of the snapshot's first location (or [WithLocation]'s zone).
func (r *Reconciler) holding(now time.Time, s Snapshot) holding {
	h := holding{now: now, validity: r.p.validity(), loc: r.location(s), zones: map[int64]*time.Location{}}
	zoneOf := make(map[string]*time.Location, len(s.Locations))
	for _, l := range s.Locations {
		if _, seen := zoneOf[l.ID]; !seen {
			zoneOf[l.ID] = ianaZone(l.TimeZone)
		}
	}
	place := func(groups []int64, loc *time.Location) {
		for _, g := range groups {
			if _, ok := h.zones[g]; !ok && loc != nil {
				h.zones[g] = loc
			}
		}
	}
	for _, res := range s.Resources {
		place(r.m.Resources[res.ID], zoneOf[res.LocationID])
	}
	for _, l := range s.Locations {
		place(r.m.Locations[l.ID], zoneOf[l.ID])
	}
	return h
}

// location is the zone Changes are rendered in.
func (r *Reconciler) location(s Snapshot) *time.Location {
	if r.o.loc != nil {
		return r.o.loc
	}
	for _, l := range s.Locations {
		if l.TimeZone == "" {
			continue
		}
		if loc, err := time.LoadLocation(l.TimeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// lease takes the organization's run lease and returns its release. A run
// of this same Reconciler in progress holds it too.
func (r *Reconciler) lease(ctx context.Context) (func(), error) {
	if !r.running.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("%w: a run of this Reconciler for %q has not finished", state.ErrLeaseHeld, r.o.org)
	}
	r.token.Store(0)
	if err := r.renew(ctx); err != nil {
		r.running.Store(false)
		if errors.Is(err, state.ErrLeaseHeld) {
			return nil, err
		}
		return nil, fmt.Errorf("access: lease of %q: %w", r.o.org, err)
	}
	return func() {
		// Release even when ctx is done; the lease expires anyway.
		_, _ = r.st.Lease(context.WithoutCancel(ctx), r.o.org, r.o.holder, r.o.clock.Now(), time.Time{})
		r.token.Store(0)
		r.running.Store(false)
	}, nil
}

// begin takes the lease and loads the organization's records: the start of
// an Apply or Verify. The caller calls release when done.
func (r *Reconciler) begin(ctx context.Context) (release func(), recs []state.Record, err error) {
	release, err = r.lease(ctx)
	if err != nil {
		return nil, nil, err
	}
	if recs, err = r.load(ctx); err != nil {
		release()
		return nil, nil, err
	}
	return release, recs, nil
}

// renew takes or extends the lease for one lease time from now. A renewal
// that returns another token than the run's means the lease was lost in
// between (another run took it over): the run must stop.
func (r *Reconciler) renew(ctx context.Context) error {
	now := r.o.clock.Now()
	token, err := r.st.Lease(ctx, r.o.org, r.o.holder, now, now.Add(r.o.leaseTTL))
	if err != nil {
		return err
	}
	if old := r.token.Load(); old != 0 && old != token {
		// Keep the old token: the run's writes stay fenced.
		return fmt.Errorf("%w: term %d of %q ended, another run held the lease", state.ErrLeaseLost, old, r.o.org)
	}
	r.token.Store(token)
	r.leased.Store(&now)
	return nil
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
	err    error // lookup failed: leave the intent pending
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

// ended reports whether iv is over at now.
func ended(iv schedule.Interval, now time.Time) bool {
	return !kisiglue.OpenEnded(iv) && !iv.End.After(now)
}

// live reports whether rec is managed access in force or still to come at
// now: the base of the revoke guard.
func live(rec state.Record, now time.Time) bool {
	return (rec.Kind == state.KindRole || rec.Kind == state.KindLink) && rec.State == state.StateSettled && !ended(rec.Window, now)
}

func ptr(iv schedule.Interval) *schedule.Interval { return &iv }

// diffInput is what the pure core of Plan works from.
type diffInput struct {
	now    time.Time
	lead   time.Duration
	hold   holding
	recs   []state.Record
	grants []Grant
	links  []Link
	res    map[string]resolution
	// snap looks up the snapshot's members, for the names of creates, and
	// its records, to tell a cut explained by a record still there from
	// one whose source vanished. Nil: no members, no records.
	snap *snapIndex
	// mappingFP is the fingerprint of the mapping, for group park records.
	mappingFP string
	// notify is set when a Notifier must send each link's secret.
	notify bool
	// linkWarn is the number of email links from which links for bookings
	// beyond linkHorizon wait, keeping the quota for the soonest guests.
	linkWarn int
}

// linkHorizon is how far ahead a booking's link is always created; further
// ones wait once the organization nears Kisi's email-link quota.
const linkHorizon = 48 * time.Hour

// diff is the pure core of Plan. It joins the wanted grants and links with
// the Store's records of roles and links, both in key order.
func diff(in diffInput) *Changes {
	c := &Changes{At: in.now, Changes: []Change{}}
	if in.hold.memo == nil {
		in.hold.memo = &nightsMemo{}
	}
	view, store := settleIntents(c, sortedByKey(in.recs), in.res)
	want := wanted(in)

	parks := parkRecords(c, in, want, &store)
	acc := changeLists{store: store}
	var renew time.Time // the earliest renewal of a rolling window
	for i, j := 0, 0; i < len(want) || j < len(view); {
		var w *wantEntry
		var v *viewEntry
		switch {
		case j == len(view) || i < len(want) && want[i].key < view[j].key:
			w = &want[i]
			i++
		case i == len(want) || view[j].key < want[i].key:
			v = &view[j]
			j++
		default:
			w, v = &want[i], &view[j]
			i++
			j++
		}
		var rec *state.Record
		if v != nil {
			rec = v.rec
		}
		var p probe
		if w != nil {
			p = in.probe(w)
			if p.grant != nil {
				renew = earliest(renew, renewal(p, rec, in.hold))
			}
		}
		if v != nil && v.skip || w == nil && rec == nil {
			continue
		}
		acc.decide(c, &in, w != nil, p, v)
	}
	acc.creates = parks.hold(c, acc.creates, in.now)
	acc.creates = quota(c, view, acc.revokes, acc.cleanups, acc.creates, in)
	acc.replaces = parks.holdReplacements(c, acc.replaces, in.now)
	order(c, acc.store, acc.exposed, acc.revokes, acc.replaces, acc.creates, acc.cleanups)
	tally(c, view, in.now)
	c.renewals = renew
	return c
}

// changeLists collects the changes of a plan by the order they are applied
// in (see [order]).
type changeLists struct {
	store, exposed, revokes, replaces, creates, cleanups []Change
}

// decide adds what one key needs: wanted tells whether the key is wanted
// (p is then its probe), v is the Store's entry for it, nil when there is
// none.
func (l *changeLists) decide(c *Changes, in *diffInput, wanted bool, p probe, v *viewEntry) {
	var rec *state.Record
	if v != nil {
		rec = v.rec
	}
	switch {
	case rec == nil:
		l.creates = append(l.creates, in.create(p))
	case rec.State == state.StateExposed:
		l.again(&l.exposed, in, wanted, p, *rec, "left without a role by a failed replacement", "created first")
	case rec.State == state.StateGone:
		l.again(&l.creates, in, wanted, p, *rec, "deleted in Kisi outside kisisync", "re-create")
	case rec.State == state.StateConflict:
		switch {
		case !wanted:
			l.store = append(l.store, forget(*rec, "conflict no longer relevant"))
		case kisiglue.SameWindow(rec.Window, p.held):
			c.Conflicts = append(c.Conflicts, Conflict{Email: rec.Email, GroupID: rec.GroupID, KisiID: rec.KisiID, Window: p.held})
		default:
			create := in.create(p)
			create.Reason = "retry after conflict: window changed"
			l.creates = append(l.creates, create)
		}
	case !wanted && !ended(rec.Window, in.now) && in.snap.rejected(*rec):
		// Its record is there but invalid (reported in Skipped): Kisi keeps
		// what it holds, ending by its bounded window.
	case !wanted:
		ch := revoke(*rec, *in)
		if ch.Expired {
			l.cleanups = append(l.cleanups, ch)
		} else {
			l.revokes = append(l.revokes, ch)
		}
	case in.notify && p.link != nil && v.adopted:
		// The secret existed only in the lost response: a new link is the
		// only way the Notifier can send one.
		create := in.create(p)
		create.Action, create.Old, create.KisiID = ActionReplace, ptr(rec.Window), rec.KisiID
		create.Reason = "adopted without its secret; replaced so the Notifier can send it"
		l.replaces = append(l.replaces, create)
	default:
		if reason := replaceReason(*rec, p.change(), p.desired, in.hold); reason != "" {
			create := in.create(p)
			create.Action, create.Old, create.KisiID, create.Reason = ActionReplace, ptr(rec.Window), rec.KisiID, reason
			create.Cut = cutOf(*rec, create, *in)
			l.replaces = append(l.replaces, create)
		}
	}
}

// again adds to dst the create of the access of rec, whose object is gone
// from Kisi (why), or forgets rec when the access is no longer wanted.
func (l *changeLists) again(dst *[]Change, in *diffInput, wanted bool, p probe, rec state.Record, why, then string) {
	if !wanted {
		l.store = append(l.store, forget(rec, why+"; no longer desired"))
		return
	}
	create := in.create(p)
	create.Reason = why + "; " + then
	*dst = append(*dst, create)
}

// sortedByKey returns recs sorted by key: recs itself when it is, as a
// Store's Load returns it, else a sorted copy (records of one key kept in
// their order).
func sortedByKey(recs []state.Record) []state.Record {
	sorted := true
	for i := 1; i < len(recs) && sorted; i++ {
		sorted = recs[i-1].Key <= recs[i].Key
	}
	if sorted {
		return recs
	}
	out := slices.Clone(recs)
	slices.SortStableFunc(out, func(a, b state.Record) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// viewEntry is the Store's role or link record of one key as the plan sees
// it, once the pending intents are settled.
type viewEntry struct {
	key string
	// rec is the record as it will be (adopted or settled); nil when the
	// intent is forgotten or left alone.
	rec *state.Record
	// skip is set when the lookup of a pending intent failed: the key is
	// left alone. adopted is set when the intent was found in Kisi.
	skip, adopted bool
}

// settleIntents resolves the pending intents of recs, sorted by key, with
// what Plan found in Kisi. It returns the role and link records as they
// will be, one entry per key in key order (view), and the Store
// corrections (adopt, forget). The records of recs are not changed.
func settleIntents(c *Changes, recs []state.Record, res map[string]resolution) (view []viewEntry, store []Change) {
	n := 0
	for i := range recs {
		if recs[i].Kind == state.KindRole || recs[i].Kind == state.KindLink {
			n++
		}
	}
	view = make([]viewEntry, 0, n)
	for i := range recs {
		rec := &recs[i]
		if rec.Kind != state.KindRole && rec.Kind != state.KindLink {
			continue
		}
		if len(view) == 0 || view[len(view)-1].key != rec.Key {
			view = append(view, viewEntry{key: rec.Key})
		}
		v := &view[len(view)-1]
		if rec.State == state.StatePending {
			rs, ok := res[rec.Key]
			switch {
			case !ok || rs.err != nil:
				c.Unresolved++
				v.skip = true
				why := "its create's answer was lost and the lookup did not answer; looked up again next run"
				if ok {
					why = fmt.Sprintf("its create's answer was lost and the lookup failed (%v); looked up again next run", rs.err)
				}
				c.Parked = append(c.Parked, Parked{Object: objectOf(rec.Kind), Key: rec.Key, Email: rec.Email, GroupID: rec.GroupID,
					Class: FailureUnknown, Reason: why})
				continue
			case rs.found:
				store = append(store, Change{Action: ActionAdopt, Object: objectOf(rec.Kind), Key: rec.Key, Email: rec.Email,
					MemberID: rec.MemberID, Name: rec.Name, GroupID: rec.GroupID, Window: ptr(rs.window),
					KisiID: rs.kisiID, UserID: rec.UserID, BookingID: rec.BookingID, Sources: rec.Sources,
					Reason: "found in Kisi after an interrupted create"})
				adopted := *rec
				adopted.State, adopted.KisiID, adopted.Window = state.StateSettled, rs.kisiID, rs.window
				v.rec, v.adopted = &adopted, true
				continue
			default:
				store = append(store, forget(*rec, "interrupted create did not reach Kisi"))
				continue
			}
		}
		v.rec = rec
	}
	return view, store
}

// parks are the park records a plan honours.
type parks struct {
	users     map[string]state.Record // Kisi users whose create failed, by email
	groups    map[int64]state.Record  // groups found deleted in Kisi
	forbidden map[string]state.Record // roles or links of groups Kisi refused the API key on (403), by key
	changes   map[string]state.Record // by the key of the parked change
}

// parkRecords collects the park records of in.recs still in force, and
// plans forgetting the others: a change no longer wanted, a group parked
// under another mapping.
func parkRecords(c *Changes, in diffInput, want []wantEntry, store *[]Change) parks {
	p := parks{users: map[string]state.Record{}, groups: map[int64]state.Record{}, forbidden: map[string]state.Record{},
		changes: map[string]state.Record{}}
	held := map[string]bool{} // the keys of the objects the Store records
	for _, rec := range in.recs {
		if rec.Kind == state.KindRole || rec.Kind == state.KindLink {
			held[rec.Key] = true
		}
	}
	for _, rec := range in.recs {
		if rec.Kind != state.KindPark {
			continue
		}
		key, isChange := strings.CutPrefix(rec.Key, "park/")
		switch {
		case rec.Class == FailureMissing && rec.Key == groupParkKey(rec.GroupID, in.mappingFP):
			p.groups[rec.GroupID] = rec
		case rec.Class == FailureForbidden && strings.HasPrefix(rec.Key, "park/forbidden/"):
			// Kept until a write to the group succeeds.
			p.forbidden[rec.Key] = rec
		case rec.Key == orgParkKey:
			// Kept until a run of the organization succeeds.
		case rec.Key == patchParkKey:
			// Kept: Kisi does not PATCH windows in this organization.
		case rec.Key == runMarkKey:
			// Kept until a run verifies (see Sync).
		case strings.HasPrefix(rec.Key, "park/user/"):
			// Kept until the user is created or found.
			p.users[rec.Email] = rec
		case rec.Class == FailureTransient && isChange && held[key]:
			// A failing delete backs off too (see run.waiting): kept while
			// its object is.
		case rec.Class != FailureMissing && isChange && isWanted(want, key):
			p.changes[key] = rec
		default:
			*store = append(*store, Change{Action: ActionForget, Object: ObjectPark, Key: rec.Key, Email: rec.Email,
				GroupID: rec.GroupID, Reason: "parked change no longer relevant"})
		}
	}
	return p
}

// isWanted reports whether want, in key order, holds key.
func isWanted(want []wantEntry, key string) bool {
	_, ok := slices.BinarySearchFunc(want, key, func(w wantEntry, k string) int { return strings.Compare(w.key, k) })
	return ok
}

// hold takes out of creates those parked: in a group deleted in Kisi or
// whose back-off after a 403 still runs, or whose key (user and group, or
// link) failed with back-off still running — for the same window (a rolling
// one by its start) or any window not yet in force; a window in force that
// changed goes through, so that a member without a role gets one at once.
func (p parks) hold(c *Changes, creates []Change, now time.Time) []Change {
	out := creates[:0]
	for _, ch := range creates {
		// A group's park record names no one (or the first member that
		// found it): each change parked with it names its own member.
		if rec, ok := p.groups[ch.GroupID]; ok {
			rec.Email = ch.Email
			c.Parked = append(c.Parked, parkedOf(ch.Object, ch.Key, rec))
			continue
		}
		if rec, ok := p.forbidden[forbiddenKey(ch.GroupID, ch.Object)]; ok && now.Before(rec.RetryAt) {
			rec.Email = ch.Email
			c.Parked = append(c.Parked, parkedOf(ch.Object, ch.Key, rec))
			c.retries = earliest(c.retries, rec.RetryAt)
			continue
		}
		if rec, ok := p.users[ch.Email]; ok && ch.Object == ObjectGrant && now.Before(rec.RetryAt) {
			c.Parked = append(c.Parked, parkedOf(ch.Object, ch.Key, rec))
			c.retries = earliest(c.retries, rec.RetryAt)
			continue
		}
		if rec, ok := p.changes[ch.Key]; ok && now.Before(rec.RetryAt) && (sameWanted(rec.Window, ch) || ch.Window.Start.After(now)) {
			c.Parked = append(c.Parked, parkedOf(ch.Object, ch.Key, rec))
			c.retries = earliest(c.retries, rec.RetryAt)
			continue
		}
		out = append(out, ch)
	}
	return out
}

// holdReplacements takes out of replaces the renewals and extensions Kisi
// refused (a PATCH, or the create of the new window: FailureRefused), while their back-off
// runs and for the same wanted window: the role Kisi holds stays as it was,
// valid for days. A replacement that cuts access is not held here; the
// guard judges it.
func (p parks) holdReplacements(c *Changes, replaces []Change, now time.Time) []Change {
	out := replaces[:0]
	for _, ch := range replaces {
		if rec, ok := p.changes[ch.Key]; ok && rec.Class == FailureRefused && ch.Cut == "" && now.Before(rec.RetryAt) && sameWanted(rec.Window, ch) {
			c.Parked = append(c.Parked, parkedOf(ch.Object, ch.Key, rec))
			c.retries = earliest(c.retries, rec.RetryAt)
			continue
		}
		out = append(out, ch)
	}
	return out
}

// sameWanted reports whether a parked change's window asks for the same
// access as ch: the same window, or for a rolling window (whose end moves
// with the clock) the same start.
func sameWanted(parked schedule.Interval, ch Change) bool {
	if ch.Rolling {
		return kisiglue.SameInstant(parked.Start, ch.Window.Start)
	}
	return kisiglue.SameWindow(parked, *ch.Window)
}

// quota keeps Kisi's email-link quota for the soonest guests: once the
// email links after the plan would reach the warning level, links for
// bookings starting beyond linkHorizon wait (parked until they come within
// it), the soonest first to get room.
func quota(c *Changes, view []viewEntry, revokes, cleanups, creates []Change, in diffInput) []Change {
	links := 0
	for _, v := range view {
		if rec := v.rec; rec != nil && rec.Kind == state.KindLink && rec.Email != "" && rec.State == state.StateSettled {
			links++
		}
	}
	for _, part := range [][]Change{revokes, cleanups} {
		for _, ch := range part {
			if ch.Object == ObjectLink && ch.Email != "" {
				links--
			}
		}
	}
	slices.SortStableFunc(creates, func(a, b Change) int { return a.Window.Start.Compare(b.Window.Start) })
	horizon := in.now.Add(linkHorizon)
	out := creates[:0]
	for _, ch := range creates {
		if ch.Object != ObjectLink || ch.Email == "" {
			out = append(out, ch)
			continue
		}
		if ch.Window.Start.After(horizon) && links >= in.linkWarn {
			retry := ch.Window.Start.Add(-linkHorizon)
			c.Parked = append(c.Parked, Parked{Object: ObjectLink, Key: ch.Key, Email: ch.Email, GroupID: ch.GroupID,
				Class: FailureQuota, RetryAt: retry,
				Reason: fmt.Sprintf("%d email links in use, near Kisi's limit of %d: created %s before the booking", links, kisi.EmailLinkLimit, textfmt.Duration(linkHorizon))})
			c.retries = earliest(c.retries, retry)
			continue
		}
		links++
		out = append(out, ch)
	}
	return out
}

// wantEntry is a wanted grant or link: the index of the grant in
// diffInput.grants, or len(grants) plus the index of the link in
// diffInput.links.
type wantEntry struct {
	key string
	i   int
}

// wanted returns the wanted grants and links in key order, one per key
// (the last of the grants or links with one key).
//
// The grants come from Desired sorted by email then group; a role's key
// is "role/", its group's decimal form, "/" and the email, and "/" sorts
// before every digit, so a stable counting sort on the groups, in the
// order of their decimal forms, puts them in key order in linear time.
// The result is checked, and sorted if it is not in order.
func wanted(in diffInput) []wantEntry {
	want := make([]wantEntry, len(in.links)+len(in.grants))
	// "link/" sorts before "role/".
	links, roles := want[:len(in.links)], want[len(in.links):]
	for i := range in.links {
		links[i] = wantEntry{key: state.LinkKey(in.links[i].BookingID, in.links[i].GroupID), i: len(in.grants) + i}
	}
	slices.SortFunc(links, cmpWant)

	bucket := make(map[int64]int)
	var groups []int64
	for i := range in.grants {
		if _, ok := bucket[in.grants[i].GroupID]; !ok {
			bucket[in.grants[i].GroupID] = 0
			groups = append(groups, in.grants[i].GroupID)
		}
	}
	slices.SortFunc(groups, func(a, b int64) int {
		return strings.Compare(strconv.FormatInt(a, 10), strconv.FormatInt(b, 10))
	})
	next := make([]int, len(groups))
	for k, g := range groups {
		bucket[g] = k
	}
	for i := range in.grants {
		next[bucket[in.grants[i].GroupID]]++
	}
	for k, sum := 0, 0; k < len(next); k++ {
		next[k], sum = sum, sum+next[k]
	}
	for i := range in.grants {
		k := bucket[in.grants[i].GroupID]
		roles[next[k]] = wantEntry{key: state.RoleKey(in.grants[i].Email, in.grants[i].GroupID), i: i}
		next[k]++
	}
	if !slices.IsSortedFunc(roles, cmpWant) {
		slices.SortFunc(roles, cmpWant)
	}

	out := want[:0]
	for _, w := range want {
		if len(out) > 0 && out[len(out)-1].key == w.key {
			out[len(out)-1] = w
			continue
		}
		out = append(out, w)
	}
	return out
}

// cmpWant orders wanted entries by key, then by their order in the input.
func cmpWant(a, b wantEntry) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return cmp.Compare(a.i, b.i)
}

// probe is what the plan compares of a wanted grant or link before it
// builds its create: the grant or link, the window Kisi is to hold, and
// for a grant whether that is a rolling bound of the desired window.
type probe struct {
	key     string
	grant   *Grant
	link    *Link
	held    schedule.Interval
	desired schedule.Interval
	rolling bool
}

// probe returns the probe of w.
func (in *diffInput) probe(w *wantEntry) probe {
	if w.i < len(in.grants) {
		g := &in.grants[w.i]
		held, rolling := in.hold.hold(g.Window)
		return probe{key: w.key, grant: g, held: held, desired: g.Window, rolling: rolling}
	}
	l := &in.links[w.i-len(in.grants)]
	return probe{key: w.key, link: l, held: l.Window}
}

// change is the part of p's create that replaceReason reads; its Window
// points into p.
func (p *probe) change() Change {
	if p.grant != nil {
		return Change{Object: ObjectGrant, Key: p.key, Email: p.grant.Email, GroupID: p.grant.GroupID,
			Window: &p.held, Rolling: p.rolling}
	}
	l := p.link
	return Change{Object: ObjectLink, Key: p.key, Email: l.Email, Name: l.Name, GroupID: l.GroupID,
		Window: &p.held, BookingID: l.BookingID, SendLink: l.SendLink, QR: l.QR}
}

// create returns the create of the wanted grant or link of p, with the
// window Kisi is to hold.
func (in *diffInput) create(p probe) Change {
	if g := p.grant; g != nil {
		mem := in.snap.member(g.MemberID)
		if g.Guest != nil {
			mem = Member{Name: g.Guest.Name}
		}
		return Change{Action: ActionCreate, Object: ObjectGrant, Key: p.key, Email: g.Email,
			MemberID: g.MemberID, Name: mem.Name, Managed: mem.Managed, GroupID: g.GroupID,
			Window: ptr(p.held), Rolling: p.rolling, Sources: g.Sources, Reason: "new access"}
	}
	l := p.link
	return Change{Action: ActionCreate, Object: ObjectLink, Key: p.key, Email: l.Email, Name: l.Name,
		GroupID: l.GroupID, Window: ptr(l.Window), BookingID: l.BookingID, SendLink: l.SendLink, QR: l.QR,
		Sources: []Source{{Kind: KindBooking, ID: l.BookingID}}, Reason: "drop-in booking"}
}

// renewal returns when the rolling window of the wanted grant of p is due
// for renewal, kept from the Store's record rec (nil: none) or created by
// the plan (zero if it is not rolling).
func renewal(p probe, rec *state.Record, h holding) time.Time {
	if h.validity < 0 {
		return time.Time{}
	}
	held := p.held
	if rec != nil && rec.State == state.StateSettled && h.keeps(p.key, p.grant.GroupID, rec.Window, p.desired) {
		held = rec.Window
	}
	if held.End.Before(p.desired.End) {
		return h.renewAt(p.key, p.grant.GroupID, held.End)
	}
	return time.Time{}
}

// revoke is the delete of a record no longer wanted: cleanup when its window
// has ended, else a revocation, a cut when the access is in force or enters
// Kisi within the lead time.
func revoke(rec state.Record, in diffInput) Change {
	ch := Change{Action: ActionDelete, Object: objectOf(rec.Kind), Key: rec.Key, Email: rec.Email, MemberID: rec.MemberID,
		Name: rec.Name, GroupID: rec.GroupID, Old: ptr(rec.Window), KisiID: rec.KisiID, Sources: rec.Sources,
		BookingID: rec.BookingID, Reason: "no longer desired"}
	switch {
	case ended(rec.Window, in.now):
		ch.Expired, ch.Reason = true, "expired"
		return ch
	case ch.Object == ObjectLink:
		ch.Reason = "booking removed"
	}
	if due(rec.Window, in.now, in.lead) || sentLink(rec) {
		ch.Cut = cutClass(rec, in.snap)
	}
	return ch
}

// sentLink reports whether rec is a link whose email went out: deleting it
// is a cut however far ahead its booking is, since a new link would mean a
// second email and the first one's link no longer working.
func sentLink(rec state.Record) bool { return rec.Kind == state.KindLink && rec.Email != "" }

// cutOf classifies a replacement of rec by create: a cut when the old window
// is in force (or enters Kisi within the lead time) and the new one starts
// later or ends sooner. Bounding or renewing a rolling window is not a cut.
func cutOf(rec state.Record, create Change, in diffInput) CutKind {
	if !due(rec.Window, in.now, in.lead) || ended(rec.Window, in.now) {
		return ""
	}
	nw, old := *create.Window, rec.Window
	later := nw.Start.After(times.Later(old.Start, in.now).Add(kisiglue.Tolerance))
	sooner := !create.Rolling && nw.End.Add(kisiglue.Tolerance).Before(old.End)
	if !later && !sooner {
		return ""
	}
	return cutClass(rec, in.snap)
}

// due reports whether access in window w is in force at now or enters Kisi
// within the lead time.
func due(w schedule.Interval, now time.Time, lead time.Duration) bool {
	return w.Start.Before(now.Add(lead).Add(time.Nanosecond))
}

// cutClass says what causes a cut of the access rec holds: source records
// still in the snapshot that say so (explicit: a cancelled plan, a
// check-out, a suspended member) and none still in force, one that changed
// without saying so (explained: an End set earlier), or every source
// vanished from the snapshot. A record adopted without sources counts as
// vanished.
func cutClass(rec state.Record, snap *snapIndex) CutKind {
	if rec.MemberID != "" && snap.member(rec.MemberID).Suspended {
		return CutExplicit
	}
	if len(rec.Sources) == 0 && rec.Kind == state.KindRole {
		// Adopted after a lost Store: the member's records tell.
		return snap.byEmail(rec.Email)
	}
	kind := CutVanished
	for _, s := range rec.Sources {
		switch snap.source(s) {
		case sourceEnded:
			if kind == CutVanished {
				kind = CutExplicit
			}
		case sourcePresent:
			// A source still in force changed: that, not the one that
			// says it ended, is what cuts.
			kind = CutExplained
		}
	}
	return kind
}

// rejected reports whether a record of the snapshot that rec's access
// comes from is there but invalid (its member's, or a source's): such
// access is not cut; Kisi keeps what it holds, bounded, and the record
// is reported.
func (x *snapIndex) rejected(rec state.Record) bool {
	if x == nil || len(x.skipped) == 0 {
		return false
	}
	if x.rejects == nil {
		x.rejects = make(map[Source]bool, len(x.skipped))
		for _, e := range x.skipped {
			x.rejects[Source{Kind: e.Kind, ID: e.ID}] = true
		}
	}
	if rec.MemberID != "" && x.rejects[Source{Kind: "member", ID: rec.MemberID}] {
		return true
	}
	for _, s := range rec.Sources {
		if s.Kind == KindDefault {
			s.Kind = KindPlan
		}
		if x.rejects[s] {
			return true
		}
	}
	return false
}

// snapIndex looks up the members and records of a snapshot, building each
// index the first time it is needed: a plan with nothing to create or cut
// builds neither. It is for one goroutine.
type snapIndex struct {
	s       *Snapshot
	members map[string]Member
	// emails are the cut kinds of a record without sources, by the
	// member's email (see byEmail).
	emails  map[string]CutKind
	sources map[Source]sourceState
	// skipped are the records of s that were rejected, rejects their
	// sources (see rejected).
	skipped []*RecordError
	rejects map[Source]bool
}

// sourceState is what a snapshot says of the record a Source names.
type sourceState uint8

const (
	sourceGone    sourceState = iota // not in the snapshot
	sourcePresent                    // in it
	sourceEnded                      // in it, saying its access ended: a cancelled plan, a check-out
)

// member returns the member with id (the last one listed), or the zero
// Member.
func (x *snapIndex) member(id string) Member {
	if x == nil || x.s == nil {
		return Member{}
	}
	if x.members == nil {
		x.members = memberIndex(*x.s)
	}
	return x.members[id]
}

// byEmail classifies the cut of access a record without sources held
// (adopted after a lost Store) by its member's records: explicit when the
// member is suspended, or has plans and every one is cancelled; explained
// when the member is there otherwise; vanished when no member has the
// email.
func (x *snapIndex) byEmail(email string) CutKind {
	if x == nil || x.s == nil {
		return CutVanished
	}
	if x.emails == nil {
		x.emails = make(map[string]CutKind, len(x.s.Members))
		cancelled, active := map[string]bool{}, map[string]bool{}
		for _, p := range x.s.Plans {
			if p.Status == PlanCancelled {
				cancelled[p.MemberID] = true
			} else {
				active[p.MemberID] = true
			}
		}
		for _, m := range x.s.Members {
			e, err := NormalizeEmail(m.Email)
			if err != nil {
				continue
			}
			kind := CutExplained
			if m.Suspended || cancelled[m.ID] && !active[m.ID] {
				kind = CutExplicit
			}
			if prev, ok := x.emails[e]; !ok || prev == CutExplicit {
				x.emails[e] = kind
			}
		}
	}
	if kind, ok := x.emails[email]; ok {
		return kind
	}
	return CutVanished
}

// source reports what the snapshot says of the record src names.
func (x *snapIndex) source(src Source) sourceState {
	if x == nil || x.s == nil {
		return sourceGone
	}
	if x.sources == nil {
		x.sources = snapshotSources(*x.s)
	}
	return x.sources[src]
}

// snapshotSources indexes the records of s, as the sources a Grant names.
func snapshotSources(s Snapshot) map[Source]sourceState {
	n := len(s.Plans) + len(s.Allowances) + len(s.Bookings) + len(s.Assignments) + len(s.CheckIns)
	p := make(map[Source]sourceState, n)
	for _, r := range s.Plans {
		st := sourcePresent
		if r.Status == PlanCancelled {
			st = sourceEnded
		}
		p[Source{Kind: KindPlan, ID: r.ID}] = st
		p[Source{Kind: KindDefault, ID: r.ID}] = st
	}
	for _, r := range s.Allowances {
		p[Source{Kind: KindAllowance, ID: r.ID}] = sourcePresent
	}
	for _, r := range s.Bookings {
		p[Source{Kind: KindBooking, ID: r.ID}] = sourcePresent
	}
	for _, r := range s.Assignments {
		p[Source{Kind: KindAssignment, ID: r.ID}] = sourcePresent
	}
	for _, r := range s.CheckIns {
		st := sourcePresent
		if !r.Out.IsZero() {
			st = sourceEnded
		}
		p[Source{Kind: KindCheckIn, ID: r.ID}] = st
	}
	return p
}

// order puts the parts of a plan in the order Apply takes them: Store
// corrections, the members a failed replacement left without a role,
// revocations, replacements, creates (soonest window first), the
// replacements of roles in force, cleanup. A role in force is replaced by
// delete and create only once a create worked in the run (see
// run.replaceGrant): the creates before it tell.
func order(c *Changes, store, exposed, revokes, replaces, creates, cleanups []Change) {
	byKey := func(a, b *Change) int {
		if c := strings.Compare(a.Email, b.Email); c != 0 {
			return c
		}
		if c := cmp.Compare(a.GroupID, b.GroupID); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	}
	sortChanges(store, byKey)
	sortChanges(exposed, byKey)
	sortChanges(revokes, byKey)
	sortChanges(replaces, byKey)
	sortChanges(cleanups, byKey)
	sortChanges(creates, func(a, b *Change) int {
		if c := a.Window.Start.Compare(b.Window.Start); c != 0 {
			return c
		}
		return byKey(a, b)
	})
	// Expired links go before creates: Kisi counts them toward the
	// email-link quota until they are deleted.
	linkCleanups := slices.DeleteFunc(slices.Clone(cleanups), func(ch Change) bool { return ch.Object != ObjectLink })
	cleanups = slices.DeleteFunc(cleanups, func(ch Change) bool { return ch.Object == ObjectLink })
	inForce := slices.DeleteFunc(slices.Clone(replaces), func(ch Change) bool { return !replacesInForce(ch, c.At) })
	replaces = slices.DeleteFunc(replaces, func(ch Change) bool { return replacesInForce(ch, c.At) })
	// A member a failed replacement left without a role inside their
	// window comes first, before anything can stop the run.
	c.Changes = slices.Concat(store, exposed, revokes, linkCleanups, replaces, creates, inForce, cleanups)
	if c.Changes == nil {
		c.Changes = []Change{}
	}
}

// replacesInForce reports whether ch replaces a role in force at now: a
// delete and create would leave its member without access in between.
func replacesInForce(ch Change, now time.Time) bool {
	return ch.Action == ActionReplace && ch.Object == ObjectGrant && ch.Old != nil &&
		!ch.Old.Start.After(now) && now.Before(ch.Old.End)
}

// tally counts the managed access, the cuts and the email links of c.
func tally(c *Changes, view []viewEntry, now time.Time) {
	links := 0
	for _, v := range view {
		rec := v.rec
		if rec == nil {
			continue
		}
		if live(*rec, now) {
			c.Managed++
		}
		if rec.Kind == state.KindLink && rec.State == state.StateSettled && rec.Email != "" {
			links++
		}
	}
	for _, ch := range c.Changes {
		if ch.Cut != "" {
			c.Revocations++
		}
		if ch.Object != ObjectLink {
			continue
		}
		switch ch.Action {
		case ActionCreate:
			links++
		case ActionDelete:
			links--
		}
	}
	c.Links = links
}

// sortChanges sorts cs by cmpFn through pointers, so the large structs move
// once.
func sortChanges(cs []Change, cmpFn func(a, b *Change) int) {
	ptrs := make([]*Change, len(cs))
	for i := range cs {
		ptrs[i] = &cs[i]
	}
	slices.SortFunc(ptrs, cmpFn)
	sorted := make([]Change, len(cs))
	for i, p := range ptrs {
		sorted[i] = *p
	}
	copy(cs, sorted)
}

// replaceReason says why the settled record rec must be replaced to give
// the wanted create (whose desired, unbounded window is desired), or "" when
// Kisi already holds it.
func replaceReason(rec state.Record, create Change, desired schedule.Interval, h holding) string {
	if create.Object == ObjectLink {
		switch {
		case !kisiglue.SameWindow(rec.Window, *create.Window):
			return "booking moved"
		case rec.Email != create.Email || rec.Name != create.Name || rec.SendLink != create.SendLink || rec.QR != create.QR:
			return "link details changed"
		}
		return ""
	}
	switch {
	case h.keeps(rec.Key, rec.GroupID, rec.Window, desired):
		return ""
	case ended(rec.Window, h.now):
		return "previous window ended; next window"
	case create.Rolling && kisiglue.SameInstant(rec.Window.Start, desired.Start) && kisiglue.OpenEnded(rec.Window):
		return "bound open-ended window to the rolling validity"
	case create.Rolling && kisiglue.SameInstant(rec.Window.Start, desired.Start) && rec.Window.End.Before(desired.End):
		return "renew rolling window"
	}
	return "window changed"
}

// forget is the Store correction that drops rec.
func forget(rec state.Record, why string) Change {
	return Change{Action: ActionForget, Object: objectOf(rec.Kind), Key: rec.Key, Email: rec.Email,
		MemberID: rec.MemberID, GroupID: rec.GroupID, BookingID: rec.BookingID, Reason: why}
}

// objectOf is the object kind of a record.
func objectOf(k state.RecordKind) ObjectKind {
	switch k {
	case state.KindLink:
		return ObjectLink
	case state.KindPark:
		return ObjectPark
	}
	return ObjectGrant
}
