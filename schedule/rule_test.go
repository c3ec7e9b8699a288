package schedule_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/schedule"
)

func TestParseClock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    schedule.Clock
		wantErr string
	}{
		{in: "09:00", want: schedule.Clock{Hour: 9}},
		{in: "9:05", want: schedule.Clock{Hour: 9, Minute: 5}},
		{in: "00:00", want: schedule.Clock{}},
		{in: "23:59", want: schedule.Clock{Hour: 23, Minute: 59}},
		{in: "24:00", wantErr: `schedule: parse clock "24:00": hour 24 outside 0-23`},
		{in: "12:60", wantErr: `schedule: parse clock "12:60": minute 60 outside 0-59`},
		{in: "9", wantErr: `schedule: parse clock "9": want HH:MM`},
		{in: "", wantErr: `schedule: parse clock "": want HH:MM`},
		{in: "9:5", wantErr: `schedule: parse clock "9:5": want HH:MM`},
		{in: "-1:00", wantErr: `schedule: parse clock "-1:00": want HH:MM`},
		{in: "+9:00", wantErr: `schedule: parse clock "+9:00": want HH:MM`},
		{in: "09:00:00", wantErr: `schedule: parse clock "09:00:00": want HH:MM`},
		{in: "١٢:٠٠", wantErr: `schedule: parse clock "١٢:٠٠": want HH:MM`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := schedule.ParseClock(tc.in)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, schedule.ErrInvalid)
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		c       schedule.Clock
		wantErr string
	}{
		{name: "midnight", c: schedule.Clock{}},
		{name: "last minute", c: schedule.Clock{Hour: 23, Minute: 59}},
		{name: "hour 24", c: schedule.Clock{Hour: 24}, wantErr: "schedule: clock hour 24 outside 0-23"},
		{name: "hour -1", c: schedule.Clock{Hour: -1}, wantErr: "schedule: clock hour -1 outside 0-23"},
		{name: "minute 60", c: schedule.Clock{Minute: 60}, wantErr: "schedule: clock minute 60 outside 0-59"},
		{name: "minute -1", c: schedule.Clock{Minute: -1}, wantErr: "schedule: clock minute -1 outside 0-59"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.c.Validate()
			_, merr := json.Marshal(tc.c)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				require.ErrorIs(t, err, schedule.ErrInvalid)
				require.Error(t, merr)
				return
			}
			require.NoError(t, err)
			require.NoError(t, merr)
			b, err := tc.c.MarshalText()
			require.NoError(t, err)
			var back schedule.Clock
			require.NoError(t, back.UnmarshalText(b))
			require.Equal(t, tc.c, back)
		})
	}
	require.Equal(t, "07:05", schedule.Clock{Hour: 7, Minute: 5}.String())
	require.Equal(t, 545, schedule.Clock{Hour: 9, Minute: 5}.Minutes())
}

func TestRuleValidate(t *testing.T) {
	t.Parallel()
	ok := schedule.Rule{Days: []time.Weekday{time.Monday}, From: schedule.Clock{Hour: 9}, To: schedule.Clock{Hour: 17}}
	with := func(f func(*schedule.Rule)) schedule.Rule {
		r := ok
		r.Days = append([]time.Weekday(nil), ok.Days...)
		f(&r)
		return r
	}
	tests := []struct {
		name    string
		r       schedule.Rule
		wantErr string
	}{
		{name: "valid", r: ok},
		{name: "overnight", r: with(func(r *schedule.Rule) { r.From, r.To = schedule.Clock{Hour: 22}, schedule.Clock{Hour: 2} })},
		{name: "whole day", r: with(func(r *schedule.Rule) { r.To = r.From })},
		{name: "all days", r: with(func(r *schedule.Rule) { r.Days = []time.Weekday{0, 1, 2, 3, 4, 5, 6} })},
		{name: "no days", r: with(func(r *schedule.Rule) { r.Days = nil }), wantErr: "schedule: rule days: empty"},
		{name: "weekday 7", r: with(func(r *schedule.Rule) { r.Days = append(r.Days, 7) }), wantErr: "schedule: rule days[1]: invalid weekday 7"},
		{name: "weekday -1", r: with(func(r *schedule.Rule) { r.Days[0] = -1 }), wantErr: "schedule: rule days[0]: invalid weekday -1"},
		{name: "from hour", r: with(func(r *schedule.Rule) { r.From.Hour = 24 }), wantErr: "schedule: rule from: hour 24 outside 0-23"},
		{name: "from minute", r: with(func(r *schedule.Rule) { r.From.Minute = 75 }), wantErr: "schedule: rule from: minute 75 outside 0-59"},
		{name: "to hour", r: with(func(r *schedule.Rule) { r.To.Hour = -3 }), wantErr: "schedule: rule to: hour -3 outside 0-23"},
		{name: "to minute", r: with(func(r *schedule.Rule) { r.To.Minute = 60 }), wantErr: "schedule: rule to: minute 60 outside 0-59"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.r.Validate()
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				require.ErrorIs(t, err, schedule.ErrInvalid)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestRuleJSON(t *testing.T) {
	t.Parallel()
	r := schedule.Rule{Days: []time.Weekday{time.Monday, time.Friday, time.Sunday}, From: schedule.Clock{Hour: 9}, To: schedule.Clock{Hour: 17, Minute: 30}}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.Equal(t, `{"days":["mon","fri","sun"],"from":"09:00","to":"17:30"}`, string(b))
	var back schedule.Rule
	require.NoError(t, json.Unmarshal(b, &back))
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	require.Equal(t, "mon,fri,sun 09:00-17:30", r.String())
	require.False(t, r.Overnight())
	require.True(t, schedule.Rule{From: schedule.Clock{Hour: 22}, To: schedule.Clock{Hour: 2}}.Overnight())

	require.NoError(t, json.Unmarshal([]byte(`{"days":["Monday","TUE"],"from":"9:00","to":"17:00"}`), &back))
	require.Equal(t, []time.Weekday{time.Monday, time.Tuesday}, back.Days)

	_, err = json.Marshal(schedule.Rule{})
	require.ErrorIs(t, err, schedule.ErrInvalid)

	for in, wantErr := range map[string]string{
		`{"days":["mon"],"from":"25:00","to":"17:00"}`:    `hour 25 outside 0-23`,
		`{"days":["funday"],"from":"09:00","to":"17:00"}`: `schedule: unmarshal rule: days[0]: unknown weekday "funday"`,
		`{"days":[],"from":"09:00","to":"17:00"}`:         `schedule: rule days: empty`,
		`{"from":"09:00","to":"17:00"}`:                   `schedule: rule days: empty`,
		`{"days":"mon"}`:                                  `schedule: unmarshal rule`,
	} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			var got schedule.Rule
			err := json.Unmarshal([]byte(in), &got)
			require.ErrorContains(t, err, wantErr)
		})
	}
}
