package opsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Dur is a duration written as Go writes it ("1h30m0s") in JSON, so saved
// histories read well.
type Dur time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Dur) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Dur) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("opsim: duration %q: %w", b, err)
	}
	*d = Dur(v)
	return nil
}

// Event is one thing that happens at At after the history's start: a
// change of the platform's records, a bug of its exporter, a behaviour of
// Kisi or of the machine. Kind says which (see the kind constants); the
// other fields are its arguments, each used by some kinds only. Events name
// records by ID, and an event whose record does not exist does nothing, so
// any subset of a history is a history too (which is what shrinking needs).
type Event struct {
	At   Dur    `json:"at"`
	Kind string `json:"kind"`
	// ID names the record the event creates or changes (a booking, an
	// assignment, a check-in).
	ID string `json:"id,omitempty"`
	// Member is a member's ID; Guest marks a drop-in guest's booking.
	Member string `json:"member,omitempty"`
	Guest  bool   `json:"guest,omitempty"`
	// Target is a plan product, resource, location or sub-kind; Group a
	// Kisi group's name.
	Target string `json:"target,omitempty"`
	Group  string `json:"group,omitempty"`
	// Offset is a start relative to At, or a shift; Length a duration.
	Offset Dur `json:"offset,omitempty"`
	Length Dur `json:"length,omitempty"`
	// N is a count (guests, a request number).
	N int `json:"n,omitempty"`
	// Status marks a plan change made with a status (cancelled), rather
	// than by moving its End alone.
	Status bool `json:"status,omitempty"`
}

// The kinds of [Event]. Platform events change the truth and wake the
// host; the others change how the truth reaches Kisi.
const (
	// The platform's life.
	KindJoin         = "join"           // Member joins with an active plan Target from At+Offset, Length long (0: open)
	KindLeave        = "leave"          // Member's plans end now, with Status cancelled or by End alone
	KindEndPlans     = "end-plans"      // Member's plans end at At+Offset (Status: cancelled)
	KindTeamJoin     = "team-join"      // Member joins the team, whose plan grants them
	KindTeamCancel   = "team-cancel"    // the team plan is cancelled with a status
	KindAllowance    = "allowance"      // Member gets allowance Target for [At+Offset, +Length)
	KindBook         = "book"           // booking ID of resource Target by Member (or a guest) at At+Offset, Length long
	KindMeeting      = "meeting"        // N members (or guests) book resource Target together, IDs ID-1…ID-N
	KindMove         = "move"           // booking ID (and ID-1… of a meeting) shifted by Offset
	KindExtend       = "extend"         // booking ID's End moved by Offset (also while in force)
	KindCancel       = "cancel"         // booking ID (and ID-1…) removed
	KindAssign       = "assign"         // assignment ID: Member gets desk Target on weekly rules (Length 0: a night rule)
	KindUnassign     = "unassign"       // assignment ID removed
	KindCheckIn      = "check-in"       // check-in ID of Member at location Target (N > 0: N members, IDs ID-1…ID-N)
	KindCheckOut     = "check-out"      // check-in ID ends now
	KindAutoCheckOut = "auto-check-out" // every open check-in ends now
	KindSuspend      = "suspend"        // Member suspended by the platform (plans kept)
	KindUnsuspend    = "unsuspend"      // Member's suspension lifted
	KindBuffer       = "buffer"         // the organization's buffer becomes Offset before and after
	KindMapping      = "mapping"        // the mapping changes: Target names the variant

	// The exporter's bugs, each for Length from At; Target names the bug.
	KindExport = "export"

	// Kisi's behaviour, for Length from At (instant for hand edits);
	// Target names the behaviour.
	KindKisi = "kisi"

	// The machine's.
	KindCrash        = "crash"         // the next run's process dies before its N-th request
	KindStall        = "stall"         // the next run's process freezes at its N-th request past its lease while another runs
	KindStoreLost    = "store-lost"    // the Store is replaced by an empty one
	KindStoreRestore = "store-restore" // the Store is restored from the backup of Offset ago
	KindNotifierDown = "notifier-down" // the host's mailer fails for Length
)

// The exporter's bugs (Target of a [KindExport] event).
const (
	BugEmptyBookings  = "empty-bookings"  // the bookings list is empty
	BugEmptyPlans     = "empty-plans"     // the plans list is empty
	BugTruncated      = "truncated"       // every list loses its second half
	BugNoLocation     = "no-location"     // the second location is missing
	BugWrongZone      = "wrong-zone"      // the second location's zone exported as UTC
	BugEndsNow        = "ends-now"        // every open plan's End set to five minutes after the export
	BugInvalidEmail   = "invalid-email"   // Member's email exported without its @
	BugUnknownZone    = "unknown-zone"    // the first location's zone exported as an unknown name
	BugDuplicates     = "duplicates"      // every booking exported twice
	BugMissingMembers = "missing-members" // the members list is empty
)

// The behaviours of Kisi (Target of a [KindKisi] event).
const (
	KisiErrors       = "errors"        // 10% of requests 5xx, 5% applied with the answer lost
	KisiCreateOutage = "create-outage" // every POST answered 503
	KisiOutage       = "outage"        // every request answered 503
	KisiThrottle     = "throttle"      // every request answered 429
	KisiForbidGroup  = "forbid-group"  // 403 on the roles and links of Group
	KisiForbidLinks  = "forbid-links"  // 403 on every group link write
	KisiRefuseUser   = "refuse-user"   // 422 on every role create for Member's user
	KisiDeleteUser   = "delete-user"   // Member's Kisi user deleted by hand (instant)
	KisiHandRole     = "hand-role"     // an admin gives Member a role by hand in Group
	KisiDeleteGroup  = "delete-group"  // the second location's room group deleted by hand (instant)
)

// History is a generated life of one organization: its world and its
// events, in the order of At (ties keep their order).
type History struct {
	Seed   int64     `json:"seed"`
	Start  time.Time `json:"start"`
	Days   int       `json:"days"`
	World  World     `json:"world"`
	Events []Event   `json:"events"`
}

// World holds the settings of a history that apply from its start.
type World struct {
	// LinkQuota is Kisi's email-link quota in the fake (0: Kisi's 1,000).
	LinkQuota int `json:"link_quota,omitempty"`
	// Precision is the fake's stored precision of validity (0: milliseconds).
	Precision Dur `json:"precision,omitempty"`
	// CurrentAndFuture makes the exporter leave out bookings that ended.
	CurrentAndFuture bool `json:"current_and_future,omitempty"`
	// Patch turns the reconciler's PATCH of validity on, and the fake's
	// unless PatchUnsupported.
	Patch            bool `json:"patch,omitempty"`
	PatchUnsupported bool `json:"patch_unsupported,omitempty"`
	// Notifier makes the host send link emails itself.
	Notifier bool `json:"notifier,omitempty"`
	// Exclusive declares the mapped groups the platform's own
	// (access.WithExclusiveGroups): the reconciler may adopt and correct
	// the roles made by hand in them.
	Exclusive bool `json:"exclusive,omitempty"`
}

// without returns h without the events in [i, j).
func (h History) without(i, j int) History {
	out := h
	out.Events = slices.Concat(h.Events[:i], h.Events[j:])
	return out
}

// end is the instant the history ends.
func (h History) end() time.Time { return h.Start.AddDate(0, 0, h.Days) }

// Config sizes generated histories.
type Config struct {
	// Days per history (default 3).
	Days int
	// Members at the start (default 12).
	Members int
	// Faults scales the rate of exporter, Kisi and machine events (default
	// 1; 0 is the default, a negative value turns them off).
	Faults float64
}

func (c Config) withDefaults() Config {
	if c.Days <= 0 {
		c.Days = 3
	}
	if c.Members <= 0 {
		c.Members = 12
	}
	if c.Faults == 0 {
		c.Faults = 1
	}
	return c
}

// startDays are the first days histories start on: ordinary days, month
// ends and the nights the clocks change in Berlin and New York.
var startDays = []string{
	"2026-01-13", "2026-03-06", "2026-03-27", "2026-04-29", "2026-06-30",
	"2026-09-29", "2026-10-23", "2026-10-30", "2026-11-30", "2026-12-30",
}

// Generate returns the history of seed: an organization of c.Members
// members over c.Days days, with the platform's life, exporter bugs, Kisi's
// behaviour and the machine's faults drawn with fixed weights.
func Generate(seed int64, c Config) History {
	c = c.withDefaults()
	g := &gen{r: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x5deece66d)), c: c}
	day, _ := time.Parse(time.DateOnly, startDays[g.r.IntN(len(startDays))])
	h := History{Seed: seed, Start: day.Add(time.Duration(g.r.IntN(24)) * time.Hour), Days: c.Days}
	if g.chance(0.3) {
		h.World.LinkQuota = 4 + g.r.IntN(6)
	}
	if g.chance(0.3) {
		h.World.Precision = Dur(time.Second)
	}
	h.World.CurrentAndFuture = g.chance(0.3)
	h.World.Patch = g.chance(0.3)
	h.World.PatchUnsupported = h.World.Patch && g.chance(0.5)
	h.World.Notifier = g.chance(0.4)
	// Settings added later draw from a source of their own, so that the
	// events of every seed stay as they were.
	later := rand.New(rand.NewPCG(uint64(seed), 0x6f776e657273))
	h.World.Exclusive = later.Float64() < 0.2
	if h.World.Precision > 0 && later.Float64() < 0.5 {
		h.World.Precision = Dur(time.Minute)
	}

	for i := range c.Members {
		g.members = append(g.members, fmt.Sprintf("m%02d", i+1))
	}
	g.initial()
	total := time.Duration(c.Days) * 24 * time.Hour
	// About 40 platform events a day, and (at Faults 1) 6 faults a day.
	for range 40 * c.Days {
		g.platform(time.Duration(g.r.Int64N(int64(total))).Truncate(time.Minute))
	}
	if c.Faults > 0 {
		for range int(6 * float64(c.Days) * c.Faults) {
			g.fault(time.Duration(g.r.Int64N(int64(total))).Truncate(time.Second))
		}
	}
	h.Events = g.events
	slices.SortStableFunc(h.Events, func(a, b Event) int { return int(a.At - b.At) })
	return h
}

type gen struct {
	r       *rand.Rand
	c       Config
	members []string
	events  []Event
	seq     int
	// bookings and the rest are the IDs created so far, for later events
	// to change.
	bookings, assignments, checkIns []string
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) member() string { return g.members[g.r.IntN(len(g.members))] }

func (g *gen) id(prefix string) string {
	g.seq++
	return fmt.Sprintf("%s%d", prefix, g.seq)
}

func (g *gen) add(e Event) { g.events = append(g.events, e) }

var (
	planProducts = []string{"flex", "nyc", "global", "unmapped"}
	rooms        = []string{"room-a", "room-b", "room-c"}
	desks        = []string{"desk-1", "desk-2"}
	locations    = []string{"berlin", "nyc"}
)

// initial makes the members join (most of them with plans started weeks
// ago) and a team.
func (g *gen) initial() {
	for _, m := range g.members {
		length := time.Duration(0)
		if g.chance(0.3) {
			length = time.Duration(20+g.r.IntN(30)) * 24 * time.Hour
		}
		g.add(Event{Kind: KindJoin, Member: m, Target: planProducts[g.r.IntN(3)],
			Offset: Dur(-time.Duration(1+g.r.IntN(20)) * 24 * time.Hour), Length: Dur(length)})
	}
	for _, m := range g.members[:min(6, len(g.members))] {
		g.add(Event{Kind: KindTeamJoin, Member: m})
	}
}

// platform adds one event of the platform's life at at.
func (g *gen) platform(at time.Duration) {
	e := Event{At: Dur(at)}
	hours := func(lo, hi int) Dur { return Dur(time.Duration(lo+g.r.IntN(hi-lo+1)) * time.Hour) }
	quarter := func(lo, hi int) Dur { return Dur(time.Duration(lo+g.r.IntN(hi-lo+1)) * 15 * time.Minute) }
	switch w := g.r.IntN(100); {
	case w < 24:
		e.Kind, e.ID, e.Member, e.Target = KindBook, g.id("b"), g.member(), rooms[g.r.IntN(len(rooms))]
		e.Guest = g.chance(0.25)
		e.Offset, e.Length = quarter(1, 40), quarter(2, 8)
		g.bookings = append(g.bookings, e.ID)
	case w < 28:
		e.Kind, e.ID, e.Target, e.N = KindMeeting, g.id("ev"), rooms[g.r.IntN(len(rooms))], 3+g.r.IntN(6)
		e.Guest = g.chance(0.5)
		e.Offset, e.Length = quarter(1, 30), quarter(4, 12)
		g.bookings = append(g.bookings, e.ID)
	case w < 36 && len(g.bookings) > 0:
		e.Kind, e.ID = KindMove, g.bookings[g.r.IntN(len(g.bookings))]
		e.Offset = quarter(-4, 8)
	case w < 42 && len(g.bookings) > 0:
		e.Kind, e.ID = KindExtend, g.bookings[g.r.IntN(len(g.bookings))]
		e.Offset = quarter(-2, 4)
	case w < 50 && len(g.bookings) > 0:
		e.Kind, e.ID = KindCancel, g.bookings[g.r.IntN(len(g.bookings))]
	case w < 56:
		e.Kind, e.ID, e.Member, e.Target = KindCheckIn, g.id("c"), g.member(), locations[g.r.IntN(2)]
		g.checkIns = append(g.checkIns, e.ID)
	case w < 58:
		e.Kind, e.ID, e.Target, e.N = KindCheckIn, g.id("c"), locations[g.r.IntN(2)], 4+g.r.IntN(8)
		g.checkIns = append(g.checkIns, e.ID)
	case w < 60 && len(g.checkIns) > 0:
		e.Kind, e.ID = KindCheckOut, g.checkIns[g.r.IntN(len(g.checkIns))]
	case w < 62:
		e.Kind = KindAutoCheckOut
	case w < 66:
		e.Kind, e.ID, e.Member, e.Target = KindAssign, g.id("a"), g.member(), desks[g.r.IntN(len(desks))]
		e.Offset, e.Length = hours(-48, 24), hours(0, 1)
		g.assignments = append(g.assignments, e.ID)
	case w < 68 && len(g.assignments) > 0:
		e.Kind, e.ID = KindUnassign, g.assignments[g.r.IntN(len(g.assignments))]
	case w < 74:
		m := fmt.Sprintf("m%02d", len(g.members)+1)
		g.members = append(g.members, m)
		e.Kind, e.Member, e.Target = KindJoin, m, planProducts[g.r.IntN(len(planProducts))]
		e.Offset = hours(-2, 30)
	case w < 80:
		e.Kind, e.Member, e.Status = KindLeave, g.member(), g.chance(0.8)
	case w < 83:
		e.Kind, e.Member, e.Status, e.Offset = KindEndPlans, g.member(), g.chance(0.5), hours(-1, 400)
	case w < 85:
		e.Kind, e.Member = KindTeamJoin, g.member()
	case w < 86:
		e.Kind = KindTeamCancel
	case w < 90:
		e.Kind, e.Member, e.Target = KindAllowance, g.member(), "rooms"
		e.Offset, e.Length = hours(-2, 24), hours(1, 72)
	case w < 93:
		e.Kind, e.Member = KindSuspend, g.member()
	case w < 96:
		e.Kind, e.Member = KindUnsuspend, g.member()
	case w < 98:
		e.Kind, e.Offset = KindBuffer, Dur(time.Duration(g.r.IntN(4))*10*time.Minute)
	default:
		e.Kind, e.Target = KindMapping, []string{"base", "rooms-front", "no-allowance"}[g.r.IntN(3)]
	}
	if e.Kind == "" {
		return
	}
	g.add(e)
}

var (
	bugs = []string{BugEmptyBookings, BugEmptyPlans, BugTruncated, BugNoLocation, BugWrongZone,
		BugEndsNow, BugInvalidEmail, BugUnknownZone, BugDuplicates, BugMissingMembers}
	kisiFaults = []string{KisiErrors, KisiCreateOutage, KisiOutage, KisiThrottle, KisiForbidGroup,
		KisiForbidLinks, KisiRefuseUser, KisiDeleteUser, KisiHandRole, KisiDeleteGroup}
	groupNames = []string{"berlin-front", "nyc-front", "room-a", "room-b", "room-c"}
)

// fault adds one event of the exporter, Kisi or the machine at at.
func (g *gen) fault(at time.Duration) {
	e := Event{At: Dur(at)}
	minutes := func(lo, hi int) Dur { return Dur(time.Duration(lo+g.r.IntN(hi-lo+1)) * time.Minute) }
	switch w := g.r.IntN(100); {
	case w < 30:
		e.Kind, e.Target, e.Length = KindExport, bugs[g.r.IntN(len(bugs))], minutes(10, 240)
		e.Member = g.member()
	case w < 70:
		e.Kind, e.Target, e.Length = KindKisi, kisiFaults[g.r.IntN(len(kisiFaults))], minutes(5, 600)
		e.Member = g.member()
		if e.Target == KisiForbidGroup || e.Target == KisiHandRole {
			e.Group = groupNames[g.r.IntN(len(groupNames))]
		}
		if g.chance(0.15) {
			e.Length = minutes(24*60, 9*24*60) // a long one: days
		}
	case w < 80:
		e.Kind, e.N = KindCrash, 1+g.r.IntN(12)
	case w < 88:
		e.Kind, e.N = KindStall, 1+g.r.IntN(12)
	case w < 92:
		e.Kind = KindStoreLost
	case w < 96:
		e.Kind, e.Offset = KindStoreRestore, minutes(60, 24*60)
	default:
		e.Kind, e.Length = KindNotifierDown, minutes(10, 600)
	}
	g.add(e)
}
