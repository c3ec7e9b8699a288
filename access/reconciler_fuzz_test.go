package access

import (
	"testing"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/schedule"
)

// FuzzDiff checks the invariants of the plan engine on arbitrary Store
// contents and desired grants: at most one Kisi write per key, the fixed
// order of the parts, creates soonest first, nothing desired left out, and
// nothing deleted that the Store does not hold as settled.
func FuzzDiff(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{255, 17, 34, 51, 68, 85, 102, 119, 136, 153, 170, 187, 204, 221, 238})
	f.Add([]byte{3, 3, 3, 3, 0, 0, 0, 0, 1, 1, 1, 1})
	now := time.Date(2026, time.June, 10, 12, 0, 0, 0, time.UTC)
	emails := []string{"a@x.io", "b@x.io", "c@x.io"}
	windows := []schedule.Interval{
		{Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)}, // ended
		{Start: now.Add(-time.Hour), End: now.Add(time.Hour)},
		{Start: now.Add(10 * time.Minute), End: now.Add(2 * time.Hour)},
		{Start: now.Add(-time.Hour), End: schedule.Forever},
	}
	states := []state.RecordState{state.StateSettled, state.StatePending, state.StateGone, state.StateConflict}
	f.Fuzz(func(t *testing.T, data []byte) {
		var recs []state.Record
		var grants []Grant
		res := map[string]resolution{}
		seenRec, seenGrant := map[string]bool{}, map[string]bool{}
		for i := 0; i+1 < len(data); i += 2 {
			a, b := data[i], data[i+1]
			email, group := emails[int(a)%3], int64(a/3%2+1)
			key := state.RoleKey(email, group)
			w := windows[int(b)%len(windows)]
			if a&0x80 == 0 {
				if seenRec[key] {
					continue
				}
				seenRec[key] = true
				rec := state.Record{Key: key, Kind: state.KindRole, State: states[int(b/4)%len(states)], Email: email,
					GroupID: group, UserID: 7, KisiID: int64(i + 1), Window: w}
				recs = append(recs, rec)
				if rec.State == state.StatePending {
					switch b % 3 {
					case 0:
						res[key] = resolution{found: true, kisiID: 99, window: w}
					case 1:
						res[key] = resolution{}
					}
				}
				continue
			}
			if seenGrant[key] || ended(w, now) {
				continue
			}
			seenGrant[key] = true
			grants = append(grants, Grant{MemberID: email, Email: email, GroupID: group, Window: w})
		}
		h := holding{now: now, validity: DefaultValidity, loc: time.UTC}
		c := diff(diffInput{now: now, lead: 20 * time.Minute, hold: h, recs: recs, grants: grants, res: res})

		byKey := map[string]state.Record{}
		for _, r := range recs {
			byKey[r.Key] = r
		}
		writes := map[string]int{}
		lastPart, lastStart := -1, time.Time{}
		cuts := 0
		for _, ch := range c.Changes {
			part := 0
			switch {
			case ch.Action == ActionAdopt || ch.Action == ActionForget:
				part = 0
			case ch.Action == ActionDelete && !ch.Expired:
				part = 1
			case replacesInForce(ch, c.At):
				part = 4 // once creates have shown they work
			case ch.Action == ActionReplace:
				part = 2
			case ch.Action == ActionCreate:
				part = 3
			case ch.Object == ObjectLink:
				part = 1 // expired links go before creates
			default:
				part = 5
			}
			if part < lastPart {
				t.Fatalf("change %+v out of order:\n%s", ch, c)
			}
			if part == 3 {
				if part == lastPart && ch.Window.Start.Before(lastStart) {
					t.Fatalf("creates not soonest first:\n%s", c)
				}
				lastStart = ch.Window.Start
			}
			lastPart = part
			if ch.Cut != "" {
				cuts++
				if ch.Action != ActionDelete && ch.Action != ActionReplace {
					t.Fatalf("%s classified as a cut:\n%s", ch.Action, c)
				}
			}
			if ch.Action == ActionDelete && !ch.Expired && due(*ch.Old, now, 20*time.Minute) && ch.Cut == "" {
				t.Fatalf("revocation of %s in force not counted as a cut:\n%s", ch.Key, c)
			}
			if part >= 1 {
				writes[ch.Key]++
				if writes[ch.Key] > 1 {
					t.Fatalf("two Kisi writes for %s:\n%s", ch.Key, c)
				}
			}
			if ch.Action == ActionDelete || ch.Action == ActionReplace {
				rec := byKey[ch.Key]
				if rec.State != state.StateSettled && !(rec.State == state.StatePending && res[ch.Key].found) {
					t.Fatalf("%s of %s whose record is %s:\n%s", ch.Action, ch.Key, rec.State, c)
				}
			}
		}
		if cuts != c.Revocations {
			t.Fatalf("Revocations = %d, want %d", c.Revocations, cuts)
		}
		for _, g := range grants {
			key := state.RoleKey(g.Email, g.GroupID)
			rec, have := byKey[key]
			if writes[key] > 0 || have && rec.State == state.StateConflict {
				continue
			}
			if have && rec.State == state.StatePending {
				if _, ok := res[key]; !ok {
					continue // unresolved: left alone
				}
				if r := res[key]; r.found && h.keeps(key, g.GroupID, r.window, g.Window) {
					continue
				}
			}
			if have && rec.State == state.StateSettled && h.keeps(key, g.GroupID, rec.Window, g.Window) {
				continue
			}
			t.Fatalf("desired %s %v not planned:\n%s", key, g.Window, c)
		}
	})
}
