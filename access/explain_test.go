package access_test

import (
	"encoding/json"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// cet returns Monday 2 March 2026 at h:m in Berlin (UTC+1).
func cet(h, m int) time.Time { return hm(h-1, m) }

func TestExplainGolden(t *testing.T) {
	t.Parallel()
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	tests := []struct {
		name   string
		member string
		at     time.Time
		edit   func(*access.Snapshot, *mapping.Mapping, *access.Policy)
	}{
		{"active_plan", "m1", cet(10, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Plans = []access.Plan{{ID: "p1", PlanID: "office", MemberID: "m1", Start: monday.AddDate(0, -1, 0), Status: access.PlanActive}}
		}},
		{"no_sources_no_locks_found", "m3", cet(10, 0), func(*access.Snapshot, *mapping.Mapping, *access.Policy) {}},
		{"plan_pending_acceptance", "m1", cet(10, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m1", Start: monday, Status: access.PlanPending}}
		}},
		{"plan_not_yet_active", "m1", cet(10, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m1", Start: monday.AddDate(0, 0, 1), Status: access.PlanActive}}
		}},
		{"plan_ended", "m1", cet(10, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m1", Start: monday.AddDate(0, -2, 0), End: monday.AddDate(0, 0, -1), Status: access.PlanActive}}
		}},
		{"plan_cancelled", "m1", cet(10, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m1", Start: monday.AddDate(0, -1, 0), Status: access.PlanCancelled}}
		}},
		{"plan_not_mapped", "m1", cet(10, 0), func(s *access.Snapshot, m *mapping.Mapping, _ *access.Policy) {
			m.Default = nil
			s.Plans = []access.Plan{{ID: "p1", PlanID: "day-pass", MemberID: "m1", Start: monday.AddDate(0, -1, 0), Status: access.PlanActive}}
		}},
		{"plan_default_group", "m1", cet(10, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Plans = []access.Plan{{ID: "p1", PlanID: "day-pass", MemberID: "m1", Start: monday.AddDate(0, -1, 0), Status: access.PlanActive}}
		}},
		{"booking_starts_in_25_minutes", "m1", cet(13, 35), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "desk-b", MemberID: "m1", Start: cet(14, 0), End: cet(15, 0)}}
		}},
		{"booking_outside_booking_time", "m1", cet(11, 0), func(s *access.Snapshot, _ *mapping.Mapping, p *access.Policy) {
			p.Buffer = schedule.Buffer{Before: 30 * time.Minute, After: 30 * time.Minute}
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "desk-b", MemberID: "m1", Start: cet(14, 0), End: cet(15, 0)}}
		}},
		{"booking_ended", "m1", cet(15, 10), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "desk-b", MemberID: "m1", Start: cet(14, 0), End: cet(15, 0)}}
		}},
		{"booking_in_progress", "m1", cet(14, 30), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "desk-b", MemberID: "m1", Start: cet(14, 0), End: cet(15, 0)}}
		}},
		{"resource_not_mapped", "m1", cet(14, 30), func(s *access.Snapshot, m *mapping.Mapping, _ *access.Policy) {
			delete(m.Resources, "desk-b")
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "desk-b", MemberID: "m1", Start: cet(14, 0), End: cet(15, 0)}}
		}},
		{"assignment_rule_not_in_force_today", "m2", time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "desk-ny", TeamID: "t1", Start: monday, Rules: []schedule.Rule{rule(weekdays, 9, 0, 17, 0)}}}
		}},
		{"assignment_in_force", "m2", time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "desk-ny", TeamID: "t1", Start: monday, Rules: []schedule.Rule{rule(weekdays, 9, 0, 17, 0)}}}
		}},
		{"not_checked_in_today", "m1", cet(10, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.CheckIns = []access.CheckIn{{ID: "c1", MemberID: "m1", LocationID: "berlin", At: cet(9, 0).AddDate(0, 0, -3), Out: cet(17, 0).AddDate(0, 0, -3)}}
		}},
		{"checked_out_at_noon", "m1", cet(13, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.CheckIns = []access.CheckIn{{ID: "c1", MemberID: "m1", LocationID: "berlin", At: cet(9, 0), Out: cet(12, 0)}}
		}},
		{"checked_in", "m1", cet(13, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.CheckIns = []access.CheckIn{{ID: "c1", MemberID: "m1", LocationID: "berlin", At: cet(9, 0)}}
		}},
		{"location_not_mapped", "m1", cet(13, 0), func(s *access.Snapshot, m *mapping.Mapping, _ *access.Policy) {
			m.Locations["berlin"] = []int64{}
			s.CheckIns = []access.CheckIn{{ID: "c1", MemberID: "m1", LocationID: "berlin", At: cet(9, 0)}}
		}},
		{"member_unknown", "m9", cet(10, 0), func(*access.Snapshot, *mapping.Mapping, *access.Policy) {}},
		{"email_invalid", "m2", cet(10, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Members[1].Email = "bob(at)example.com"
		}},
		{"shared_email", "m4", cet(10, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Members = append(s.Members, access.Member{ID: "m4", Email: "ann@example.com", Name: "Ann (second account)"})
			s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m4", Start: monday, Status: access.PlanActive}}
		}},
		{"drop_in_guest", "m1", cet(13, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Bookings = []access.Booking{{ID: "g1", ResourceID: "desk-b", Guest: &access.Guest{Name: "Ann", Email: "ann@example.com"}, Start: cet(14, 0), End: cet(15, 0)}}
		}},
		{"assignment_all_the_time_opens_with_the_buffer", "m1", cet(8, 57), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "desk-b", MemberID: "m1", Start: cet(9, 0), End: cet(18, 0)}}
		}},
		{"drop_in_guest_no_option", "m1", cet(13, 0), func(s *access.Snapshot, m *mapping.Mapping, _ *access.Policy) {
			m.DropIn = mapping.DropIn{}
			s.Bookings = []access.Booking{{ID: "g1", ResourceID: "desk-b", Guest: &access.Guest{Name: "Ann", Email: "ann@example.com"}, Start: cet(14, 0), End: cet(15, 0)}}
		}},
		{"drop_in_guest_added_to_group", "m1", cet(13, 0), func(s *access.Snapshot, m *mapping.Mapping, _ *access.Policy) {
			m.DropIn.AddToGroup = true
			s.Bookings = []access.Booking{{ID: "g1", ResourceID: "desk-b", Guest: &access.Guest{Name: "Ann", Email: "ann@example.com"}, Start: cet(14, 0), End: cet(15, 0)}}
		}},
		{"team_plan_and_allowance_merged", "m2", cet(10, 0), func(s *access.Snapshot, _ *mapping.Mapping, _ *access.Policy) {
			s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", TeamID: "t1", Start: monday, End: monday.AddDate(0, 0, 1), Status: access.PlanActive}}
			s.Allowances = []access.Allowance{{ID: "a1", AllowanceID: "pass", MemberID: "m2", Start: monday.AddDate(0, 0, 1), End: monday.AddDate(0, 0, 2)}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, m := fixture()
			p := access.DefaultPolicy()
			tc.edit(&s, &m, &p)
			x, _ := access.Explain(s, m, p, tc.member, tc.at)
			data, err := json.MarshalIndent(x, "", "  ")
			require.NoError(t, err)
			checkGolden(t, "explain", tc.name, x.String()+"\n--- JSON ---\n"+string(data)+"\n")
		})
	}
}

func TestExplainReportsRecordErrors(t *testing.T) {
	t.Parallel()
	s, m := fixture()
	s.Bookings = []access.Booking{{ID: "b1", ResourceID: "nope", MemberID: "m1", Start: hm(9, 0), End: hm(10, 0)}}
	x, err := access.Explain(s, m, access.DefaultPolicy(), "m1", hm(9, 30))
	require.ErrorIs(t, err, access.ErrUnknownResource)
	require.Equal(t, "ann@example.com", x.Email)
}
