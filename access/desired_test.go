package access_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

func TestAccessSources(t *testing.T) {
	t.Parallel()
	week := schedule.Interval{Start: monday, End: monday.Add(7 * 24 * time.Hour)}
	mon, fri := []time.Weekday{time.Monday}, []time.Weekday{time.Friday}
	tests := []struct {
		name    string
		edit    func(*access.Snapshot, *mapping.Mapping, *access.Policy)
		horizon schedule.Interval
		want    []string
	}{
		{
			name: "active plan open-ended",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m1", Start: hm(9, 0), Status: access.PlanActive}}
			},
			want: []string{"m1/101 03-02 09:00–forever plan:p1"},
		},
		{
			name: "active plan with end, several groups",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Plans = []access.Plan{{ID: "p1", PlanID: "office", MemberID: "m1", Start: hm(9, 0), End: hm(33, 0), Status: access.PlanActive}}
			},
			want: []string{"m1/101 03-02 09:00–03-03 09:00 plan:p1", "m1/102 03-02 09:00–03-03 09:00 plan:p1"},
		},
		{
			name: "pending and cancelled plans grant nothing",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Plans = []access.Plan{
					{ID: "p1", PlanID: "hot-desk", MemberID: "m1", Start: hm(9, 0), Status: access.PlanPending},
					{ID: "p2", PlanID: "hot-desk", MemberID: "m2", Start: hm(9, 0), Status: access.PlanCancelled},
				}
			},
			want: []string{},
		},
		{
			name: "team plan reaches every team member",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", TeamID: "t1", Start: hm(9, 0), Status: access.PlanActive}}
			},
			want: []string{"m1/101 03-02 09:00–forever plan:p1", "m2/101 03-02 09:00–forever plan:p1"},
		},
		{
			name: "unmapped plan gets the default groups",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Plans = []access.Plan{{ID: "p1", PlanID: "unknown-product", MemberID: "m1", Start: hm(9, 0), Status: access.PlanActive}}
			},
			want: []string{"m1/100 03-02 09:00–forever default:p1"},
		},
		{
			name: "plan mapped to an empty list gets the default group",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Plans = []access.Plan{{ID: "p1", PlanID: "nothing", MemberID: "m1", Start: hm(9, 0), Status: access.PlanActive}}
			},
			want: []string{"m1/100 03-02 09:00–forever default:p1"},
		},
		{
			name: "allowance of a member and of a team",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Allowances = []access.Allowance{
					{ID: "a1", AllowanceID: "pass", MemberID: "m3", Start: hm(8, 0), End: hm(20, 0)},
					{ID: "a2", AllowanceID: "pass", TeamID: "t1", Start: hm(10, 0), End: hm(11, 0)},
				}
			},
			want: []string{"m1/103 03-02 10:00–03-02 11:00 allowance:a2", "m2/103 03-02 10:00–03-02 11:00 allowance:a2", "m3/103 03-02 08:00–03-02 20:00 allowance:a1"},
		},
		{
			name: "booking widened by the default buffer",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(14, 0), End: hm(15, 0)}}
			},
			want: []string{"m1/104 03-02 13:55–03-02 15:05 booking:b1"},
		},
		{
			name: "booking widened by a 30-minute organization buffer",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, p *access.Policy) {
				p.Buffer = schedule.Buffer{Before: 30 * time.Minute, After: 30 * time.Minute}
				s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(14, 0), End: hm(15, 0)}}
			},
			want: []string{"m1/104 03-02 13:30–03-02 15:30 booking:b1"},
		},
		{
			name: "per-resource buffer wins",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, p *access.Policy) {
				p.Buffer = schedule.Buffer{Before: 30 * time.Minute, After: 30 * time.Minute}
				p.ResourceBuffers = map[string]schedule.Buffer{"room-1": {Before: 10 * time.Minute}}
				s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(14, 0), End: hm(15, 0)}}
			},
			want: []string{"m1/104 03-02 13:50–03-02 15:00 booking:b1"},
		},
		{
			name: "assignment without rules is in force all the time, widened by the buffer",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "room-1", MemberID: "m1", Start: hm(9, 0)}}
			},
			want: []string{"m1/104 03-02 08:55–forever assignment:as1"},
		},
		{
			// Seed 003: access "5 minutes before each assignment start
			// time", revoked "5 minutes after the end", with or without
			// weekly rules.
			name: "assignment without rules, with an end, widened by the per-resource buffer",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, p *access.Policy) {
				p.ResourceBuffers = map[string]schedule.Buffer{"room-1": {Before: 30 * time.Minute, After: 15 * time.Minute}}
				s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "room-1", MemberID: "m1", Start: hm(9, 0), End: hm(17, 0)}}
			},
			want: []string{"m1/104 03-02 08:30–03-02 17:15 assignment:as1"},
		},
		{
			name: "assignment rules widened by the buffer, bounded by the assignment",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "desk-b", MemberID: "m1", Start: monday, End: hm(24*7, 0),
					Rules: []schedule.Rule{rule(mon, 9, 0, 17, 0), rule([]time.Weekday{time.Wednesday}, 9, 0, 12, 0)}}}
			},
			// Berlin is UTC+1 in March.
			want: []string{"m1/105 03-02 07:55–03-02 16:05 assignment:as1", "m1/105 03-04 07:55–03-04 11:05 assignment:as1"},
		},
		{
			name: "overnight rule ends the next day",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "room-1", MemberID: "m1", Start: monday, Rules: []schedule.Rule{rule(fri, 22, 0, 2, 0)}}}
			},
			want: []string{"m1/104 03-06 21:55–03-07 02:05 assignment:as1"},
		},
		{
			name: "team assignment reaches every team member",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "room-1", TeamID: "t1", Start: monday, End: hm(24, 0), Rules: []schedule.Rule{rule(mon, 9, 0, 10, 0)}}}
			},
			want: []string{"m1/104 03-02 08:55–03-02 10:05 assignment:as1", "m2/104 03-02 08:55–03-02 10:05 assignment:as1"},
		},
		{
			name: "check-in until check-out",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.CheckIns = []access.CheckIn{{ID: "c1", MemberID: "m1", LocationID: "utc", At: hm(9, 0), Out: hm(12, 0)}}
			},
			want: []string{"m1/107 03-02 09:00–03-02 12:00 checkin:c1"},
		},
		{
			name: "check-in until the end of the local day",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.CheckIns = []access.CheckIn{{ID: "c1", MemberID: "m1", LocationID: "berlin", At: hm(9, 0)}}
			},
			want: []string{"m1/108 03-02 09:00–03-02 23:00 checkin:c1"},
		},
		{
			name: "check-in for a fixed duration",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, p *access.Policy) {
				p.CheckInFor = 2 * time.Hour
				s.CheckIns = []access.CheckIn{{ID: "c1", MemberID: "m1", LocationID: "utc", At: hm(9, 0)}, {ID: "c2", MemberID: "m2", LocationID: "utc", At: hm(9, 0), Out: hm(10, 0)}}
			},
			want: []string{"m1/107 03-02 09:00–03-02 11:00 checkin:c1", "m2/107 03-02 09:00–03-02 10:00 checkin:c2"},
		},
		{
			name: "merging across sources; touching windows join",
			edit: func(s *access.Snapshot, m *mapping.Mapping, _ *access.Policy) {
				m.Locations["utc"] = []int64{104}
				s.Bookings = []access.Booking{
					{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(14, 0), End: hm(15, 0)},
					{ID: "b2", ResourceID: "room-1", MemberID: "m1", Start: hm(15, 10), End: hm(16, 0)},
					{ID: "b3", ResourceID: "room-1", MemberID: "m1", Start: hm(18, 0), End: hm(19, 0)},
				}
				s.CheckIns = []access.CheckIn{{ID: "c1", MemberID: "m1", LocationID: "utc", At: hm(16, 5), Out: hm(17, 55)}}
			},
			want: []string{"m1/104 03-02 13:55–03-02 19:05 booking:b1,booking:b2,booking:b3,checkin:c1"},
		},
		{
			name: "drop-in guest gets no grant",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", Guest: &access.Guest{Name: "Gus", Email: "ann@example.com"}, Start: hm(14, 0), End: hm(15, 0)}}
			},
			want: []string{},
		},
		{
			name: "drop-ins with AddToGroup: a member's email is the member, others are guests",
			edit: func(s *access.Snapshot, m *mapping.Mapping, _ *access.Policy) {
				m.DropIn.AddToGroup = true
				s.Bookings = []access.Booking{
					{ID: "b1", ResourceID: "room-1", Guest: &access.Guest{Name: "Ann", Email: "ANN@example.com"}, Start: hm(14, 0), End: hm(15, 0)},
					{ID: "b2", ResourceID: "room-1", Guest: &access.Guest{Name: " ", Email: "gus@example.org"}, Start: hm(14, 0), End: hm(15, 0)},
					{ID: "b3", ResourceID: "room-1", Guest: &access.Guest{Name: "Gus", Email: " GUS@example.org"}, Start: hm(15, 5), End: hm(16, 0)},
					{ID: "b4", ResourceID: "desk-b", Guest: &access.Guest{Email: "hal@example.org"}, Start: hm(24, 0), End: hm(25, 0)},
				}
			},
			want: []string{
				"m1/104 03-02 13:55–03-02 15:05 booking:b1",
				`guest gus@example.org "Gus"/104 03-02 13:55–03-02 16:05 booking:b2,booking:b3`,
				`guest hal@example.org "hal@example.org"/105 03-02 23:55–03-03 01:05 booking:b4`,
			},
		},
		{
			name: "windows far outside the horizon are left out",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(-48, 0), End: hm(-47, 0)}, {ID: "b2", ResourceID: "room-1", MemberID: "m1", Start: hm(24*8, 0), End: hm(24*8+1, 0)}}
			},
			want: []string{},
		},
		{
			name: "a window overlapping the horizon is whole",
			edit: func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
				s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(-2, 0), End: hm(1, 0)}}
			},
			want: []string{"m1/104 03-01 21:55–03-02 01:05 booking:b1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, m := fixture()
			p := access.DefaultPolicy()
			tc.edit(&s, &m, &p)
			h := tc.horizon
			if h.End.IsZero() {
				h = week
			}
			got, err := access.Access(s, m, p, h)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, show(got)); diff != "" {
				t.Errorf("Access (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAccessDST(t *testing.T) {
	t.Parallel()
	sun := []time.Weekday{time.Sunday}
	utc := func(y int, mo time.Month, d, h, mi int) time.Time { return time.Date(y, mo, d, h, mi, 0, 0, time.UTC) }
	tests := []struct {
		name     string
		location string
		rule     schedule.Rule
		day      time.Time // a UTC day containing the occurrence
		want     schedule.Interval
	}{
		// Europe/Berlin: 29 March 2026 02:00 CET → 03:00 CEST; 25 October 03:00 CEST → 02:00 CET.
		{"berlin spring gap start moves to 03:00", "Europe/Berlin", rule(sun, 2, 30, 4, 0), utc(2026, 3, 29, 0, 0), schedule.Interval{Start: utc(2026, 3, 29, 1, 0), End: utc(2026, 3, 29, 2, 0)}},
		{"berlin spring ordinary day shifts an hour", "Europe/Berlin", rule(sun, 9, 0, 17, 0), utc(2026, 3, 29, 0, 0), schedule.Interval{Start: utc(2026, 3, 29, 7, 0), End: utc(2026, 3, 29, 15, 0)}},
		{"berlin fall overlap takes the first 02:30", "Europe/Berlin", rule(sun, 2, 30, 3, 30), utc(2026, 10, 25, 0, 0), schedule.Interval{Start: utc(2026, 10, 25, 0, 30), End: utc(2026, 10, 25, 2, 30)}},
		// America/New_York: 8 March 2026 02:00 EST → 03:00 EDT; 1 November 02:00 EDT → 01:00 EST.
		{"new york spring gap", "America/New_York", rule(sun, 2, 30, 3, 30), utc(2026, 3, 8, 0, 0), schedule.Interval{Start: utc(2026, 3, 8, 7, 0), End: utc(2026, 3, 8, 7, 30)}},
		{"new york fall overlap", "America/New_York", rule(sun, 1, 30, 2, 30), utc(2026, 11, 1, 0, 0), schedule.Interval{Start: utc(2026, 11, 1, 5, 30), End: utc(2026, 11, 1, 7, 30)}},
		{"new york overnight across fall back", "America/New_York", rule([]time.Weekday{time.Saturday}, 22, 0, 6, 0), utc(2026, 11, 1, 0, 0), schedule.Interval{Start: utc(2026, 11, 1, 2, 0), End: utc(2026, 11, 1, 11, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := access.Snapshot{
				Locations:   []access.Location{{ID: "l", TimeZone: tc.location}},
				Resources:   []access.Resource{{ID: "r", LocationID: "l"}},
				Members:     []access.Member{{ID: "m1", Email: "ann@example.com"}},
				Assignments: []access.Assignment{{ID: "as1", ResourceID: "r", MemberID: "m1", Start: tc.day.AddDate(0, 0, -20), Rules: []schedule.Rule{tc.rule}}},
			}
			m := mapping.Mapping{Resources: map[string][]int64{"r": {1}}}
			p := access.Policy{} // no buffer: the occurrence itself
			got, err := access.Access(s, m, p, schedule.Interval{Start: tc.day, End: tc.day.Add(24 * time.Hour)})
			require.NoError(t, err)
			require.Len(t, got, 1, "%v", show(got))
			if diff := cmp.Diff(tc.want, got[0].Window); diff != "" {
				t.Errorf("window (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAccessLongRuleChains(t *testing.T) {
	t.Parallel()
	// Touching all-day rules on every weekday form one window that is the
	// same whatever the horizon.
	all := []time.Weekday{0, 1, 2, 3, 4, 5, 6}
	s, m := fixture()
	s.Assignments = []access.Assignment{
		{ID: "as1", ResourceID: "room-1", MemberID: "m1", Start: monday, End: monday.AddDate(0, 0, 10), Rules: []schedule.Rule{rule(all, 0, 0, 0, 0)}},
		{ID: "as2", ResourceID: "desk-b", MemberID: "m1", Start: monday, Rules: []schedule.Rule{rule(all, 8, 0, 8, 0)}},
	}
	p := access.DefaultPolicy()
	want := []string{"m1/104 03-01 23:55–03-12 00:05 assignment:as1", "m1/105 03-01 23:55–forever assignment:as2"}
	for _, at := range []time.Time{hm(1, 0), hm(24*3+12, 0), hm(24*9, 0)} {
		got, err := access.Desired(s, m, p, at)
		require.NoError(t, err)
		if diff := cmp.Diff(want, show(got)); diff != "" {
			t.Errorf("Desired(%v) (-want +got):\n%s", at, diff)
		}
	}
}

func TestDesiredSlotRule(t *testing.T) {
	t.Parallel()
	s, m := fixture()
	// Windows 13:55–15:05 and 15:20–16:05 on room-1, and a plan.
	s.Bookings = []access.Booking{
		{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(14, 0), End: hm(15, 0)},
		{ID: "b2", ResourceID: "room-1", MemberID: "m1", Start: hm(15, 25), End: hm(16, 0)},
	}
	s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m2", Start: hm(13, 0), Status: access.PlanActive}}
	first, second, plan := "m1/104 03-02 13:55–03-02 15:05 booking:b1", "m1/104 03-02 15:20–03-02 16:05 booking:b2", "m2/101 03-02 13:00–forever plan:p1"
	tests := []struct {
		name string
		at   time.Time
		want []string
	}{
		{"more than the lead before", hm(13, 35).Add(-time.Second), []string{plan}},
		{"exactly the lead before counts", hm(13, 35), []string{first, plan}},
		{"within the lead", hm(13, 54), []string{first, plan}},
		{"at the start", hm(13, 55), []string{first, plan}},
		{"in force until the last instant", hm(15, 5).Add(-time.Nanosecond), []string{first, plan}},
		{"in force wins over the next", hm(15, 1), []string{first, plan}},
		{"at the end the next within the lead", hm(15, 5), []string{second, plan}},
		{"after the last", hm(16, 5), []string{plan}},
		{"before the plan starts, within lead", hm(12, 40), []string{plan}},
		{"before the plan starts, beyond lead", hm(12, 39), []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := access.Desired(s, m, access.DefaultPolicy(), tc.at)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, show(got)); diff != "" {
				t.Errorf("Desired (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("zero lead", func(t *testing.T) {
		t.Parallel()
		p := access.DefaultPolicy()
		p.Lead = 0
		got, err := access.Desired(s, m, p, hm(13, 54))
		require.NoError(t, err)
		if diff := cmp.Diff([]string{plan}, show(got)); diff != "" {
			t.Errorf("Desired (-want +got):\n%s", diff)
		}
	})
}

// TestDesiredHugeDurations checks that a lead or buffer near the largest
// time.Duration does not overflow the horizon arithmetic and lose windows.
func TestDesiredHugeDurations(t *testing.T) {
	t.Parallel()
	s, m := fixture()
	s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(14, 0), End: hm(15, 0)}}
	const huge = time.Duration(math.MaxInt64)
	tests := []struct {
		name string
		edit func(*access.Policy)
		at   time.Time
		want []string
	}{
		{"huge lead, window in force", func(p *access.Policy) { p.Lead = huge }, hm(14, 30),
			[]string{"m1/104 03-02 13:55–03-02 15:05 booking:b1"}},
		{"huge lead, window ahead", func(p *access.Policy) { p.Lead = huge }, hm(9, 0),
			[]string{"m1/104 03-02 13:55–03-02 15:05 booking:b1"}},
		{"lead of a day less than the maximum", func(p *access.Policy) { p.Lead = huge - 24*time.Hour + 1 }, hm(9, 0),
			[]string{"m1/104 03-02 13:55–03-02 15:05 booking:b1"}},
		{"huge buffer after", func(p *access.Policy) { p.Buffer.After = huge }, hm(14, 30),
			[]string{"m1/104 03-02 13:55–" + showT(hm(15, 0).Add(huge)) + " booking:b1"}},
		{"huge resource buffer before", func(p *access.Policy) {
			p.ResourceBuffers = map[string]schedule.Buffer{"room-1": {Before: huge}}
		}, hm(14, 30), []string{"m1/104 " + showT(hm(14, 0).Add(-huge)) + "–03-02 15:00 booking:b1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := access.DefaultPolicy()
			tc.edit(&p)
			got, err := access.Desired(s, m, p, tc.at)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, show(got)); diff != "" {
				t.Errorf("Desired (-want +got):\n%s", diff)
			}
			_, ok := access.NextChange(s, m, p, tc.at)
			require.True(t, ok, "NextChange finds the window's end")
		})
	}
}

func TestDesiredSortedByEmail(t *testing.T) {
	t.Parallel()
	s, m := fixture()
	s.Members[0].Email = "zed@example.com"
	s.Plans = []access.Plan{{ID: "p1", PlanID: "office", TeamID: "t1", Start: monday, Status: access.PlanActive}}
	got, err := access.Desired(s, m, access.DefaultPolicy(), hm(10, 0))
	require.NoError(t, err)
	want := []string{"m2/101 03-02 00:00–forever plan:p1", "m2/102 03-02 00:00–forever plan:p1", "m1/101 03-02 00:00–forever plan:p1", "m1/102 03-02 00:00–forever plan:p1"}
	if diff := cmp.Diff(want, show(got)); diff != "" {
		t.Errorf("Desired (-want +got):\n%s", diff)
	}
	require.Equal(t, "zed@example.com", got[2].Email)
}

func TestSharedEmail(t *testing.T) {
	t.Parallel()
	s, m := fixture()
	s.Members = append(s.Members, access.Member{ID: "m4", Email: "ANN@example.com "})
	s.Plans = []access.Plan{
		{ID: "p1", PlanID: "hot-desk", MemberID: "m4", Start: monday, Status: access.PlanActive},
		{ID: "p2", PlanID: "office", MemberID: "m1", Start: hm(12, 0), Status: access.PlanActive},
	}
	got, err := access.Desired(s, m, access.DefaultPolicy(), hm(12, 0))
	want := []string{"m1/101 03-02 00:00–forever plan:p1,plan:p2", "m1/102 03-02 12:00–forever plan:p2"}
	if diff := cmp.Diff(want, show(got)); diff != "" {
		t.Errorf("Desired (-want +got):\n%s", diff)
	}
	require.ErrorIs(t, err, access.ErrSharedEmail)
	res := access.RecordErrors(err)
	require.Len(t, res, 1)
	require.Equal(t, "member", res[0].Kind)
	require.Equal(t, "m4", res[0].ID)
}

func TestBadRecords(t *testing.T) {
	t.Parallel()
	good := "m1/101 03-02 00:00–forever plan:good"
	tests := []struct {
		name   string
		edit   func(*access.Snapshot)
		kind   string
		id     string
		target error
		want   []string // grants besides the good plan's, when they differ
	}{
		{"booking ending before it starts", func(s *access.Snapshot) {
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(15, 0), End: hm(14, 0)}}
		}, "booking", "b1", access.ErrInvalidWindow, nil},
		{"booking without end", func(s *access.Snapshot) {
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(15, 0)}}
		}, "booking", "b1", access.ErrInvalidWindow, nil},
		{"booking of an unknown resource", func(s *access.Snapshot) {
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "nope", MemberID: "m1", Start: hm(9, 0), End: hm(10, 0)}}
		}, "booking", "b1", access.ErrUnknownResource, nil},
		{"booking of an unknown member", func(s *access.Snapshot) {
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", MemberID: "m9", Start: hm(9, 0), End: hm(10, 0)}}
		}, "booking", "b1", access.ErrUnknownMember, nil},
		{"booking by nobody", func(s *access.Snapshot) {
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", Start: hm(9, 0), End: hm(10, 0)}}
		}, "booking", "b1", access.ErrNoHolder, nil},
		{"drop-in with a malformed email", func(s *access.Snapshot) {
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room-1", Guest: &access.Guest{Email: "not-an-email"}, Start: hm(9, 0), End: hm(10, 0)}}
		}, "booking", "b1", access.ErrInvalidEmail, nil},
		{"duplicate booking id", func(s *access.Snapshot) {
			s.Bookings = []access.Booking{
				{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(9, 0), End: hm(10, 0)},
				{ID: "b1", ResourceID: "room-1", MemberID: "m2", Start: hm(9, 0), End: hm(10, 0)},
			}
		}, "booking", "b1", access.ErrDuplicateID, []string{good, "m1/104 03-02 08:55–03-02 10:05 booking:b1"}},
		{"unknown time zone", func(s *access.Snapshot) {
			s.Locations = append(s.Locations, access.Location{ID: "mars", TimeZone: "Mars/Olympus"})
		}, "location", "mars", access.ErrUnknownTimeZone, nil},
		{"empty time zone", func(s *access.Snapshot) {
			s.Locations = append(s.Locations, access.Location{ID: "nozone", TimeZone: ""})
		}, "location", "nozone", access.ErrUnknownTimeZone, nil},
		{"machine-local time zone", func(s *access.Snapshot) {
			s.Locations = append(s.Locations, access.Location{ID: "local", TimeZone: "Local"})
		}, "location", "local", access.ErrUnknownTimeZone, nil},
		{"resource at an unknown location", func(s *access.Snapshot) {
			s.Resources = append(s.Resources, access.Resource{ID: "r9", LocationID: "nowhere"})
		}, "resource", "r9", access.ErrUnknownLocation, nil},
		{"check-in at an unknown location", func(s *access.Snapshot) {
			s.CheckIns = []access.CheckIn{{ID: "c1", MemberID: "m1", LocationID: "nowhere", At: hm(9, 0)}}
		}, "checkin", "c1", access.ErrUnknownLocation, nil},
		{"check-out before check-in", func(s *access.Snapshot) {
			s.CheckIns = []access.CheckIn{{ID: "c1", MemberID: "m1", LocationID: "utc", At: hm(9, 0), Out: hm(8, 0)}}
		}, "checkin", "c1", access.ErrInvalidWindow, nil},
		{"member with an empty email", func(s *access.Snapshot) {
			s.Members[1].Email = "  "
		}, "member", "m2", access.ErrInvalidEmail, nil},
		{"member with a malformed email", func(s *access.Snapshot) {
			s.Members[1].Email = "bob@@example"
		}, "member", "m2", access.ErrInvalidEmail, nil},
		{"duplicate member id", func(s *access.Snapshot) {
			s.Members = append(s.Members, access.Member{ID: "m1", Email: "other@example.com"})
		}, "member", "m1", access.ErrDuplicateID, nil},
		{"plan for a missing member", func(s *access.Snapshot) {
			s.Plans = append(s.Plans, access.Plan{ID: "p9", PlanID: "hot-desk", MemberID: "m9", Start: monday, Status: access.PlanActive})
		}, "plan", "p9", access.ErrUnknownMember, nil},
		{"plan for a missing team", func(s *access.Snapshot) {
			s.Plans = append(s.Plans, access.Plan{ID: "p9", PlanID: "hot-desk", TeamID: "t9", Start: monday, Status: access.PlanActive})
		}, "plan", "p9", access.ErrUnknownTeam, nil},
		{"plan without holder", func(s *access.Snapshot) {
			s.Plans = append(s.Plans, access.Plan{ID: "p9", PlanID: "hot-desk", Start: monday, Status: access.PlanActive})
		}, "plan", "p9", access.ErrNoHolder, nil},
		{"plan with an unknown status", func(s *access.Snapshot) {
			s.Plans = append(s.Plans, access.Plan{ID: "p9", PlanID: "hot-desk", MemberID: "m2", Start: monday, Status: 7})
		}, "plan", "p9", access.ErrInvalidStatus, nil},
		{"duplicate plan id", func(s *access.Snapshot) {
			s.Plans = append(s.Plans, access.Plan{ID: "good", PlanID: "hot-desk", MemberID: "m2", Start: monday, Status: access.PlanActive})
		}, "plan", "good", access.ErrDuplicateID, nil},
		{"allowance ending before it starts", func(s *access.Snapshot) {
			s.Allowances = []access.Allowance{{ID: "a1", AllowanceID: "pass", MemberID: "m1", Start: hm(9, 0), End: hm(9, 0)}}
		}, "allowance", "a1", access.ErrInvalidWindow, nil},
		{"invalid weekly rule", func(s *access.Snapshot) {
			s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "room-1", MemberID: "m1", Start: monday, Rules: []schedule.Rule{rule(nil, 9, 0, 17, 0)}}}
		}, "assignment", "as1", access.ErrInvalidRule, nil},
		{"invalid rule clock", func(s *access.Snapshot) {
			s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "room-1", MemberID: "m1", Start: monday, Rules: []schedule.Rule{rule([]time.Weekday{1}, 25, 0, 17, 0)}}}
		}, "assignment", "as1", access.ErrInvalidRule, nil},
		{"assignment of an unknown resource", func(s *access.Snapshot) {
			s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "nope", MemberID: "m1", Start: monday}}
		}, "assignment", "as1", access.ErrUnknownResource, nil},
		{"team with an unknown member", func(s *access.Snapshot) {
			s.Teams = append(s.Teams, access.Team{ID: "t2", MemberIDs: []string{"m9"}})
		}, "team", "t2", access.ErrUnknownMember, nil},
		{"record without id", func(s *access.Snapshot) {
			s.CheckIns = []access.CheckIn{{MemberID: "m1", LocationID: "utc", At: hm(9, 0)}}
		}, "checkin", "", access.ErrEmptyID, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, m := fixture()
			s.Plans = []access.Plan{{ID: "good", PlanID: "hot-desk", MemberID: "m1", Start: monday, Status: access.PlanActive}}
			tc.edit(&s)
			want := tc.want
			if want == nil {
				want = []string{good}
			}
			for _, call := range []struct {
				name string
				run  func() ([]access.Grant, error)
			}{
				{"Access", func() ([]access.Grant, error) {
					return access.Access(s, m, access.DefaultPolicy(), schedule.Interval{Start: monday, End: hm(24, 0)})
				}},
				{"Desired", func() ([]access.Grant, error) { return access.Desired(s, m, access.DefaultPolicy(), hm(9, 30)) }},
			} {
				got, err := call.run()
				if diff := cmp.Diff(want, show(got)); diff != "" {
					t.Errorf("%s grants (-want +got):\n%s", call.name, diff)
				}
				require.ErrorIs(t, err, tc.target, call.name)
				res := access.RecordErrors(err)
				require.Len(t, res, 1, "%s: %v", call.name, err)
				if res[0].Kind != tc.kind || res[0].ID != tc.id {
					t.Errorf("%s: record error %s %q, want %s %q", call.name, res[0].Kind, res[0].ID, tc.kind, tc.id)
				}
				var re *access.RecordError
				require.True(t, errors.As(err, &re))
			}
			if tc.kind != "plan" && tc.kind != "allowance" && tc.kind != "assignment" && tc.kind != "checkin" {
				_, err := access.Links(s, m, access.DefaultPolicy(), hm(9, 30))
				require.ErrorIs(t, err, tc.target, "Links")
			}
		})
	}
}

func TestAccessInvalidHorizon(t *testing.T) {
	t.Parallel()
	s, m := fixture()
	_, err := access.Access(s, m, access.DefaultPolicy(), schedule.Interval{Start: hm(2, 0), End: hm(1, 0)})
	require.ErrorIs(t, err, access.ErrInvalidWindow)
}

// TestUnboundedHorizonWeeklyRules checks that an open-ended assignment with
// weekly rules, which cannot be listed up to schedule.Forever, is reported
// as a horizon that is too long (not as a bad rule) while every other grant
// comes back, and that the bounded horizons of Desired, NextChange and the
// reconciler list it normally.
func TestUnboundedHorizonWeeklyRules(t *testing.T) {
	t.Parallel()
	mon := []time.Weekday{time.Monday}
	s, m := fixture()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m1", Start: monday, Status: access.PlanActive}}
	s.Assignments = []access.Assignment{
		{ID: "open-weekly", ResourceID: "room-1", MemberID: "m2", Start: monday, Rules: []schedule.Rule{rule(mon, 9, 0, 17, 0)}},
		{ID: "bounded-weekly", ResourceID: "room-1", MemberID: "m3", Start: monday, End: hm(24*8, 0), Rules: []schedule.Rule{rule(mon, 9, 0, 10, 0)}},
		{ID: "open-always", ResourceID: "desk-b", MemberID: "m3", Start: monday},
	}

	t.Run("Access", func(t *testing.T) {
		t.Parallel()
		got, err := access.Access(s, m, access.DefaultPolicy(), schedule.Interval{Start: monday, End: schedule.Forever})
		want := []string{
			"m1/101 03-02 00:00–forever plan:p1",
			"m3/104 03-02 08:55–03-02 10:05 assignment:bounded-weekly",
			"m3/104 03-09 08:55–03-09 10:05 assignment:bounded-weekly",
			"m3/105 03-01 23:55–forever assignment:open-always",
		}
		if diff := cmp.Diff(want, show(got)); diff != "" {
			t.Errorf("grants (-want +got):\n%s", diff)
		}
		require.ErrorIs(t, err, access.ErrHorizonTooLong)
		require.NotErrorIs(t, err, access.ErrInvalidRule)
		res := access.RecordErrors(err)
		require.Len(t, res, 1, "%v", err)
		if res[0].Kind != access.KindAssignment || res[0].ID != "open-weekly" {
			t.Errorf("record error %s %q, want assignment \"open-weekly\"", res[0].Kind, res[0].ID)
		}
		for _, part := range []string{`assignment "open-weekly"`, "weekly rules cannot be listed over an unbounded horizon", "pass a bounded horizon"} {
			require.Contains(t, err.Error(), part)
		}
	})

	t.Run("Access over a year", func(t *testing.T) {
		t.Parallel()
		got, err := access.Access(s, m, access.DefaultPolicy(), schedule.Interval{Start: monday, End: monday.AddDate(1, 0, 0)})
		require.NoError(t, err)
		n := 0
		for _, g := range got {
			if g.MemberID == "m2" {
				n++
			}
		}
		require.Equal(t, 53, n, "Mondays from 2 March 2026 to 1 March 2027") // 52 weeks and a day
	})

	t.Run("Access over a thousand years", func(t *testing.T) {
		t.Parallel()
		s, m := fixture()
		every := []time.Weekday{0, 1, 2, 3, 4, 5, 6}
		s.Assignments = []access.Assignment{{ID: "daily", ResourceID: "room-1", MemberID: "m1", Start: monday, Rules: []schedule.Rule{rule(every, 9, 0, 17, 0)}}}
		_, err := access.Access(s, m, access.DefaultPolicy(), schedule.Interval{Start: monday, End: monday.AddDate(1000, 0, 0)})
		require.ErrorIs(t, err, access.ErrHorizonTooLong)
		require.NotErrorIs(t, err, access.ErrInvalidRule)
		require.Contains(t, err.Error(), `assignment "daily": horizon too long: weekly rules cannot be listed over horizon`)
		require.Contains(t, err.Error(), "pass a shorter horizon")
	})

	t.Run("Desired", func(t *testing.T) {
		t.Parallel()
		got, err := access.Desired(s, m, access.DefaultPolicy(), hm(24*7+9, 30))
		require.NoError(t, err)
		want := []string{
			"m1/101 03-02 00:00–forever plan:p1",
			"m2/104 03-09 08:55–03-09 17:05 assignment:open-weekly",
			"m3/104 03-09 08:55–03-09 10:05 assignment:bounded-weekly",
			"m3/105 03-01 23:55–forever assignment:open-always",
		}
		if diff := cmp.Diff(want, show(got)); diff != "" {
			t.Errorf("grants (-want +got):\n%s", diff)
		}
		next, ok := access.NextChange(s, m, access.DefaultPolicy(), hm(24*7+9, 30))
		require.True(t, ok)
		require.True(t, next.Equal(hm(24*7+10, 5)), "next change %v", next)
	})

	t.Run("reconciler", func(t *testing.T) {
		t.Parallel()
		e := newRig(t, rigConfig{})
		rs := baseSnapshot()
		// syncStart is Wednesday 10 June 2026, 13:40 in Berlin.
		rs.Assignments = []access.Assignment{{ID: "open-weekly", ResourceID: "room1", MemberID: "alice", Start: cest("09:00"),
			Rules: []schedule.Rule{rule([]time.Weekday{time.Wednesday}, 13, 0, 15, 0)}}}
		c, err := e.r.Plan(t.Context(), rs)
		require.NoError(t, err)
		require.Empty(t, c.Skipped)
		requireTime(t, cest("15:05"), c.NextRun)
		e.sync(rs)
		want := []kisiRole{{Email: "alice@example.com", Group: e.room, Window: span("12:55", "15:05"), Notify: true}}
		if diff := cmp.Diff(want, e.roles()); diff != "" {
			t.Errorf("roles (-want +got):\n%s", diff)
		}
	})
}

func TestNextChange(t *testing.T) {
	t.Parallel()
	s, m := fixture()
	s.Bookings = []access.Booking{
		{ID: "b1", ResourceID: "room-1", MemberID: "m1", Start: hm(14, 0), End: hm(15, 0)},
		{ID: "g1", ResourceID: "room-1", Guest: &access.Guest{Name: "Gus", Email: "gus@example.org"}, Start: hm(17, 0), End: hm(18, 0)},
	}
	s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m2", Start: hm(24*3, 0), Status: access.PlanActive}}
	s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "desk-ny", MemberID: "m3", Start: hm(24*10, 0), Rules: []schedule.Rule{rule([]time.Weekday{time.Thursday}, 9, 0, 10, 0)}}}
	tests := []struct {
		name string
		at   time.Time
		want time.Time
		ok   bool
	}{
		{"booking enters the lead", hm(12, 0), hm(13, 35), true},
		{"exactly at an edge looks further", hm(13, 35), hm(15, 5), true},
		{"booking ends", hm(14, 0), hm(15, 5), true},
		{"drop-in link ends", hm(15, 5), hm(18, 5), true},
		{"plan enters the lead", hm(18, 5), hm(24*3, 0).Add(-20 * time.Minute), true},
		// Thursday 12 March 09:00 EDT = 13:00 UTC, minus buffer and lead.
		{"assignment occurrence enters the lead", hm(24*3, 0), time.Date(2026, 3, 12, 12, 35, 0, 0, time.UTC), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := access.NextChange(s, m, access.DefaultPolicy(), tc.at)
			require.Equal(t, tc.ok, ok)
			if !got.Equal(tc.want) {
				t.Errorf("NextChange(%v) = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
	t.Run("nothing changes", func(t *testing.T) {
		t.Parallel()
		s, m := fixture()
		s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m2", Start: monday, Status: access.PlanActive}}
		_, ok := access.NextChange(s, m, access.DefaultPolicy(), hm(1, 0))
		require.False(t, ok)
	})
}

func TestInvalidPolicy(t *testing.T) {
	t.Parallel()
	s, m := fixture()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m1", Start: monday, Status: access.PlanActive}}
	bad := []access.Policy{
		{Buffer: schedule.Buffer{Before: -time.Minute}},
		{ResourceBuffers: map[string]schedule.Buffer{"room-1": {After: -time.Minute}}},
		{Lead: -time.Minute},
		{CheckInFor: -time.Hour},
	}
	for _, p := range bad {
		_, err := access.Access(s, m, p, schedule.Interval{Start: monday, End: hm(1, 0)})
		require.ErrorIs(t, err, access.ErrInvalidPolicy)
		require.Empty(t, access.RecordErrors(err))
		g, err := access.Desired(s, m, p, hm(1, 0))
		require.ErrorIs(t, err, access.ErrInvalidPolicy)
		require.Empty(t, g)
		_, err = access.Links(s, m, p, hm(1, 0))
		require.ErrorIs(t, err, access.ErrInvalidPolicy)
		_, err = access.Explain(s, m, p, "m1", hm(1, 0))
		require.ErrorIs(t, err, access.ErrInvalidPolicy)
		_, ok := access.NextChange(s, m, p, hm(1, 0))
		require.False(t, ok)
	}
}

func TestCheckInAcrossFallBackMidnight(t *testing.T) {
	t.Parallel()
	// America/Havana falls back from 01:00 to 00:00 on 1 November 2026,
	// so midnight occurs twice; the first one ends the day.
	s := access.Snapshot{
		Locations: []access.Location{{ID: "l", TimeZone: "America/Havana"}},
		Members:   []access.Member{{ID: "m1", Email: "ann@example.com"}},
		CheckIns:  []access.CheckIn{{ID: "c1", MemberID: "m1", LocationID: "l", At: time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC)}},
	}
	m := mapping.Mapping{Locations: map[string][]int64{"l": {1}}}
	got, err := access.Desired(s, m, access.DefaultPolicy(), time.Date(2026, 10, 31, 13, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Len(t, got, 1)
	// Midnight of 1 November in Havana (UTC−4 before the change) is 04:00 UTC.
	require.True(t, got[0].Window.End.Equal(time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)), "end %v", got[0].Window.End)
}

// TestDependentRecords checks that a rejected record's cause is reported
// once, on that record, and that the records referring to it say they
// depend on it instead of reporting an unknown ID.
func TestDependentRecords(t *testing.T) {
	t.Parallel()
	s, m := fixture()
	s.Locations = append(s.Locations, access.Location{ID: "mars", TimeZone: "Mars/Olympus"})
	s.Resources = append(s.Resources, access.Resource{ID: "dome", LocationID: "mars"})
	s.Members[1].Email = "bob(at)example.com"
	s.Plans = []access.Plan{
		{ID: "p2", PlanID: "hot-desk", MemberID: "m2", Start: monday, Status: access.PlanActive},
		{ID: "p9", PlanID: "hot-desk", MemberID: "m9", Start: monday, Status: access.PlanActive},
	}
	s.Bookings = []access.Booking{
		{ID: "b1", ResourceID: "dome", MemberID: "m1", Start: hm(9, 0), End: hm(10, 0)},
		{ID: "b2", ResourceID: "room-1", MemberID: "m2", Start: hm(9, 0), End: hm(10, 0)},
	}
	s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "dome", MemberID: "m1", Start: monday}}
	s.CheckIns = []access.CheckIn{
		{ID: "c1", MemberID: "m1", LocationID: "mars", At: hm(9, 0)},
		{ID: "c2", MemberID: "m2", LocationID: "utc", At: hm(9, 0)},
	}
	type row struct {
		Kind, ID string
		Cause    error             // the sentinel the error matches
		On       *access.RecordRef // the record depended on
	}
	on := func(kind, id string) *access.RecordRef { return &access.RecordRef{Kind: kind, ID: id} }
	want := []row{
		{"location", "mars", access.ErrUnknownTimeZone, nil},
		{"resource", "dome", access.ErrDependsOnRejected, on("location", "mars")},
		{"member", "m2", access.ErrInvalidEmail, nil},
		{"plan", "p2", access.ErrDependsOnRejected, on("member", "m2")},
		{"plan", "p9", access.ErrUnknownMember, nil}, // no such member: not a dependency
		{"booking", "b1", access.ErrDependsOnRejected, on("resource", "dome")},
		{"booking", "b2", access.ErrDependsOnRejected, on("member", "m2")},
		{"assignment", "as1", access.ErrDependsOnRejected, on("resource", "dome")},
		{"checkin", "c1", access.ErrDependsOnRejected, on("location", "mars")},
		{"checkin", "c2", access.ErrDependsOnRejected, on("member", "m2")},
	}
	_, err := access.Access(s, m, access.DefaultPolicy(), schedule.Interval{Start: monday, End: hm(24, 0)})
	var got []row
	for _, re := range access.RecordErrors(err) {
		r := row{Kind: re.Kind, ID: re.ID}
		for _, target := range []error{access.ErrUnknownTimeZone, access.ErrInvalidEmail, access.ErrUnknownMember,
			access.ErrUnknownLocation, access.ErrUnknownResource, access.ErrDependsOnRejected} {
			if errors.Is(re, target) {
				if r.Cause != nil {
					t.Errorf("%s %q matches %v and %v", re.Kind, re.ID, r.Cause, target)
				}
				r.Cause = target
			}
		}
		var de *access.DependencyError
		if errors.As(re, &de) {
			r.On = &de.On
		}
		got = append(got, r)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("record errors (-want +got):\n%s", diff)
	}
	require.EqualError(t, access.RecordErrors(err)[5], `booking "b1": depends on rejected resource "dome"`)
}
