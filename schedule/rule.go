package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Clock is a wall-clock time of day, hour 0–23 and minute 0–59. Its text and JSON form is
// "HH:MM" ("09:00"). The zero Clock is midnight.
type Clock struct {
	// Hour is the hour of the day, 0–23 (24-hour clock).
	Hour int
	// Minute is the minute of the hour, 0–59.
	Minute int
}

// Validate returns an error matching [ErrInvalid] naming the field out of range.
func (c Clock) Validate() error {
	if msg := c.check(); msg != "" {
		return invalid("schedule: clock " + msg)
	}
	return nil
}

func (c Clock) check() string {
	if c.Hour < 0 || c.Hour > 23 {
		return fmt.Sprintf("hour %d outside 0-23", c.Hour)
	}
	if c.Minute < 0 || c.Minute > 59 {
		return fmt.Sprintf("minute %d outside 0-59", c.Minute)
	}
	return ""
}

// Minutes returns the minutes since midnight, Hour*60 + Minute.
func (c Clock) Minutes() int { return c.Hour*60 + c.Minute }

// String formats c as "HH:MM".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// ParseClock parses "HH:MM" (or "H:MM"), 24-hour, as in "09:00" or "17:30".
func ParseClock(s string) (Clock, error) {
	c, msg := parseClock(s)
	if msg != "" {
		return Clock{}, invalid(fmt.Sprintf("schedule: parse clock %q: %s", s, msg))
	}
	return c, nil
}

// parseClock parses "HH:MM", or explains in a message what is wrong.
func parseClock(s string) (Clock, string) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 || !digits(hh) || !digits(mm) {
		return Clock{}, "want HH:MM"
	}
	h, _ := strconv.Atoi(hh)
	m, _ := strconv.Atoi(mm)
	c := Clock{Hour: h, Minute: m}
	if msg := c.check(); msg != "" {
		return Clock{}, msg
	}
	return c, ""
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// MarshalText encodes c as "HH:MM"; an out-of-range clock is an error.
func (c Clock) MarshalText() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return []byte(c.String()), nil
}

// UnmarshalText parses "HH:MM" as [ParseClock] does.
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Rule is a weekly recurrence in wall-clock time: on each of Days, from From to To in the time
// zone given to [Expand]. A rule whose To is not after From ends on the next day (Fri
// 22:00–02:00 ends Saturday 02:00); To equal to From means a whole day.
//
// Its JSON form is {"days":["mon","tue"],"from":"09:00","to":"17:00"}.
type Rule struct {
	// Days are the weekdays on which an occurrence starts; at least one, a repeated day
	// counts once. An overnight occurrence belongs to the day it starts on.
	Days []time.Weekday
	// From is the wall-clock time an occurrence starts.
	From Clock
	// To is the wall-clock time an occurrence ends: the same day when after From, else the
	// next day (To equal to From lasts 24 wall-clock hours).
	To Clock
}

// Validate returns an error matching [ErrInvalid] that names the bad field: empty Days, an
// invalid weekday, or From/To out of range.
func (r Rule) Validate() error {
	if msg := r.check(); msg != "" {
		return invalid("schedule: rule " + msg)
	}
	return nil
}

func (r Rule) check() string {
	if len(r.Days) == 0 {
		return "days: empty"
	}
	for i, d := range r.Days {
		if d < time.Sunday || d > time.Saturday {
			return fmt.Sprintf("days[%d]: invalid weekday %d", i, int(d))
		}
	}
	if msg := r.From.check(); msg != "" {
		return "from: " + msg
	}
	if msg := r.To.check(); msg != "" {
		return "to: " + msg
	}
	return ""
}

// Overnight reports whether an occurrence ends on the day after it starts (To not after From).
func (r Rule) Overnight() bool { return r.To.Minutes() <= r.From.Minutes() }

// String formats r as "mon,tue 09:00-17:00".
func (r Rule) String() string {
	names := make([]string, len(r.Days))
	for i, d := range r.Days {
		names[i] = dayName(d)
	}
	return strings.Join(names, ",") + " " + r.From.String() + "-" + r.To.String()
}

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func dayName(d time.Weekday) string {
	if d < time.Sunday || d > time.Saturday {
		return "weekday(" + strconv.Itoa(int(d)) + ")"
	}
	return dayNames[d]
}

// parseDay reads "mon" or "monday", in any case.
func parseDay(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for i, n := range dayNames {
		if s == n || s == strings.ToLower(time.Weekday(i).String()) {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

type ruleJSON struct {
	Days []string `json:"days"`
	From string   `json:"from"`
	To   string   `json:"to"`
}

// MarshalJSON encodes r as {"days":["mon",…],"from":"HH:MM","to":"HH:MM"}. An invalid rule is
// an error.
func (r Rule) MarshalJSON() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	w := ruleJSON{Days: make([]string, len(r.Days)), From: r.From.String(), To: r.To.String()}
	for i, d := range r.Days {
		w.Days[i] = dayNames[d]
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the form written by [Rule.MarshalJSON]. Days are "sun" … "sat" or
// full English names, in any case. The decoded rule is validated.
func (r *Rule) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	var w ruleJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("schedule: unmarshal rule: %w", err)
	}
	out := Rule{Days: make([]time.Weekday, len(w.Days))}
	var msg string
	if out.From, msg = parseClock(w.From); msg != "" {
		return invalid(fmt.Sprintf("schedule: unmarshal rule: from %q: %s", w.From, msg))
	}
	if out.To, msg = parseClock(w.To); msg != "" {
		return invalid(fmt.Sprintf("schedule: unmarshal rule: to %q: %s", w.To, msg))
	}
	for i, s := range w.Days {
		d, ok := parseDay(s)
		if !ok {
			return invalid(fmt.Sprintf("schedule: unmarshal rule: days[%d]: unknown weekday %q", i, s))
		}
		out.Days[i] = d
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*r = out
	return nil
}
