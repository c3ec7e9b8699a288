// Package textfmt is the one place that decides how this module writes
// times, windows, durations and counts in sentences for people (findings,
// explanations, plans), so every report reads alike:
//
//   - an instant in a sentence: "Mon 2 Jan 2006 15:04 MST" ([Time]), or
//     only "15:04 MST" on the same local day as a reference instant
//     ([ClockOrTime]);
//   - a window in a table or beside a role: "2006-01-02 14:00–15:00 MST"
//     ([Window], [Validity]);
//   - a duration: "1 hour 5 minutes" ([Duration]);
//   - a count: "1 door", "3 doors" ([Plural]).
//
// Every function takes the time zone explicitly (nil means UTC) and reads
// no clock. It imports schedule only (for [schedule.Forever]).
//
// # Usage
//
//	fmt.Sprintf("%s failed, the last at %s", textfmt.Plural(n, "unlock", "unlocks"), textfmt.Time(at, loc))
package textfmt
