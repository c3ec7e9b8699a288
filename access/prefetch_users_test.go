package access_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOnboardingListsUsersOnlyWhenCheap: a run that must create or find at
// least 100 users lists the organization's users once when that costs at
// most a tenth as many requests as the users it needs; otherwise it stops
// after the first page, which tells the organization's size, and creates
// first.
func TestOnboardingListsUsersOnlyWhenCheap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		others    int // Kisi users besides the owner, none of them a member
		wantPages int
	}{
		{name: "14 pages for 150 users needed: listed", others: 1300, wantPages: 14},
		{name: "17 pages for 150 users needed: first page only", others: 1600, wantPages: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			s := baseSnapshot()
			addPlanMembers(&s, "m", 150)
			for i := range tc.others {
				_, err := e.srv.AddUser(fmt.Sprintf("other%04d@example.com", i), "", true)
				require.NoError(t, err)
			}
			rep := e.sync(s)
			require.Equal(t, 150, rep.UsersCreated, "every new member gets a user")
			require.Zero(t, rep.Failed)
			require.Equal(t, tc.wantPages, e.srv.Count(http.MethodGet, "/users"), "pages of GET /users")
		})
	}
}
