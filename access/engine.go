package access

import (
	"cmp"
	"slices"
	"time"

	"github.com/kisisync/kisisync/internal/times"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// desired generates the pieces of [Desired].
func (e *engine) desired() {
	e.follow = true
	e.generate()
}

// earliestEdge goes on with nextChange's search from next (ok: found) over
// the windows merge would return, in its order: for each, its Start − lead,
// then its End. It reads the instants from the pieces and builds no grant;
// only the edge it returns gets its window's location, as merge gives it.
// With runs, it also sets runs[c] to the earliest edge of identity c's
// windows (see [runEdge]), in its window's location.
func (e *engine) earliestEdge(at time.Time, lead time.Duration, next time.Time, ok bool, runs []edge) (time.Time, bool) {
	var best piece // the piece of the edge found, if any
	found, bestEnd := false, false
	e.eachRun(e.sortPieces(), func(run []piece) {
		t, pc, end, f := e.runEdge(run, at, lead)
		if !f {
			return
		}
		if runs != nil {
			runs[run[0].member] = edge{t: e.edgeInstant(pc, end, lead), ok: true}
		}
		if !ok || t.Before(next) {
			next, ok = t, true
			best, found, bestEnd = pc, true, end
		}
	})
	if found {
		next = e.edgeInstant(best, bestEnd, lead)
	}
	return next, ok
}

// runEdge returns the earliest edge strictly after at, other than
// [schedule.Forever], of the windows of one member's pieces run: for each
// window in merge's order its Start − lead, then its End; of equal
// instants, the first. It returns the edge's instant (in no particular
// location), its piece and whether it is the window's End.
func (e *engine) runEdge(run []piece, at time.Time, lead time.Duration) (t time.Time, pc piece, end, found bool) {
	consider := func(c time.Time) bool {
		if c.After(at) && !c.Equal(schedule.Forever) && (!found || c.Before(t)) {
			t, found = c, true
			return true
		}
		return false
	}
	e.eachWindow(run, false, func(i, _, last int) {
		if consider(time.Unix(run[i].start, int64(run[i].startNs)).Add(-lead)) {
			pc, end = run[i], false
		}
		if consider(time.Unix(run[last].end, int64(run[last].endNs))) {
			pc, end = run[last], true
		}
	})
	return t, pc, end, found
}

// edgeInstant is the instant of an edge runEdge found, in the location of
// its piece's record, as merge gives its window.
func (e *engine) edgeInstant(pc piece, end bool, lead time.Duration) time.Time {
	if end {
		return instant(pc.end, pc.endNs, e.loc(&pc))
	}
	return instant(pc.start, pc.startNs, e.loc(&pc)).Add(-lead)
}

// Source kinds inside the engine, in the order sources are listed.
const (
	kPlan uint8 = iota
	kDefault
	kAllowance
	kBooking
	kAssignment
	kCheckIn
)

// kindNames are the names of the engine's source kinds (see [Source]).
var kindNames = [...]string{kPlan: KindPlan, kDefault: KindDefault, kAllowance: KindAllowance,
	kBooking: KindBooking, kAssignment: KindAssignment, kCheckIn: KindCheckIn}

func kindName(k uint8) string { return kindNames[k] }

// piece is the window one source gives one member in one group. Instants
// are kept as Unix seconds and nanoseconds: the slice holds no pointers, so
// the garbage collector does not scan it, and it sorts faster. The source's
// kind and record share 32 bits, so that a piece takes 40 bytes, not 48:
// the pieces are the largest data of a plan, sorted and read several times.
type piece struct {
	start, end     int64 // Unix seconds
	startNs, endNs int32
	group          int64
	member         int32  // canonical member index
	src            uint32 // see pieceSrc
}

// srcKindShift places a piece's kind above the index of its record, which
// leaves room for 2^29 records of each kind: more than any snapshot that
// fits in memory holds.
const srcKindShift = 29

// pieceSrc is a piece's src: kind and record in one number that orders
// pieces by kind, then record.
func pieceSrc(kind uint8, rec int) uint32 { return uint32(kind)<<srcKindShift | uint32(rec) }

// kind returns the kind of the piece's source (kPlan … kCheckIn).
func (pc *piece) kind() uint8 { return uint8(pc.src >> srcKindShift) }

// rec returns the index of the piece's record in its Snapshot slice.
func (pc *piece) rec() int32 { return int32(pc.src & (1<<srcKindShift - 1)) }

// cmpInstant compares two (seconds, nanoseconds) instants.
func cmpInstant(s1 int64, n1 int32, s2 int64, n2 int32) int {
	if c := cmp.Compare(s1, s2); c != 0 {
		return c
	}
	return cmp.Compare(n1, n2)
}

// instant turns a piece's instant back into a time.Time in loc.
func instant(s int64, ns int32, loc *time.Location) time.Time { return time.Unix(s, int64(ns)).In(loc) }

// loc returns the location of the times of a piece's record, so windows
// come back in the zone the host gave (or, for weekly rules, in the
// resource's zone).
func (e *engine) loc(pc *piece) *time.Location {
	s := e.ix.s
	switch pc.kind() {
	case kPlan, kDefault:
		return s.Plans[pc.rec()].Start.Location()
	case kAllowance:
		return s.Allowances[pc.rec()].Start.Location()
	case kBooking:
		return s.Bookings[pc.rec()].Start.Location()
	case kAssignment:
		a := &s.Assignments[pc.rec()]
		if ri := e.ix.resource(a.ResourceID); ri != nil && len(a.Rules) > 0 {
			return ri.zone
		}
		return a.Start.Location()
	}
	return s.CheckIns[pc.rec()].At.Location()
}

type engine struct {
	ix      *index
	m       mapping.Mapping
	p       Policy
	horizon schedule.Interval
	only    int32 // canonical member to compute for, or -1 for all

	lo, hi    time.Time     // bounds of weekly rule expansion
	follow    bool          // follow chains of occurrences across lo and hi
	lookahead time.Duration // if set, expand rules up to this long after max(at, Start) instead

	// errs collects the rejected records; nil drops them.
	errs *[]error

	groups map[mapping.Kind]map[string]groupsOK
	pieces []piece
	// shared is set when the pieces are only the weekly assignments': the
	// others are the index's, shared (see [engine.generateFixed]).
	shared bool
	// dropIns are the indexes of the valid drop-in bookings.
	dropIns   []int32
	linksOnly bool // only validate bookings and collect drop-ins
	filter    bool // sort and merge only the members with a piece overlapping the horizon
	// explain keeps in admitted the decision on every valid record that
	// reaches the member computed (see [Explain]).
	explain  bool
	admitted []admission
}

// resInfo is what a booking or assignment needs of its resource.
type resInfo struct {
	zone   *time.Location
	groups []int64
	buf    schedule.Buffer
}

type groupsOK struct {
	g  []int64
	ok bool
}

// newEngine validates s into an index of its own and returns an engine on
// it that reports rejected records in the index's errors.
func newEngine(s *Snapshot, m mapping.Mapping, p Policy, horizon schedule.Interval, only int32) *engine {
	ix := newIndex(s, m, p)
	e := engineOn(ix, m, p, horizon, only)
	e.errs = &ix.errs
	return e
}

// engineOn returns an engine on ix, which it only reads: engines on one
// index may run on several goroutines. It reports rejected records nowhere
// until errs is set. m and p must be those ix was built with.
func engineOn(ix *index, m mapping.Mapping, p Policy, horizon schedule.Interval, only int32) *engine {
	e := &engine{ix: ix, m: m, p: p, horizon: horizon, only: only,
		groups: make(map[mapping.Kind]map[string]groupsOK, 4)}
	// For a short horizon few (member, group) keys matter: filter them
	// before sorting. For a long one nearly all do.
	e.filter = horizon.End.Sub(horizon.Start) <= 48*time.Hour
	e.lo = horizon.Start.Add(-ix.maxBefore).Add(-24 * time.Hour)
	e.hi = horizon.End
	if e.hi.Before(schedule.Forever) {
		e.hi = e.hi.Add(ix.maxAfter).Add(24 * time.Hour)
	}
	return e
}

// reject reports a rejected record of the engine's snapshot.
func (e *engine) reject(kind, id string, err error) {
	if e.errs != nil {
		*e.errs = append(*e.errs, &RecordError{Kind: kind, ID: id, Err: err})
	}
}

// lookup caches mapping lookups, which sort and copy.
func (e *engine) lookup(kind mapping.Kind, id string) ([]int64, bool) {
	t := e.groups[kind]
	if t == nil {
		t = make(map[string]groupsOK)
		e.groups[kind] = t
	}
	r, found := t[id]
	if !found {
		r.g, r.ok = e.m.Lookup(kind, id)
		t[id] = r
	}
	return r.g, r.ok
}

func (e *engine) add(members []int32, groups []int64, iv schedule.Interval, kind uint8, rec int) {
	if !iv.Start.Before(iv.End) {
		return
	}
	src := pieceSrc(kind, rec)
	ss, sn := iv.Start.Unix(), int32(iv.Start.Nanosecond())
	es, en := iv.End.Unix(), int32(iv.End.Nanosecond())
	for _, c := range members {
		if e.only >= 0 && c != e.only || e.ix.suspended[c] {
			continue
		}
		for _, g := range groups {
			e.pieces = append(e.pieces, piece{start: ss, startNs: sn, end: es, endNs: en, group: g, member: c, src: src})
		}
	}
}

// occurrences expands an assignment's rules in loc, clipped to the
// assignment and widened by buf, merged.
func (e *engine) occurrences(a *Assignment, loc *time.Location, buf schedule.Buffer) ([]schedule.Interval, error) {
	aStart, aEnd := a.Start, endOrForever(a.End)
	lo, hi := times.Later(e.lo, aStart), times.Earlier(e.hi, aEnd)
	if e.lookahead > 0 {
		hi = times.Earlier(times.Later(e.horizon.Start, aStart).Add(e.lookahead), aEnd)
	}
	for round := 0; ; round++ {
		if !lo.Before(hi) {
			return nil, nil
		}
		set, err := schedule.Expand(a.Rules, loc, schedule.Interval{Start: lo, End: hi})
		if err != nil {
			return nil, err
		}
		if set, err = buf.WidenSet(set.Clip(schedule.Interval{Start: aStart, End: aEnd})); err != nil {
			return nil, err
		}
		out := set.Intervals()
		if !e.follow || len(out) == 0 {
			return out, nil
		}
		first, last := &out[0], &out[len(out)-1]
		growL := lo.After(aStart) && !first.Start.After(lo) && first.End.After(e.horizon.Start)
		growR := hi.Before(aEnd) && !last.End.Before(hi) && last.Start.Before(e.horizon.End)
		if !growL && !growR {
			return out, nil
		}
		// A chain of rules that cover the whole week is continuous. Any
		// other chain repeats every week only until a clock change breaks
		// it (a gap the buffer joins lasts an hour longer on the night the
		// clocks go back): it is followed with doubling steps, over a year
		// and a half in all, and counts as continuous beyond.
		if round == 3 && coversWeek(a.Rules) || round == maxFollowRounds {
			if growL {
				first.Start = aStart.Add(-buf.Before)
			}
			if growR {
				last.End = widen(schedule.Interval{Start: aStart, End: aEnd}, buf).End
			}
			return out, nil
		}
		step := 8 << max(round-2, 0) // days: 8, 8, 8, 16, 32 … 256
		if growL {
			lo = times.Later(lo.AddDate(0, 0, -step), aStart)
		}
		if growR {
			hi = times.Earlier(hi.AddDate(0, 0, step), aEnd)
		}
	}
}

// maxFollowRounds is the round of [engine.occurrences] after which a chain
// of occurrences that still crosses the bounds counts as continuous: by
// then they reach about 520 days from the horizon.
const maxFollowRounds = 8

// coversWeek reports whether rules leave no minute of the week uncovered
// in the wall clock: their occurrences then join into one window whatever
// the clock changes, since a later wall time never resolves to an earlier
// instant.
func coversWeek(rules []schedule.Rule) bool {
	const day, week = 24 * 60, 7 * 24 * 60
	type span struct{ from, to int }
	var spans []span
	for _, r := range rules {
		from, to := r.From.Minutes(), r.To.Minutes()
		if to <= from {
			to += day
		}
		for _, d := range r.Days {
			s, e := int(d)*day+from, int(d)*day+to
			if e > week { // Saturday night into Sunday
				spans = append(spans, span{0, e - week})
				e = week
			}
			spans = append(spans, span{s, e})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	reach := 0
	for _, sp := range spans {
		if sp.from > reach {
			return false
		}
		reach = max(reach, sp.to)
	}
	return reach >= week
}

// merge merges the pieces per (member, group) and returns the grants
// overlapping the horizon, sorted by Email, GroupID, Start. With slot, only
// the first such window per (member, group) is kept: the one in force at
// horizon.Start, else the next one.
func (e *engine) merge(slot bool) []Grant {
	ix := e.ix
	ps := e.sortPieces()
	// Two passes over the merged windows: count, then fill, so grants and
	// their sources take one allocation each.
	nGrants, nSources := 0, 0
	e.eachRun(ps, func(run []piece) {
		e.eachWindow(run, slot, func(i, j, _ int) {
			nGrants++
			nSources += j - i
		})
	})
	grants := make([]Grant, 0, nGrants)
	backing := make([]Source, 0, nSources)
	e.eachRun(ps, func(run []piece) {
		e.eachWindow(run, slot, func(i, j, last int) {
			cur, end := run[i], run[last]
			start := instant(cur.start, cur.startNs, e.loc(&cur))
			stop := instant(end.end, end.endNs, e.loc(&end))
			n := len(backing)
			backing = e.appendSources(backing, run[i:j])
			grants = append(grants, Grant{
				MemberID: ix.memberID(cur.member),
				Email:    ix.email[cur.member],
				Guest:    ix.guest(cur.member),
				GroupID:  cur.group,
				Window:   schedule.Interval{Start: start, End: stop},
				Sources:  backing[n:len(backing):len(backing)],
			})
		})
	})
	return grants
}

// sortPieces orders the pieces by member (in email order), group, start,
// kind and record, and returns them. For a short horizon (filter) it leaves
// out the members none of whose pieces overlaps the horizon: only a merged
// window containing such a piece can overlap it. A shared engine's pieces,
// the weekly assignments' only, are few: they are sorted and kept whole,
// for eachRun to merge with the index's.
func (e *engine) sortPieces() []piece {
	if e.shared {
		rank := e.ix.rank
		slices.SortFunc(e.pieces, func(a, b piece) int {
			if c := cmp.Compare(rank[a.member], rank[b.member]); c != 0 {
				return c
			}
			return cmpPiece(a, b)
		})
		return e.pieces
	}
	return e.bucketPieces(e.pieces, e.filter, false)
}

// eachRun calls fn with the pieces of each member in turn, in email order,
// given the pieces ps sortPieces returned; fn may reorder them. A shared
// engine's runs merge the index's pieces of the member (ix.fixed, which it
// only reads) with its own in ps, in a buffer each call reuses; with
// filter, it leaves out the members none of whose pieces overlaps the
// horizon.
func (e *engine) eachRun(ps []piece, fn func(run []piece)) {
	if !e.shared {
		for i := 0; i < len(ps); {
			j := i + 1
			for j < len(ps) && ps[j].member == ps[i].member {
				j++
			}
			fn(ps[i:j])
			i = j
		}
		return
	}
	rank, fixed := e.ix.rank, e.ix.fixed
	overlaps := e.overlapsHorizon()
	var run []piece
	for i, j := 0, 0; i < len(fixed) || j < len(ps); {
		var c int32 // the next member
		if i == len(fixed) || j < len(ps) && rank[ps[j].member] < rank[fixed[i].member] {
			c = ps[j].member
		} else {
			c = fixed[i].member
		}
		f, t := i, j // this member's pieces: fixed[f:i] and ps[t:j]
		for i < len(fixed) && fixed[i].member == c {
			i++
		}
		for j < len(ps) && ps[j].member == c {
			j++
		}
		if e.filter && !slices.ContainsFunc(fixed[f:i], overlaps) && !slices.ContainsFunc(ps[t:j], overlaps) {
			continue
		}
		run = mergePieces(run[:0], fixed[f:i], ps[t:j])
		fn(run)
	}
}

// mergePieces appends to dst the pieces of one member in a and b, each in
// cmpPiece order, in that order.
func mergePieces(dst, a, b []piece) []piece {
	for len(a) > 0 && len(b) > 0 {
		if cmpPiece(a[0], b[0]) <= 0 {
			dst, a = append(dst, a[0]), a[1:]
		} else {
			dst, b = append(dst, b[0]), b[1:]
		}
	}
	return append(append(dst, a...), b...)
}

// bucketPieces orders ps as sortPieces does and returns them; with filter it
// leaves out the members none of whose pieces overlaps the horizon. With
// scatter, the first round writes the pieces into a new slice (see
// scatterSort): faster than sorting in place on a slice much larger than
// the cache, for the memory of a second slice.
//
// The pieces are put in one bucket per member in place, by two rounds of
// counting sort on the member's rank (linear time, no map), the first on its
// high bits into at most 256 buckets, the second within each of those: few
// places are written at once, so they stay in the cache however many
// members there are. Then each member's few pieces are sorted.
func (e *engine) bucketPieces(ps []piece, filter, scatter bool) []piece {
	rank := e.ix.rank
	n := len(e.ix.byRank)
	if len(ps) == 0 || n == 0 {
		return ps[:0]
	}
	shift := uint(0)
	for n>>shift > 256 {
		shift++
	}
	nTop, width := (n-1)>>shift+1, 1<<shift
	top := make([]int32, nTop+1)
	next := make([]int32, max(nTop, width))
	topKey := func(pc *piece) int32 { return rank[pc.member] >> shift }
	if scatter {
		ps = scatterSort(ps, nTop, topKey, top)
	} else {
		bucketSort(ps, nTop, topKey, top, next)
	}
	bounds := make([]int32, n+1) // member of rank r: ps[bounds[r]:bounds[r+1]]
	sub := make([]int32, width+1)
	for t := range nTop {
		base := t << shift
		w := min(width, n-base)
		bucketSort(ps[top[t]:top[t+1]], w, func(pc *piece) int32 { return rank[pc.member] - int32(base) }, sub, next)
		for r := range w {
			bounds[base+r] = top[t] + sub[r]
		}
	}
	bounds[n] = int32(len(ps))
	overlaps := e.overlapsHorizon()
	out := ps[:0]
	for r := range n {
		b := ps[bounds[r]:bounds[r+1]]
		if len(b) == 0 || filter && !slices.ContainsFunc(b, overlaps) {
			continue
		}
		slices.SortFunc(b, cmpPiece)
		if len(out) == int(bounds[r]) {
			out = out[:len(out)+len(b)] // b follows out already: no copy
		} else {
			out = append(out, b...) // out ends before b: the copy moves it down
		}
	}
	return out
}

// overlapsHorizon returns a function that reports whether a piece overlaps
// the engine's horizon.
func (e *engine) overlapsHorizon() func(pc piece) bool {
	h := e.horizon
	hs, hsn := h.Start.Unix(), int32(h.Start.Nanosecond())
	he, hen := h.End.Unix(), int32(h.End.Nanosecond())
	return func(pc piece) bool {
		return cmpInstant(pc.start, pc.startNs, he, hen) < 0 && cmpInstant(pc.end, pc.endNs, hs, hsn) > 0
	}
}

// cmpPiece orders one member's pieces by group, start, kind and record.
func cmpPiece(a, b piece) int {
	if c := cmp.Compare(a.group, b.group); c != 0 {
		return c
	}
	if c := cmpInstant(a.start, a.startNs, b.start, b.startNs); c != 0 {
		return c
	}
	return cmp.Compare(a.src, b.src)
}

// eachWindow calls fn for every merged window of the sorted pieces ps that
// overlaps the horizon, with the range ps[i:j] of its pieces and the index
// of the piece that ends it.
// With slot, only the first such window per (member, group) is passed.
func (e *engine) eachWindow(ps []piece, slot bool, fn func(i, j, last int)) {
	h := e.horizon
	hs, hsn := h.Start.Unix(), int32(h.Start.Nanosecond())
	he, hen := h.End.Unix(), int32(h.End.Nanosecond())
	lastMember, lastGroup := int32(-1), int64(0)
	for i := 0; i < len(ps); {
		cur := ps[i]
		end, endNs, last := cur.end, cur.endNs, i
		j := i + 1
		for j < len(ps) && ps[j].member == cur.member && ps[j].group == cur.group &&
			cmpInstant(ps[j].start, ps[j].startNs, end, endNs) <= 0 {
			if cmpInstant(ps[j].end, ps[j].endNs, end, endNs) > 0 {
				end, endNs, last = ps[j].end, ps[j].endNs, j
			}
			j++
		}
		keep := cmpInstant(cur.start, cur.startNs, he, hen) < 0 && cmpInstant(end, endNs, hs, hsn) > 0
		if keep && slot && cur.member == lastMember && cur.group == lastGroup {
			keep = false
		}
		if keep {
			lastMember, lastGroup = cur.member, cur.group
			fn(i, j, last)
		}
		i = j
	}
}

// appendSources appends the distinct sources of pieces to dst, by kind
// then snapshot order. It reorders pieces.
func (e *engine) appendSources(dst []Source, pieces []piece) []Source {
	if len(pieces) > 1 {
		slices.SortFunc(pieces, func(a, b piece) int { return cmp.Compare(a.src, b.src) })
	}
	for i := range pieces {
		pc := &pieces[i]
		if i > 0 && pc.src == pieces[i-1].src {
			continue
		}
		dst = append(dst, Source{Kind: kindName(pc.kind()), ID: e.recordID(pc.kind(), pc.rec())})
	}
	return dst
}

func (e *engine) recordID(kind uint8, rec int32) string {
	s := e.ix.s
	switch kind {
	case kPlan, kDefault:
		return s.Plans[rec].ID
	case kAllowance:
		return s.Allowances[rec].ID
	case kBooking:
		return s.Bookings[rec].ID
	case kAssignment:
		return s.Assignments[rec].ID
	}
	return s.CheckIns[rec].ID
}
