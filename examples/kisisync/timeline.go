package main

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/internal/times"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// The kinds of what a timeline draws: the class of an SVG rect.
const (
	kindAccess = "access" // a merged window: the member has access
	kindLead   = "lead"   // the lead time before a merged window: Kisi holds the role, the doors stay shut
	kindSource = "source" // the core of a source's window
	kindBuffer = "buffer" // the buffer around a source's window
	kindKisi   = "kisi"   // a role Kisi holds (diagnose reads it): drawn beside what the platform wants
)

// weekDays is how many days a timeline shows.
const weekDays = 7

// restriction is one of Kisi's time restrictions on a group: its name and
// when it occurs (kisi.Schedule's String, in the place's time zone), shown
// on one line, and, where Kisi's schedule was read, the schedule and the
// zone of its place, with which its hours are drawn (see [hours]).
type restriction struct {
	name, when string
	sc         *kisi.Schedule // nil: known by name and words only, not drawn
	zone       *time.Location // the zone of the schedule's place; nil: Kisi gave none
}

// timeline is the member's week, per group: what the text and the SVG
// draw.
type timeline struct {
	member  string // "m-bruno (Bruno Costa)", on one line
	at      time.Time
	lead    time.Duration
	problem string // why there is nothing to draw
	groups  []weekOfGroup
}

// weekOfGroup is one group's week in the group's zone.
type weekOfGroup struct {
	id           int64
	name         string // the group's name in Kisi; "" when not known (explain reads no Kisi)
	zone         *time.Location
	days         [weekDays + 1]time.Time // local midnights; days[weekDays] ends the week
	restrictions []restriction
	lanes        []lane // lanes[0] is the merged access
}

// lane is one row of a group's week: the merged access or one source.
type lane struct {
	label string
	spans []span // clipped to the week, in order
	// windows counts the windows drawn: one per window of the lane that
	// overlaps the week (its lead and buffers are parts of it).
	windows int
	note    string // said of a source's lane that draws nothing in the week
}

// span is a stretch of one kind, clipped to the week.
type span struct {
	kind       string
	start, end time.Time
	window     int // the lane's window it is part of, from 0
	// from and to are the stretch before clipping; to is
	// schedule.Forever when open-ended.
	from, to time.Time
}

// newTimeline lays out the week of x from local midnight of x.At's day, per
// group in the group's zone. lead is the policy's lead time;
// restrictions are Kisi's time restrictions by group id (nil: unknown).
// Labels taken from the input are put on one line (see [oneLine]).
func newTimeline(x access.Explanation, lead time.Duration, restrictions map[int64][]restriction) timeline {
	tl := timeline{member: oneLine(textfmt.MemberLabel(x.MemberID, x.Name, "")), at: x.At, lead: lead, problem: oneLine(x.Problem)}
	if len(x.Groups) == 0 && tl.problem == "" {
		tl.problem = "No group gives or could give this member access."
	}
	for _, g := range x.Groups {
		zone := textfmt.Zone(g.Zone)
		wg := weekOfGroup{id: g.GroupID, zone: zone, days: weekFrom(x.At, zone), restrictions: restrictions[g.GroupID]}
		wg.lanes = append(wg.lanes, wg.accessLane(g.Windows, lead))
		for _, r := range wg.restrictions {
			if l, ok := wg.hoursLane(r); ok {
				wg.lanes = append(wg.lanes, l)
			}
		}
		for _, sx := range g.Sources {
			wg.lanes = append(wg.lanes, wg.sourceLane(sx))
		}
		tl.groups = append(tl.groups, wg)
	}
	return tl
}

// oneLine replaces the control characters of s, newlines among them, with
// spaces, so that a label from the input stays on its row.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// weekFrom returns the local midnights of the seven days from at's local
// day in loc, and the midnight that ends them: stepped by calendar day, so
// a day with a DST change is 23 or 25 hours long. A midnight the clocks
// skip is the instant they jump, as [schedule.WallTime] resolves it.
func weekFrom(at time.Time, loc *time.Location) [weekDays + 1]time.Time {
	var days [weekDays + 1]time.Time
	y, m, d := at.In(loc).Date()
	for i := range days {
		days[i] = schedule.WallTime(loc, y, m, d+i, 0, 0)
	}
	return days
}

// clip clips [s, e) to the group's week; ok is false when nothing is left.
func (wg *weekOfGroup) clip(s, e time.Time) (time.Time, time.Time, bool) {
	if s.Before(wg.days[0]) {
		s = wg.days[0]
	}
	if e.After(wg.days[weekDays]) {
		e = wg.days[weekDays]
	}
	return s, e, s.Before(e)
}

// add appends the span [s, e) of kind, clipped, to l as part of window w.
func (wg *weekOfGroup) add(l *lane, kind string, s, e time.Time, w int) {
	if cs, ce, ok := wg.clip(s, e); ok {
		l.spans = append(l.spans, span{kind: kind, start: cs, end: ce, window: w, from: s, to: e})
	}
}

// accessLane draws the merged windows (sorted, as an Explanation gives
// them), each with the lead time before its start, when Kisi is given the
// role. A lead starts no earlier than the end of the window before: there
// the member has access, and Kisi holds the role for it.
func (wg *weekOfGroup) accessLane(windows []schedule.Interval, lead time.Duration) lane {
	l := lane{label: "access"}
	var prevEnd time.Time
	for _, w := range windows {
		leadStart := times.Later(w.Start.Add(-lead), prevEnd)
		prevEnd = times.Later(w.End, prevEnd)
		if _, _, ok := wg.clip(times.Earlier(leadStart, w.Start), w.End); !ok {
			continue
		}
		if lead > 0 {
			wg.add(&l, kindLead, leadStart, w.Start, l.windows)
		}
		wg.add(&l, kindAccess, w.Start, w.End, l.windows)
		l.windows++
	}
	return l
}

// sourceLane draws a source's windows, the buffer apart from the core.
func (wg *weekOfGroup) sourceLane(sx access.SourceExplanation) lane {
	l := lane{label: oneLine(sourceLabel(sx))}
	for _, w := range sx.Windows {
		if _, _, ok := wg.clip(w.Start, w.End); !ok {
			continue
		}
		coreStart, coreEnd := w.Start.Add(sx.Buffer.Before), w.End
		if !w.End.Equal(schedule.Forever) {
			coreEnd = w.End.Add(-sx.Buffer.After)
		}
		if coreEnd.Before(coreStart) {
			coreStart, coreEnd = w.Start, w.Start
		}
		wg.add(&l, kindBuffer, w.Start, coreStart, l.windows)
		wg.add(&l, kindSource, coreStart, coreEnd, l.windows)
		wg.add(&l, kindBuffer, coreEnd, w.End, l.windows)
		l.windows++
	}
	if len(sx.Windows) == 0 {
		// Its code, then the reason in words as explain says it (a narrow
		// text clips the words, never the code).
		l.note = "gives no access (" + string(sx.Code) + ")"
		if sx.Note != "" {
			l.note = string(sx.Code) + ": " + strings.TrimSuffix(sx.Note, ".")
		}
		l.note = oneLine(l.note)
	}
	return l
}

// sourceLabel names a source: "booking bk-1 (room-spree)".
func sourceLabel(sx access.SourceExplanation) string {
	s := sx.Kind + " " + sx.ID
	if sx.Ref != "" {
		s += " (" + sx.Ref + ")"
	}
	return s
}

// The glyphs of the text timeline, plain ASCII.
var glyphs = map[string]byte{kindAccess: '#', kindSource: '=', kindBuffer: '+', kindLead: '>', kindKisi: 'K', kindHours: 'H'}

// rank breaks ties between kinds that fill a column equally: the
// strongest is drawn.
var rank = map[string]int{kindLead: 1, kindBuffer: 2, kindSource: 3, kindAccess: 3, kindKisi: 3, kindHours: 3}

// The widths of the label columns of the text timeline: the day, then the
// lane.
const (
	textDayWidth  = 10 // "Wed 10 Jun"
	textLaneWidth = 36
)

// columnsPerDay is the most columns per day, among 48 (half-hours), 24
// (hours), 12, 8, 6, 4, 3 and 2, with which a day's row fits in width; at
// least one.
func columnsPerDay(width int) int {
	for _, c := range []int{48, 24, 12, 8, 6, 4, 3, 2} {
		if textDayWidth+1+textLaneWidth+1+c+2 <= width {
			return c
		}
	}
	return 1
}

// onDay returns the spans of l on day d of wg, clipped to the day.
func (wg *weekOfGroup) onDay(l lane, d int) []span {
	var out []span
	for _, s := range l.spans {
		if s.start.Before(wg.days[d+1]) && s.end.After(wg.days[d]) {
			s.start, s.end = times.Later(s.start, wg.days[d]), times.Earlier(s.end, wg.days[d+1])
			out = append(out, s)
		}
	}
	return out
}

// shown reports whether lane li of wg is drawn on day d: the access lane
// always, a source's lane on the days it draws something.
func (wg *weekOfGroup) shown(li, d int) bool {
	return li == 0 || len(wg.onDay(wg.lanes[li], d)) > 0
}

// undrawn lists the source lanes drawn on no day, with the reason.
func (wg *weekOfGroup) undrawn() []lane {
	var out []lane
	for _, l := range wg.lanes[1:] {
		if len(l.spans) == 0 {
			if l.note == "" {
				l.note = "no access this week"
			}
			out = append(out, l)
		}
	}
	return out
}

// renderTimeline draws tl as plain ASCII text at most width columns wide:
// per group, one row per day and lane, the day's hours across (for width
// 100: one column per half-hour).
func renderTimeline(tl timeline, width int) string {
	var b strings.Builder
	cols := columnsPerDay(width)
	// Two lines, so that a narrow timeline stays narrow.
	fmt.Fprintf(&b, "Timeline of member %s, per group:\n  the week from %s\n", tl.member, tl.when())
	if tl.lead > 0 {
		fmt.Fprintf(&b, "  # access   > lead time: Kisi holds the role %s ahead, doors shut\n", schedule.FormatDuration(tl.lead))
	} else {
		fmt.Fprintf(&b, "  # access   (no lead time: Kisi gets the role as access opens)\n")
	}
	fmt.Fprintf(&b, "  = source   + buffer   v now   (one column: %s)\n", textfmt.Duration(24*time.Hour/time.Duration(cols)))
	if tl.drawsKisi() {
		b.WriteString("  K a role Kisi holds now (read from Kisi)\n")
	}
	if tl.drawsHours() {
		b.WriteString("  H hours of a Kisi time restriction, in its place's zone\n")
	}
	if tl.problem != "" && len(tl.groups) == 0 {
		fmt.Fprintf(&b, "\nNothing to draw: %s\n", tl.problem)
		return b.String()
	}
	indent := strings.Repeat(" ", textDayWidth+1+textLaneWidth+1)
	for _, wg := range tl.groups {
		fmt.Fprintf(&b, "\n%s:\n", wg.heading())
		for _, r := range wg.restrictions {
			fmt.Fprintf(&b, "  %s\n", clipLabel(r.line(wg.zone), width-2))
		}
		fmt.Fprintf(&b, "%s%s\n", indent, strings.TrimRight(hourRuler(cols), " "))
		gap := false
		for d := range weekDays {
			bounds := wg.columns(d, cols)
			if d == 0 {
				marker := []byte(strings.Repeat(" ", cols+2))
				if c, ok := column(bounds, tl.at); ok {
					marker[c+1] = 'v'
				}
				fmt.Fprintf(&b, "%-*s %-*s %s\n", textDayWidth, "", textLaneWidth, "now "+textfmt.Clock(tl.at, wg.zone), strings.TrimRight(string(marker), " "))
			}
			day := wg.dayLabel(d)
			for li, l := range wg.lanes {
				if !wg.shown(li, d) {
					continue
				}
				row, skipped := drawRow(wg.onDay(l, d), bounds)
				gap = gap || skipped
				fmt.Fprintf(&b, "%-*s %-*s %s\n", textDayWidth, day, textLaneWidth, clipLabel(l.label, textLaneWidth), row)
				day = ""
			}
		}
		for _, l := range wg.undrawn() {
			note := clipLabel(l.note, max(width-textDayWidth-textLaneWidth-2, 10))
			fmt.Fprintf(&b, "%-*s %-*s %s\n", textDayWidth, "", textLaneWidth, clipLabel(l.label, textLaneWidth), note)
		}
		if gap {
			fmt.Fprintf(&b, "  (blank columns: local times the clocks skip at a DST change)\n")
		}
	}
	return b.String()
}

// heading titles the timeline. It names no date: each group's week is
// its own local days, which its heading names.
func (tl timeline) heading() string {
	return "Timeline of member " + tl.member + ", per group, the week from " + tl.when()
}

// when is the moment the timeline is drawn for (--at, else now), in the
// zone of its first group.
func (tl timeline) when() string {
	zone := time.UTC
	if len(tl.groups) > 0 {
		zone = tl.groups[0].zone
	}
	return textfmt.Time(tl.at, zone)
}

// kisiHolds adds, under each group's access lane, a lane of the roles Kisi
// holds for the member in that group (by group id; a zero Start means
// since the role was made, an End of schedule.Forever no end), so that
// "the platform says yes, Kisi says no" shows. A group with no role gets
// the lane too, empty, with a note.
func (tl *timeline) kisiHolds(roles map[int64][]schedule.Interval) {
	for i := range tl.groups {
		wg := &tl.groups[i]
		l := lane{label: "Kisi holds", note: "no role in Kisi this week"}
		for _, w := range roles[wg.id] {
			from := w.Start
			if from.IsZero() {
				from = wg.days[0]
			}
			wg.add(&l, kindKisi, from, w.End, l.windows)
			l.windows++
		}
		wg.lanes = append(wg.lanes[:1], append([]lane{l}, wg.lanes[1:]...)...)
	}
}

// drawsKisi reports whether the timeline has lanes of what Kisi holds.
func (tl timeline) drawsKisi() bool {
	for _, wg := range tl.groups {
		for _, l := range wg.lanes {
			if l.label == "Kisi holds" {
				return true
			}
		}
	}
	return false
}

// named sets the groups' names from Kisi (by id); a name is put on one line.
func (tl *timeline) named(names map[int64]string) {
	for i := range tl.groups {
		tl.groups[i].name = oneLine(names[tl.groups[i].id])
	}
}

// heading titles a group's week with its zone and its local days: "Group
// 102 (Europe/Berlin), Wed 10 Jun – Tue 16 Jun 2026". textfmt has no
// layout for a span of dates without the time of day.
func (wg *weekOfGroup) heading() string {
	name := ""
	if wg.name != "" {
		name = fmt.Sprintf(" %q", wg.name)
	}
	return fmt.Sprintf("Group %d%s (%s), %s – %s", wg.id, name, wg.zone, wg.dayLabel(0), wg.days[weekDays-1].In(wg.zone).Format("Mon 2 Jan 2006"))
}

// clockTimes lists the stretches of kind on day d of lane l as exact local
// times, "08:55–10:05, 13:55–15:05" (24:00 for a stretch that runs past
// midnight), or says "no access".
func (wg *weekOfGroup) clockTimes(l lane, d int, kind string) string {
	var out []string
	for _, s := range wg.onDay(l, d) {
		if s.kind != kind {
			continue
		}
		end := s.end.In(wg.zone).Format("15:04")
		if !s.end.Before(wg.days[d+1]) {
			end = "24:00"
		}
		out = append(out, s.start.In(wg.zone).Format("15:04")+"–"+end)
	}
	if len(out) == 0 {
		return "no access"
	}
	return strings.Join(out, ", ")
}

// dayLabel labels the row of day d: "Wed 10 Jun", compact so that it fits
// the day column (textfmt's layouts carry the year and the time of day).
func (wg *weekOfGroup) dayLabel(d int) string {
	return wg.days[d].In(wg.zone).Format("Mon 2 Jan")
}

// hourRuler labels the hours of a day row of cols columns, every 3 hours
// where they fit (else every 6 or 12).
func hourRuler(cols int) string {
	step := 3
	for _, s := range []int{3, 6, 12} {
		step = s
		if s*cols/24 >= 4 {
			break
		}
	}
	row := []byte(strings.Repeat(" ", cols+2))
	for h := 0; h < 24; h += step {
		c := h * cols / 24
		copy(row[c+1:], fmt.Sprintf("%02d", h))
	}
	return string(row)
}

// columns returns the starts of the columns of day d and the day's end:
// column k starts at the wall-clock time k × (a day / cols), so the hours
// stay true on a day with a DST change; a column of local times that do
// not exist is empty (its start is its end).
func (wg *weekOfGroup) columns(d, cols int) []time.Time {
	y, m, day := wg.days[d].In(wg.zone).Date()
	out := []time.Time{wg.days[d]}
	for k := 1; k < cols; k++ {
		t := schedule.WallTime(wg.zone, y, m, day, 0, k*24*60/cols)
		if t.Before(out[len(out)-1]) {
			t = out[len(out)-1]
		}
		out = append(out, t)
	}
	return append(out, wg.days[d+1])
}

// column returns the column of the instant t among the columns bounds
// start; ok is false outside them.
func column(bounds []time.Time, t time.Time) (int, bool) {
	for i := 0; i+1 < len(bounds); i++ {
		if !t.Before(bounds[i]) && t.Before(bounds[i+1]) {
			return i, true
		}
	}
	return 0, false
}

// drawRow draws one day of a lane between '|': a column shows the kind
// that fills most of it (on a tie the stronger: access or source, then
// buffer, then lead), however little, '.' for none, ' ' for local times
// that do not exist (skipped reports one).
func drawRow(spans []span, bounds []time.Time) (row string, skipped bool) {
	n := len(bounds) - 1
	out := make([]byte, 0, n+2)
	out = append(out, '|')
	for i := range n {
		if !bounds[i].Before(bounds[i+1]) {
			out, skipped = append(out, ' '), true
			continue
		}
		cover := map[string]time.Duration{}
		best := ""
		for _, s := range spans {
			if d := times.Earlier(s.end, bounds[i+1]).Sub(times.Later(s.start, bounds[i])); d > 0 {
				cover[s.kind] += d
			}
		}
		for k, d := range cover {
			if best == "" || d > cover[best] || (d == cover[best] && rank[k] > rank[best]) {
				best = k
			}
		}
		g := byte('.')
		if best != "" {
			g = glyphs[best]
		}
		out = append(out, g)
	}
	return string(append(out, '|')), skipped
}

// clipLabel shortens s to width runes, ending in "..".
func clipLabel(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-2]) + ".."
}
