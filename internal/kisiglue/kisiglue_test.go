package kisiglue_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

var t0 = time.Date(2026, time.June, 10, 12, 0, 0, 0, time.UTC)

func TestWindowAndValidity(t *testing.T) {
	t.Parallel()
	half := t0.Add(1500 * time.Millisecond)
	tests := []struct {
		name      string
		iv        schedule.Interval
		wantFrom  *time.Time
		wantUntil *time.Time
		back      schedule.Interval // Window(Validity(iv))
	}{
		{name: "bounded", iv: schedule.Interval{Start: t0, End: t0.Add(time.Hour)},
			wantFrom: kisi.Ptr(t0), wantUntil: kisi.Ptr(t0.Add(time.Hour)), back: schedule.Interval{Start: t0, End: t0.Add(time.Hour)}},
		{name: "open-ended with Forever", iv: schedule.Interval{Start: t0, End: schedule.Forever},
			wantFrom: kisi.Ptr(t0), back: schedule.Interval{Start: t0, End: schedule.Forever}},
		{name: "open-ended with zero End", iv: schedule.Interval{Start: t0},
			wantFrom: kisi.Ptr(t0), back: schedule.Interval{Start: t0, End: schedule.Forever}},
		{name: "zero Start is valid from now", iv: schedule.Interval{End: t0},
			wantUntil: kisi.Ptr(t0), back: schedule.Interval{End: t0}},
		{name: "start to the second, end to the minute, never shortened", iv: schedule.Interval{Start: half, End: half.Add(time.Hour)},
			wantFrom: kisi.Ptr(t0.Add(time.Second)), wantUntil: kisi.Ptr(t0.Add(time.Hour + time.Minute)),
			back: schedule.Interval{Start: t0.Add(time.Second), End: t0.Add(time.Hour + time.Minute)}},
		{name: "an end on a half minute", iv: schedule.Interval{Start: t0, End: t0.Add(90 * time.Second)},
			wantFrom: kisi.Ptr(t0), wantUntil: kisi.Ptr(t0.Add(2 * time.Minute)),
			back: schedule.Interval{Start: t0, End: t0.Add(2 * time.Minute)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			from, until := kisiglue.Validity(tc.iv)
			if diff := cmp.Diff(tc.wantFrom, from); diff != "" {
				t.Errorf("from (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantUntil, until); diff != "" {
				t.Errorf("until (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.back, kisiglue.Window(from, until)); diff != "" {
				t.Errorf("Window(Validity) (-want +got):\n%s", diff)
			}
			require.True(t, kisiglue.SameWindow(tc.iv, kisiglue.Window(from, until)), "a window is the same as Kisi's copy of it")
			ra := &kisi.RoleAssignment{ValidFrom: from, ValidUntil: until}
			require.Equal(t, kisiglue.Window(from, until), kisiglue.RoleWindow(ra))
		})
	}
}

func TestSameWindow(t *testing.T) {
	t.Parallel()
	hour := schedule.Interval{Start: t0, End: t0.Add(time.Hour)}
	tests := []struct {
		name string
		a, b schedule.Interval
		want bool
	}{
		{"equal", hour, hour, true},
		{"rounded by Kisi", hour, schedule.Interval{Start: t0.Add(400 * time.Millisecond), End: t0.Add(time.Hour + 900*time.Millisecond)}, true},
		{"other end", hour, schedule.Interval{Start: t0, End: t0.Add(2 * time.Hour)}, false},
		{"other start", hour, schedule.Interval{Start: t0.Add(time.Minute), End: t0.Add(time.Hour)}, false},
		{"both open, zero and Forever", schedule.Interval{Start: t0}, schedule.Interval{Start: t0, End: schedule.Forever}, true},
		{"open and bounded", schedule.Interval{Start: t0}, hour, false},
		{"same instant in other zones", hour, schedule.Interval{Start: t0.In(time.FixedZone("X", 3600)), End: t0.Add(time.Hour).In(time.FixedZone("Y", -3600))}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, kisiglue.SameWindow(tc.a, tc.b))
			require.Equal(t, tc.want, kisiglue.SameWindow(tc.b, tc.a), "symmetric")
		})
	}
}

func TestOpenEnded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		end  time.Time
		want bool
	}{
		{"zero", time.Time{}, true},
		{"Forever", schedule.Forever, true},
		{"after Forever", schedule.Forever.Add(time.Hour), true},
		{"bounded", t0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, kisiglue.OpenEnded(schedule.Interval{Start: t0, End: tc.end}))
		})
	}
}

func TestMarkedBySDK(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		u    *kisi.User
		want bool
	}{
		{"nil", nil, false},
		{"no metadata", &kisi.User{}, false},
		{"tagged", &kisi.User{Metadata: map[string]any{kisiglue.MetadataKey: kisiglue.MetadataValue}}, true},
		{"other value", &kisi.User{Metadata: map[string]any{kisiglue.MetadataKey: "other"}}, false},
		{"other key", &kisi.User{Metadata: map[string]any{"source": kisiglue.MetadataValue}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, kisiglue.MarkedBySDK(tc.u))
		})
	}
}

func TestLinkMark(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, booking string
	}{
		{"Gus", "bk9"},
		{"", "b-1"},
		{"Ana [kisisync:x]", "bk [2]"},
	} {
		marked := kisiglue.LinkName(tc.name, tc.booking)
		got, ok := kisiglue.LinkBooking(marked)
		if !ok || got != tc.booking || kisiglue.LinkGuestName(marked) != tc.name {
			t.Errorf("kisiglue.LinkName(%q, %q) = %q: booking %q, %v, name %q", tc.name, tc.booking, marked, got, ok, kisiglue.LinkGuestName(marked))
		}
	}
	for _, name := range []string{"Gus", "Gus [kisisync:]", "Gus [other:bk1]", "Gus [kisisync:bk1"} {
		if b, ok := kisiglue.LinkBooking(name); ok {
			t.Errorf("kisiglue.LinkBooking(%q) = %q, true; want no mark", name, b)
		}
	}
}
