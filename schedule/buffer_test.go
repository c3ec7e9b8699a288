package schedule_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/schedule"
)

func TestBufferWiden(t *testing.T) {
	t.Parallel()
	booking := schedule.Interval{Start: time.Date(2026, 5, 4, 14, 0, 0, 0, time.UTC), End: time.Date(2026, 5, 4, 15, 0, 0, 0, time.UTC)}
	tests := []struct {
		name    string
		b       schedule.Buffer
		iv      schedule.Interval
		want    schedule.Interval
		wantErr string
	}{
		{name: "default", b: schedule.DefaultBuffer, iv: booking,
			want: schedule.Interval{Start: time.Date(2026, 5, 4, 13, 55, 0, 0, time.UTC), End: time.Date(2026, 5, 4, 15, 5, 0, 0, time.UTC)}},
		{name: "thirty minutes", b: schedule.Buffer{Before: 30 * time.Minute, After: 30 * time.Minute}, iv: booking,
			want: schedule.Interval{Start: time.Date(2026, 5, 4, 13, 30, 0, 0, time.UTC), End: time.Date(2026, 5, 4, 15, 30, 0, 0, time.UTC)}},
		{name: "before only", b: schedule.Buffer{Before: time.Hour}, iv: booking,
			want: schedule.Interval{Start: time.Date(2026, 5, 4, 13, 0, 0, 0, time.UTC), End: booking.End}},
		{name: "zero", b: schedule.Buffer{}, iv: booking, want: booking},
		{name: "forever end kept", b: schedule.DefaultBuffer, iv: schedule.Interval{Start: booking.Start, End: schedule.Forever},
			want: schedule.Interval{Start: booking.Start.Add(-5 * time.Minute), End: schedule.Forever}},
		{name: "end capped at forever", b: schedule.Buffer{After: time.Hour}, iv: schedule.Interval{Start: booking.Start, End: schedule.Forever.Add(-time.Minute)},
			want: schedule.Interval{Start: booking.Start, End: schedule.Forever}},
		{name: "start floored at zero time", b: schedule.Buffer{Before: time.Hour}, iv: schedule.Interval{End: booking.End},
			want: schedule.Interval{End: booking.End}},
		{name: "huge buffer", b: schedule.Buffer{Before: 1<<63 - 1, After: 1<<63 - 1}, iv: schedule.Interval{Start: time.Time{}.Add(time.Hour), End: schedule.Forever.Add(-time.Hour)},
			want: schedule.Interval{Start: time.Time{}, End: schedule.Forever}},
		{name: "across DST stays absolute", b: schedule.Buffer{Before: time.Hour},
			iv:   schedule.Interval{Start: time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), End: time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC)},
			want: schedule.Interval{Start: time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), End: time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC)}},
		{name: "negative before", b: schedule.Buffer{Before: -time.Minute}, iv: booking, wantErr: "schedule: buffer before -1m0s is negative"},
		{name: "negative after", b: schedule.Buffer{After: -time.Second}, iv: booking, wantErr: "schedule: buffer after -1s is negative"},
		{name: "reversed interval", b: schedule.DefaultBuffer, iv: schedule.Interval{Start: booking.End, End: booking.Start},
			wantErr: "schedule: interval [2026-05-04T15:00:00Z, 2026-05-04T14:00:00Z): end before start"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.b.Widen(tc.iv)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, schedule.ErrInvalid)
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Widen(%v) (-want +got):\n%s", tc.iv, diff)
			}
		})
	}
}

func TestBufferWidenSet(t *testing.T) {
	t.Parallel()
	b := schedule.Buffer{Before: 5 * time.Minute, After: 5 * time.Minute}
	got, err := b.WidenSet(set(10, 20, 30, 40, 100, 110))
	require.NoError(t, err)
	if diff := cmp.Diff(set(5, 45, 95, 115).Intervals(), got.Intervals()); diff != "" {
		t.Errorf("WidenSet (-want +got):\n%s", diff)
	}
	_, err = schedule.Buffer{Before: -1}.WidenSet(set(0, 1))
	require.ErrorIs(t, err, schedule.ErrInvalid)
	got, err = schedule.Buffer{}.WidenSet(set(0, 1))
	require.NoError(t, err)
	require.True(t, got.Equal(set(0, 1)))
}
