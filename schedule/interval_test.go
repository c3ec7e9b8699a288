package schedule_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/schedule"
)

func TestInterval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		iv        schedule.Interval
		empty     bool
		open      bool
		dur       time.Duration
		valid     bool
		str       string
		contains  []time.Time
		notInside []time.Time
	}{
		{name: "zero", iv: schedule.Interval{}, empty: true, valid: true,
			str: "[0001-01-01T00:00:00Z, 0001-01-01T00:00:00Z)", notInside: []time.Time{{}}},
		{name: "hour", iv: iv(0, 60), dur: time.Hour, valid: true,
			str: "[2026-01-05T00:00:00Z, 2026-01-05T01:00:00Z)", contains: []time.Time{at(0), at(59)}, notInside: []time.Time{at(-1), at(60)}},
		{name: "reversed", iv: iv(10, 0), empty: true, str: "[2026-01-05T00:10:00Z, 2026-01-05T00:00:00Z)", notInside: []time.Time{at(5)}},
		{name: "forever", iv: schedule.Interval{Start: at(0), End: schedule.Forever}, open: true, valid: true,
			dur: time.Duration(1<<63 - 1), str: "[2026-01-05T00:00:00Z, forever)", contains: []time.Time{at(0), schedule.Forever.Add(-time.Second)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.empty, tc.iv.IsEmpty(), "IsEmpty")
			require.Equal(t, tc.open, tc.iv.IsOpenEnded(), "IsOpenEnded")
			require.Equal(t, tc.dur, tc.iv.Duration(), "Duration")
			require.Equal(t, tc.str, tc.iv.String(), "String")
			err := tc.iv.Validate()
			require.Equal(t, tc.valid, err == nil, "Validate: %v", err)
			if err != nil {
				require.ErrorIs(t, err, schedule.ErrInvalid)
			}
			for _, c := range tc.contains {
				require.True(t, tc.iv.Contains(c), "Contains(%v)", c)
			}
			for _, c := range tc.notInside {
				require.False(t, tc.iv.Contains(c), "Contains(%v)", c)
			}
		})
	}
}

func TestIntervalOverlaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b schedule.Interval
		want bool
	}{
		{name: "disjoint", a: iv(0, 10), b: iv(20, 30)},
		{name: "touching", a: iv(0, 10), b: iv(10, 20)},
		{name: "overlap", a: iv(0, 10), b: iv(9, 20), want: true},
		{name: "inside", a: iv(0, 30), b: iv(10, 20), want: true},
		{name: "equal", a: iv(0, 10), b: iv(0, 10), want: true},
		{name: "empty inside", a: iv(0, 30), b: iv(10, 10)},
		{name: "reversed", a: iv(0, 30), b: iv(20, 10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.a.Overlaps(tc.b), "%v.Overlaps(%v)", tc.a, tc.b)
			require.Equal(t, tc.want, tc.b.Overlaps(tc.a), "%v.Overlaps(%v)", tc.b, tc.a)
		})
	}
}

func TestIntervalJSON(t *testing.T) {
	t.Parallel()
	berlin := loadLocation(t, "Europe/Berlin")
	tests := []struct {
		name string
		iv   schedule.Interval
		json string
	}{
		{name: "closed", iv: schedule.Interval{Start: time.Date(2026, 3, 1, 9, 0, 0, 0, berlin), End: time.Date(2026, 3, 1, 17, 0, 0, 0, berlin)},
			json: `{"start":"2026-03-01T09:00:00+01:00","end":"2026-03-01T17:00:00+01:00"}`},
		{name: "forever", iv: schedule.Interval{Start: at(0), End: schedule.Forever}, json: `{"start":"2026-01-05T00:00:00Z","end":null}`},
		{name: "subsecond", iv: schedule.Interval{Start: at(0).Add(time.Millisecond), End: at(1)},
			json: `{"start":"2026-01-05T00:00:00.001Z","end":"2026-01-05T00:01:00Z"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tc.iv)
			require.NoError(t, err)
			require.Equal(t, tc.json, string(b))
			var back schedule.Interval
			require.NoError(t, json.Unmarshal(b, &back))
			if diff := cmp.Diff(tc.iv, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("absent end is forever", func(t *testing.T) {
		t.Parallel()
		var got schedule.Interval
		require.NoError(t, json.Unmarshal([]byte(`{"start":"2026-01-05T00:00:00Z"}`), &got))
		require.True(t, got.End.Equal(schedule.Forever))
	})
	for name, in := range map[string]string{
		"missing start": `{"end":"2026-01-05T00:00:00Z"}`,
		"end before":    `{"start":"2026-01-05T01:00:00Z","end":"2026-01-05T00:00:00Z"}`,
		"bad time":      `{"start":"yesterday"}`,
		"not an object": `[1]`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got schedule.Interval
			require.Error(t, json.Unmarshal([]byte(in), &got))
		})
	}
	t.Run("invalid names interval", func(t *testing.T) {
		t.Parallel()
		var got schedule.Interval
		err := json.Unmarshal([]byte(`{"start":"2026-01-05T01:00:00Z","end":"2026-01-05T00:00:00Z"}`), &got)
		require.True(t, errors.Is(err, schedule.ErrInvalid), "%v", err)
		require.Contains(t, err.Error(), "end before start")
	})
}
