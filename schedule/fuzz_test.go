package schedule_test

import (
	"bytes"
	"math/bits"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kisisync/kisisync/schedule"
)

// gridIntervals decodes byte pairs as intervals on a 64-minute grid, and the same intervals as a
// bit set with bit k for the minute [k, k+1).
func gridIntervals(b []byte) ([]schedule.Interval, uint64) {
	var ivs []schedule.Interval
	var mask uint64
	for i := 0; i+1 < len(b); i += 2 {
		s, e := int(b[i]%65), int(b[i+1]%65)
		ivs = append(ivs, iv(s, e))
		for k := s; k < e; k++ {
			mask |= 1 << uint(k)
		}
	}
	return ivs, mask
}

// runs returns the maximal runs of set bits in mask as intervals on the grid.
func runs(mask uint64) []schedule.Interval {
	var out []schedule.Interval
	for k := 0; k < 64; {
		if mask&(1<<uint(k)) == 0 {
			k++
			continue
		}
		n := bits.TrailingZeros64(^(mask >> uint(k)))
		out = append(out, iv(k, k+n))
		k += n
	}
	return out
}

// sameIntervals reports whether a and b hold equal intervals in the same order (cheaper than
// cmp.Diff, which is used for the message only).
func sameIntervals(a, b []schedule.Interval) bool {
	return slices.EqualFunc(a, b, func(x, y schedule.Interval) bool { return x.Start.Equal(y.Start) && x.End.Equal(y.End) })
}

func FuzzSet(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0, 10, 20, 30}, []byte{5, 25})
	f.Add([]byte{10, 20, 0, 10, 30, 64}, []byte{10, 20, 10, 20})
	f.Add([]byte{9, 3, 5, 5, 0, 64}, []byte{63, 64, 0, 1})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{2, 7})
	f.Add(bytes.Repeat([]byte{3, 9, 40, 41, 60, 2, 17, 30}, 80), []byte{5, 50}) // large enough for the keyed sort
	f.Fuzz(func(t *testing.T, x, y []byte) {
		ax, am := gridIntervals(x)
		bx, bm := gridIntervals(y)
		a, b := schedule.NewSet(ax...), schedule.NewSet(bx...)
		for _, c := range []struct {
			name string
			got  schedule.Set
			want uint64
		}{
			{"NewSet(a)", a, am},
			{"NewSet(b)", b, bm},
			{"Union", a.Union(b), am | bm},
			{"Intersect", a.Intersect(b), am & bm},
			{"Subtract", a.Subtract(b), am &^ bm},
			{"Subtract reversed", b.Subtract(a), bm &^ am},
			{"NewSet of both", schedule.NewSet(append(ax, bx...)...), am | bm},
		} {
			// The runs of the model are exactly the normalized intervals.
			if want := runs(c.want); !sameIntervals(want, c.got.Intervals()) {
				t.Fatalf("%s of %v and %v (-want +got):\n%s", c.name, ax, bx, cmp.Diff(runs(c.want), c.got.Intervals()))
			}
		}
		for k := -1; k <= 65; k++ {
			want := k >= 0 && k < 64 && am&(1<<uint(k)) != 0
			if got := a.Contains(at(k).Add(30 * time.Second)); got != want {
				t.Fatalf("%v.Contains(minute %d) = %v, want %v", a, k, got, want)
			}
		}
	})
}

// fuzzZones are the zones FuzzExpand draws from: the DST cases of the package tests plus zones
// with unusual changes (midnight changes, negative DST, 45-minute offsets, a skipped day).
var fuzzZones = []string{
	"UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "Australia/Lord_Howe",
	"America/Santiago", "America/Havana", "Europe/Dublin", "Asia/Kathmandu", "America/St_Johns",
	"Pacific/Apia", "Africa/Casablanca", "Pacific/Chatham", "America/Sao_Paulo",
}

// bruteWall returns the earliest instant whose wall clock in loc is at or after w (the wall
// time read as UTC Unix seconds), scanning minute by minute: transitions since 1980 fall on
// whole minutes.
func bruteWall(loc *time.Location, w int64) int64 {
	for u := w - 15*3600; u <= w+15*3600; u += 60 {
		_, off := time.Unix(u, 0).In(loc).Zone()
		if u+int64(off) >= w {
			// Refine to the second in case the offset changed within the last minute.
			for v := u - 59; v <= u; v++ {
				if _, o := time.Unix(v, 0).In(loc).Zone(); v+int64(o) >= w {
					return v
				}
			}
			return u
		}
	}
	panic("bruteWall: no instant found")
}

// bruteExpand is an independent model of Expand: it tries every day around the window and
// resolves wall times by brute force.
func bruteExpand(rules []schedule.Rule, loc *time.Location, window schedule.Interval) schedule.Set {
	y, m, d := window.Start.In(loc).Date()
	days := int(window.End.Sub(window.Start)/(24*time.Hour)) + 6
	var ivs []schedule.Interval
	for i := -3; i < days; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC)
		for _, r := range rules {
			on := false
			for _, wd := range r.Days {
				on = on || wd == day.Weekday()
			}
			if !on {
				continue
			}
			endDay := d + i
			if r.To.Hour*60+r.To.Minute <= r.From.Hour*60+r.From.Minute {
				endDay++
			}
			sw := time.Date(y, m, d+i, r.From.Hour, r.From.Minute, 0, 0, time.UTC).Unix()
			ew := time.Date(y, m, endDay, r.To.Hour, r.To.Minute, 0, 0, time.UTC).Unix()
			o := schedule.Interval{Start: time.Unix(bruteWall(loc, sw), 0), End: time.Unix(bruteWall(loc, ew), 0)}
			if o.Overlaps(window) {
				ivs = append(ivs, o)
			}
		}
	}
	return schedule.NewSet(ivs...)
}

func FuzzExpand(f *testing.F) {
	// zone, window start in minutes after 2026-01-01, window length in minutes, rules as
	// 5 bytes each: weekday mask, from hour, from minute, to hour, to minute.
	f.Add(uint8(1), int32(0), uint16(7*24*60), []byte{0x3e, 9, 0, 17, 0})
	f.Add(uint8(1), int32(95000), uint16(3000), []byte{0x01, 1, 0, 3, 0, 0x40, 22, 0, 6, 0})    // New York, March
	f.Add(uint8(2), int32(124000), uint16(4000), []byte{0x41, 22, 0, 5, 0})                     // Berlin, March
	f.Add(uint8(5), int32(133000), uint16(4000), []byte{0x01, 1, 0, 3, 0, 0x01, 2, 15, 2, 45})  // Lord Howe, April
	f.Add(uint8(3), int32(395000), uint16(4000), []byte{0x7f, 2, 30, 2, 30})                    // Sydney, October
	f.Add(uint8(6), int32(133000), uint16(4000), []byte{0x7f, 0, 0, 0, 30, 0x7f, 23, 30, 0, 0}) // Santiago, midnight change
	f.Add(uint8(11), int32(-7370000), uint16(9000), []byte{0x7f, 0, 0, 0, 0})                   // Apia, 2011
	f.Add(uint8(0), int32(0), uint16(100), []byte{0x80, 24, 0, 60, 0})                          // invalid
	f.Fuzz(func(t *testing.T, zone uint8, startMin int32, length uint16, rb []byte) {
		loc, err := time.LoadLocation(fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			t.Skip(err)
		}
		// Windows between 1980 and about 2090, at most about two months long.
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(startMin%30_000_000) * time.Minute)
		window := schedule.Interval{Start: start, End: start.Add(time.Duration(length) * time.Minute)}
		if len(rb) > 20 {
			rb = rb[:20]
		}
		var rules []schedule.Rule
		valid := true
		for i := 0; i+4 < len(rb); i += 5 {
			var r schedule.Rule
			for d := range 8 {
				if rb[i]&(1<<uint(d)) != 0 {
					r.Days = append(r.Days, time.Weekday(d))
				}
			}
			r.From = schedule.Clock{Hour: int(rb[i+1] % 26), Minute: int(rb[i+2] % 62)}
			r.To = schedule.Clock{Hour: int(rb[i+3] % 26), Minute: int(rb[i+4] % 62)}
			valid = valid && r.Validate() == nil
			rules = append(rules, r)
		}
		got, err := schedule.Expand(rules, loc, window)
		if !valid {
			if err == nil {
				t.Fatalf("Expand(%v) accepted invalid rules", rules)
			}
			return
		}
		if err != nil {
			t.Fatalf("Expand(%v, %v, %v): %v", rules, loc, window, err)
		}
		requireNormalized(t, got)
		for v := range got.All() {
			if !v.Overlaps(window) {
				t.Fatalf("occurrence %v does not overlap window %v", v, window)
			}
		}
		want := bruteExpand(rules, loc, window)
		if !want.Equal(got) {
			t.Fatalf("Expand(%v, %v, %v) (-want +got):\n%s", rules, loc, window, cmp.Diff(strs(want), strs(got)))
		}
	})
}
