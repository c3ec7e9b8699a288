package access

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kisisync/kisisync/schedule"
)

// index is a validated view of a Snapshot, built once per call.
//
// Members are identified by their canonical index: the position in
// Snapshot.Members of the first valid member with their email. Every valid
// member ID maps to the canonical index of its email.
type index struct {
	s    *Snapshot
	errs []error

	locs      map[string]*time.Location // valid locations
	resLoc    map[string]string         // valid resource → location ID
	member    map[string]int32          // valid member ID → canonical index
	byEmail   map[string]int32          // normalized email → canonical index
	email     []string                  // canonical index → normalized email ("" if not canonical)
	rank      []int32                   // canonical index → position in email order
	byRank    []int32                   // position in email order → canonical index
	teams     map[string][]int32        // valid team → canonical members, deduplicated
	maxBefore time.Duration
	maxAfter  time.Duration
}

func (ix *index) reject(kind, id string, err error) {
	ix.errs = append(ix.errs, &RecordError{Kind: kind, ID: id, Err: err})
}

// seen tracks record IDs of one kind to report duplicates.
type seen map[string]struct{}

// checkID records id in ids and reports whether it is usable: an empty or
// repeated ID rejects its record.
func (ix *index) checkID(ids seen, kind, id string) bool {
	if id == "" {
		ix.reject(kind, id, ErrEmptyID)
		return false
	}
	n := len(ids)
	ids[id] = struct{}{} // one map operation: a duplicate does not grow the map
	if len(ids) == n {
		ix.reject(kind, id, ErrDuplicateID)
		return false
	}
	return true
}

// newIndex validates the parts of s that other records refer to: locations,
// resources, members and teams. Records of the other kinds are validated
// while they are turned into windows.
func newIndex(s *Snapshot, p Policy) *index {
	ix := &index{
		s:       s,
		locs:    make(map[string]*time.Location, len(s.Locations)),
		resLoc:  make(map[string]string, len(s.Resources)),
		member:  make(map[string]int32, len(s.Members)),
		byEmail: make(map[string]int32, len(s.Members)),
		email:   make([]string, len(s.Members)),
		teams:   make(map[string][]int32, len(s.Teams)),
	}
	zones := make(map[string]*time.Location)
	seenLoc := make(seen, len(s.Locations))
	for _, l := range s.Locations {
		if !ix.checkID(seenLoc, KindLocation, l.ID) {
			continue
		}
		loc, ok := zones[l.TimeZone]
		if !ok {
			loc = ianaZone(l.TimeZone)
			zones[l.TimeZone] = loc
		}
		if loc == nil {
			ix.reject(KindLocation, l.ID, fmt.Errorf("%w %q", ErrUnknownTimeZone, l.TimeZone))
			continue
		}
		ix.locs[l.ID] = loc
	}
	seenRes := make(seen, len(s.Resources))
	for _, r := range s.Resources {
		if !ix.checkID(seenRes, KindResource, r.ID) {
			continue
		}
		if _, ok := ix.locs[r.LocationID]; !ok {
			ix.reject(KindResource, r.ID, fmt.Errorf("%w %q", ErrUnknownLocation, r.LocationID))
			continue
		}
		ix.resLoc[r.ID] = r.LocationID
	}
	seenMember := make(seen, len(s.Members)) // every member ID, valid or not
	for i, m := range s.Members {
		if !ix.checkID(seenMember, KindMember, m.ID) {
			continue
		}
		e, err := NormalizeEmail(m.Email)
		if err != nil {
			ix.reject(KindMember, m.ID, err)
			continue
		}
		if c, ok := ix.byEmail[e]; ok {
			ix.reject(KindMember, m.ID, fmt.Errorf("%w: member %q; access merged under %q", ErrSharedEmail, s.Members[c].ID, s.Members[c].ID))
			ix.member[m.ID] = c
			continue
		}
		ix.byEmail[e] = int32(i)
		ix.member[m.ID] = int32(i)
		ix.email[i] = e
	}
	ix.rank = make([]int32, len(s.Members))
	for i, e := range ix.email {
		if e != "" {
			ix.byRank = append(ix.byRank, int32(i))
		}
	}
	slices.SortFunc(ix.byRank, func(a, b int32) int { return cmp.Compare(ix.email[a], ix.email[b]) })
	for r, c := range ix.byRank {
		ix.rank[c] = int32(r)
	}
	seenTeam := make(seen, len(s.Teams))
	for _, t := range s.Teams {
		if !ix.checkID(seenTeam, KindTeam, t.ID) {
			continue
		}
		ms := make([]int32, 0, len(t.MemberIDs))
		for _, id := range t.MemberIDs {
			c, ok := ix.member[id]
			if !ok {
				if _, ok := seenMember[id]; !ok { // a rejected member is reported once, as a member
					ix.reject(KindTeam, t.ID, fmt.Errorf("%w %q", ErrUnknownMember, id))
				}
				continue
			}
			ms = append(ms, c)
		}
		slices.Sort(ms)
		ix.teams[t.ID] = slices.Compact(ms)
	}
	ix.maxBefore, ix.maxAfter = max(p.Buffer.Before, 0), max(p.Buffer.After, 0)
	for _, b := range p.ResourceBuffers {
		ix.maxBefore, ix.maxAfter = max(ix.maxBefore, b.Before), max(ix.maxAfter, b.After)
	}
	return ix
}

// holders returns the canonical members a record held by memberID or teamID
// reaches. A team wins over a member when both are set.
// ianaZone returns the IANA time zone called name, or nil when there is
// none. The empty name and "Local", which time.LoadLocation reads as UTC and
// as the zone of the machine running the code, are not IANA names: a
// location without its zone must not silently get UTC or the server's zone.
func ianaZone(name string) *time.Location {
	if name == "" || name == "Local" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}

func (ix *index) holders(memberID, teamID string, one *[1]int32) ([]int32, error) {
	switch {
	case teamID != "":
		ms, ok := ix.teams[teamID]
		if !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownTeam, teamID)
		}
		return ms, nil
	case memberID != "":
		c, ok := ix.member[memberID]
		if !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownMember, memberID)
		}
		one[0] = c
		return one[:], nil
	}
	return nil, ErrNoHolder
}

// bufferFor returns the buffer in force for a resource.
func bufferFor(p Policy, resourceID string) schedule.Buffer {
	if b, ok := p.ResourceBuffers[resourceID]; ok {
		return b
	}
	return p.Buffer
}

// endOrForever turns a zero End into schedule.Forever.
func endOrForever(t time.Time) time.Time {
	if t.IsZero() {
		return schedule.Forever
	}
	return t
}

// widen applies b to iv (see [schedule.Buffer.Widen]); an open end stays
// open. The policy's buffers and the records' windows are validated before
// any is widened, so a failure cannot happen; iv is then returned as it is.
func widen(iv schedule.Interval, b schedule.Buffer) schedule.Interval {
	w, err := b.Widen(iv)
	if err != nil {
		return iv
	}
	return w
}

// validRules returns the first rule error, wrapping [ErrInvalidRule].
func validRules(rules []schedule.Rule) error {
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("%w: rule %d: %w", ErrInvalidRule, i, err)
		}
	}
	return nil
}

// minValidity is the shortest rolling validity a Policy may set: renewals
// happen when half of it remains, so a shorter one would renew on every run.
const minValidity = time.Hour

// Validate reports a policy that cannot be applied: a negative buffer
// (organization or resource), lead time or check-in duration, or a validity
// that is negative (other than [UnboundedValidity]) or under an hour. The error
// wraps [ErrInvalidPolicy].
func (p Policy) Validate() error {
	if err := p.Buffer.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	for _, id := range slices.Sorted(maps.Keys(p.ResourceBuffers)) {
		if err := p.ResourceBuffers[id].Validate(); err != nil {
			return fmt.Errorf("%w: resource %q: %w", ErrInvalidPolicy, id, err)
		}
	}
	if p.Lead < 0 {
		return fmt.Errorf("%w: lead %v is negative", ErrInvalidPolicy, p.Lead)
	}
	if p.CheckInFor < 0 {
		return fmt.Errorf("%w: check-in duration %v is negative", ErrInvalidPolicy, p.CheckInFor)
	}
	if p.Validity < 0 && p.Validity != UnboundedValidity {
		return fmt.Errorf("%w: validity %v is negative (use UnboundedValidity for no bound)", ErrInvalidPolicy, p.Validity)
	}
	if p.Validity > 0 && p.Validity < minValidity {
		return fmt.Errorf("%w: validity %v is shorter than %v", ErrInvalidPolicy, p.Validity, minValidity)
	}
	return nil
}
