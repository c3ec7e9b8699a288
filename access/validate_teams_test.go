package access_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kisisync/kisisync/access"
)

// TestTeamMemberRejected checks that a team naming a member that exists
// but was rejected (a bad email, or a first record with a bad email and
// a duplicate after it) leaves that member out silently, the member being
// reported once as a member, while a member nobody has is reported against
// the team, and a duplicated member ID reaches the first member's identity.
func TestTeamMemberRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		members []access.Member
		team    []string
		want    []string // record errors, as "kind id: error"
		granted []string // members the team plan reaches
	}{
		{"bad email", []access.Member{{ID: "m4", Email: "not an email"}}, []string{"m1", "m4"},
			[]string{"member m4"}, []string{"m1"}},
		{"bad email then duplicate", []access.Member{{ID: "m4", Email: "not an email"}, {ID: "m4", Email: "dan@example.com"}},
			[]string{"m4", "m2"}, []string{"member m4", "member m4"}, []string{"m2"}},
		{"duplicate of a valid member", []access.Member{{ID: "m1", Email: "dan@example.com"}}, []string{"m1"},
			[]string{"member m1"}, []string{"m1"}},
		{"unknown member", nil, []string{"m1", "m9"}, []string{"team t2"}, []string{"m1"}},
		{"empty member ID", []access.Member{{ID: "", Email: "dan@example.com"}}, []string{"m2", ""},
			[]string{"member ", "team t2"}, []string{"m2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, m := fixture()
			s.Members = append(s.Members, tc.members...)
			s.Teams = append(s.Teams, access.Team{ID: "t2", MemberIDs: tc.team})
			s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", TeamID: "t2", Start: monday, Status: access.PlanActive}}
			grants, err := access.Desired(s, m, access.DefaultPolicy(), hm(9, 30))
			var got []string
			for _, re := range access.RecordErrors(err) {
				got = append(got, re.Kind+" "+re.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("record errors (-want +got):\n%s", diff)
			}
			var reached []string
			for _, g := range grants {
				reached = append(reached, g.MemberID)
			}
			slices.Sort(reached)
			if diff := cmp.Diff(tc.granted, reached); diff != "" {
				t.Errorf("members reached (-want +got):\n%s", diff)
			}
		})
	}
}
