package schedule_test

import (
	"encoding/json"
	"fmt"
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

func TestBufferJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    schedule.Buffer
		json string
	}{
		{name: "default", b: schedule.DefaultBuffer, json: `{"before":"5m","after":"5m"}`},
		{name: "zero", b: schedule.Buffer{}, json: `{"before":"0s","after":"0s"}`},
		{name: "mixed units", b: schedule.Buffer{Before: 90 * time.Minute, After: 90 * time.Second}, json: `{"before":"1h30m","after":"1m30s"}`},
		{name: "whole hours", b: schedule.Buffer{Before: 2 * time.Hour, After: time.Hour + 5*time.Second}, json: `{"before":"2h","after":"1h0m5s"}`},
		{name: "sub-second", b: schedule.Buffer{Before: 1500 * time.Millisecond}, json: `{"before":"1.5s","after":"0s"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, err := json.Marshal(tc.b)
			require.NoError(t, err)
			require.Equal(t, tc.json, string(data))
			var back schedule.Buffer
			require.NoError(t, json.Unmarshal(data, &back))
			if diff := cmp.Diff(tc.b, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBufferUnmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		json    string
		want    schedule.Buffer
		wantErr string
	}{
		{name: "hand written", json: ` { "after": "10m", "before": " 15m " } `, want: schedule.Buffer{Before: 15 * time.Minute, After: 10 * time.Minute}},
		{name: "one side", json: `{"before":"1h"}`, want: schedule.Buffer{Before: time.Hour}},
		{name: "empty object", json: `{}`, want: schedule.Buffer{}},
		{name: "null keeps", json: `null`, want: schedule.Buffer{Before: time.Second}},
		{name: "number", json: `{"before":300,"after":"5m"}`,
			wantErr: `schedule: buffer: before: want a duration string such as "5m" or "1h30m", got the number 300`},
		{name: "null side", json: `{"before":"5m","after":null}`,
			wantErr: `schedule: buffer: after: want a duration string such as "5m" or "1h30m", got null`},
		{name: "unparsable", json: `{"after":"5 minutes"}`,
			wantErr: `schedule: buffer: after: cannot parse "5 minutes" as a duration such as "5m" or "1h30m"`},
		{name: "empty string", json: `{"after":""}`,
			wantErr: `schedule: buffer: after: cannot parse "" as a duration such as "5m" or "1h30m"`},
		{name: "negative", json: `{"before":"-5m"}`, wantErr: `schedule: buffer: before: "-5m" is negative`},
		{name: "unknown field", json: `{"befor":"5m"}`, wantErr: `schedule: buffer: unknown field "befor"`},
		{name: "not an object", json: `"5m"`,
			wantErr: `schedule: buffer: want an object such as {"before": "5m", "after": "5m"}, got a string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := schedule.Buffer{Before: time.Second}
			err := json.Unmarshal([]byte(tc.json), &got)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, schedule.ErrInvalid)
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Unmarshal(%s) (-want +got):\n%s", tc.json, diff)
			}
		})
	}
	_, err := json.Marshal(schedule.Buffer{After: -time.Minute})
	require.ErrorIs(t, err, schedule.ErrInvalid)
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0:                           "0s",
		5 * time.Minute:             "5m",
		time.Hour:                   "1h",
		90 * time.Minute:            "1h30m",
		time.Hour + time.Second:     "1h0m1s",
		-20 * time.Minute:           "-20m",
		36 * time.Hour:              "36h",
		time.Minute + time.Second/2: "1m0.5s",
	} {
		got := schedule.FormatDuration(d)
		require.Equal(t, want, got, "FormatDuration(%d)", int64(d))
		back, err := time.ParseDuration(got)
		require.NoError(t, err)
		require.Equal(t, d, back)
	}
}

// FuzzBufferJSON checks that decoding never panics and that whatever decodes
// encodes and decodes back to the same buffer.
func FuzzBufferJSON(f *testing.F) {
	for _, s := range []string{`{"before":"5m","after":"5m"}`, `{"before":"1h30m"}`, `{"after":300}`, `{"before":"-1s"}`, `null`, `[]`, `{"x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b schedule.Buffer
		if err := json.Unmarshal(data, &b); err != nil {
			return
		}
		out, err := json.Marshal(b)
		require.NoError(t, err)
		var back schedule.Buffer
		require.NoError(t, json.Unmarshal(out, &back))
		require.Equal(t, b, back)
	})
}

func ExampleBuffer_UnmarshalJSON() {
	var b schedule.Buffer
	if err := json.Unmarshal([]byte(`{"before": "30m", "after": "1h30m"}`), &b); err != nil {
		panic(err)
	}
	fmt.Println(b.Before, b.After)
	out, _ := json.Marshal(b)
	fmt.Println(string(out))

	err := json.Unmarshal([]byte(`{"before": 300}`), &b)
	fmt.Println(err)
	// Output:
	// 30m0s 1h30m0s
	// {"before":"30m","after":"1h30m"}
	// schedule: buffer: before: want a duration string such as "5m" or "1h30m", got the number 300
}
