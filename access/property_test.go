package access_test

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/reason"
	"github.com/kisisync/kisisync/internal/spacegen"
	"github.com/kisisync/kisisync/schedule"
)

// TestPropertySlotRule checks, for random spaces and policies, that every
// window of Desired is in force or starts within the lead time, that
// Desired holds at most one window per (member, group) in email order, and
// that Access over a horizon agrees with Desired sampled minute by minute.
func TestPropertySlotRule(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 42))
			s, m := spacegen.Generate(spacegen.Small(seed, monday))
			p := access.Policy{
				Buffer: schedule.Buffer{Before: time.Duration(r.IntN(31)) * time.Minute, After: time.Duration(r.IntN(31)) * time.Minute},
				Lead:   time.Duration(r.IntN(61)) * time.Minute,
			}
			if seed == 2 {
				p.CheckInFor = 3 * time.Hour
				p.ResourceBuffers = map[string]schedule.Buffer{s.Resources[0].ID: {Before: time.Hour}}
			}
			start := monday.Add(time.Duration(r.IntN(5*24)) * time.Hour)
			span := 6 * time.Hour
			all, err := access.Access(s, m, p, schedule.Interval{Start: start, End: start.Add(span + p.Lead + time.Minute)})
			require.NoError(t, err)
			type key struct {
				member string
				group  int64
			}
			windows := map[key][]schedule.Interval{}
			for _, g := range all {
				k := key{g.MemberID, g.GroupID}
				windows[k] = append(windows[k], g.Window)
			}
			for at := start; at.Before(start.Add(span)); at = at.Add(time.Minute) {
				got, err := access.Desired(s, m, p, at)
				require.NoError(t, err)
				seen := map[key]bool{}
				for i, g := range got {
					k := key{g.MemberID, g.GroupID}
					require.False(t, seen[k], "two windows for %v at %v", k, at)
					seen[k] = true
					inForce := !g.Window.Start.After(at) && g.Window.End.After(at)
					soon := g.Window.Start.After(at) && !g.Window.Start.After(at.Add(p.Lead))
					require.True(t, inForce || soon, "window %v at %v, lead %v", g.Window, at, p.Lead)
					if i > 0 {
						prev := got[i-1]
						require.Negative(t, cmp.Or(cmp.Compare(prev.Email, g.Email), cmp.Compare(prev.GroupID, g.GroupID)), "order at %v", at)
					}
					ws := windows[k]
					j := slices.IndexFunc(ws, func(w schedule.Interval) bool { return w.End.After(at) })
					require.GreaterOrEqual(t, j, 0, "Access has no window for %v at %v", k, at)
					require.True(t, ws[j].Start.Equal(g.Window.Start) && ws[j].End.Equal(g.Window.End), "at %v: Access %v, Desired %v", at, ws[j], g.Window)
				}
				for k, ws := range windows {
					j := slices.IndexFunc(ws, func(w schedule.Interval) bool { return w.End.After(at) })
					if j >= 0 && !ws[j].Start.After(at.Add(p.Lead)) {
						require.True(t, seen[k], "at %v: Desired misses %v %v", at, k, ws[j])
					}
				}
			}
		})
	}
}

// TestPropertyNextChange checks that Desired does not change before the
// instant NextChange announces.
func TestPropertyNextChange(t *testing.T) {
	t.Parallel()
	for seed := uint64(4); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			s, m := spacegen.Generate(spacegen.Small(seed, monday))
			p := access.DefaultPolicy()
			start := monday.Add(time.Duration(seed*7) * time.Hour)
			var base []string
			var next time.Time
			changes := 0
			for at := start; at.Before(start.Add(8 * time.Hour)); at = at.Add(time.Minute) {
				got, err := access.Desired(s, m, p, at)
				require.NoError(t, err)
				links, err := access.Links(s, m, p, at)
				require.NoError(t, err)
				cur := append(show(got), showLinks(links)...)
				if base != nil && at.Before(next) {
					require.Equal(t, base, cur, "Desired changed at %v before NextChange %v", at, next)
					continue
				}
				n, ok := access.NextChange(s, m, p, at)
				require.True(t, ok)
				require.True(t, n.After(at))
				base, next = cur, n
				changes++
			}
			require.Greater(t, changes, 1)
		})
	}
}

// FuzzDesired checks the slot rule on generated spaces for arbitrary
// seeds, instants and lead times.
func FuzzDesired(f *testing.F) {
	f.Add(uint64(1), uint16(600), uint8(20), uint8(5))
	f.Add(uint64(9), uint16(0), uint8(0), uint8(0))
	f.Add(uint64(3), uint16(9000), uint8(255), uint8(90))
	f.Fuzz(func(t *testing.T, seed uint64, minute uint16, lead, buffer uint8) {
		s, m := spacegen.Generate(spacegen.Small(seed, monday))
		p := access.Policy{Lead: time.Duration(lead) * time.Minute,
			Buffer: schedule.Buffer{Before: time.Duration(buffer) * time.Minute, After: time.Duration(buffer) * time.Minute}}
		at := monday.Add(time.Duration(minute) * time.Minute)
		got, err := access.Desired(s, m, p, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range got {
			inForce := !g.Window.Start.After(at) && g.Window.End.After(at)
			soon := g.Window.Start.After(at) && !g.Window.Start.After(at.Add(p.Lead))
			if !inForce && !soon {
				t.Fatalf("window %v at %v, lead %v", g.Window, at, p.Lead)
			}
		}
	})
}

// TestPropertyExplainAgrees checks that Explain decides as Desired does:
// for random spaces, every member and several instants, the groups Explain
// shows in Kisi are exactly those Desired grants the member, with the same
// slot, a group is allowed exactly when one of its sources applies, every
// group without access has a reason with a code, and every source has a
// code.
func TestPropertyExplainAgrees(t *testing.T) {
	t.Parallel()
	for seed := uint64(6); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			s, m := spacegen.Generate(spacegen.Small(seed, monday))
			m.DropIn.AddToGroup = seed == 7
			// An assignment without rules whose buffers the instants below
			// fall into (35:13 and 56:13 after Monday 00:00).
			res := s.Resources[0].ID
			m.Resources = maps.Clone(m.Resources)
			m.Resources[res] = append(slices.Clone(m.Resources[res]), 999)
			s.Assignments = append(s.Assignments, access.Assignment{ID: "always", ResourceID: res, MemberID: s.Members[0].ID,
				Start: monday.Add(35*time.Hour + 15*time.Minute), End: monday.Add(56*time.Hour + 10*time.Minute)})
			p := access.DefaultPolicy()
			for h := 0; h < 5*24; h += 7 {
				at := monday.Add(time.Duration(h)*time.Hour + 13*time.Minute)
				got, err := access.Desired(s, m, p, at)
				require.NoError(t, err)
				want := map[string][]string{}
				for _, g := range got {
					want[g.MemberID] = append(want[g.MemberID], fmt.Sprintf("%d %v", g.GroupID, g.Window))
				}
				for _, mb := range s.Members {
					x, err := access.Explain(s, m, p, mb.ID, at)
					require.NoError(t, err)
					var inKisi []string
					for _, gx := range x.Groups {
						if gx.InKisi {
							inKisi = append(inKisi, fmt.Sprintf("%d %v", gx.GroupID, *gx.Slot))
						}
						if !gx.Allowed {
							require.NotEmpty(t, gx.ReasonCode, "member %s group %d at %v", mb.ID, gx.GroupID, at)
						}
						applies := false
						for _, sx := range gx.Sources {
							require.NotEmpty(t, sx.Code, "member %s source %s %s", mb.ID, sx.Kind, sx.ID)
							require.Equal(t, sx.Applies, sx.Code == reason.InForce, "member %s source %s %s: %s", mb.ID, sx.Kind, sx.ID, sx.Note)
							applies = applies || sx.Applies
						}
						require.Equal(t, gx.Allowed, applies, "member %s group %d at %v: a source applies exactly when the group is allowed", mb.ID, gx.GroupID, at)
					}
					require.Equal(t, want[mb.ID], inKisi, "member %s at %v", mb.ID, at)
				}
			}
		})
	}
}
