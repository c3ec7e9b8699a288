package access_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
)

// TestParkedNamesTheMember (issue 30): the changes parked with their whole
// group (deleted in Kisi) each name their member, not only the first one
// that found the group gone.
func TestParkedNamesTheMember(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	_, err := e.client.Groups.Delete(t.Context(), e.pro)
	require.NoError(t, err)
	s := baseSnapshot()
	s.Plans = []access.Plan{
		{ID: "p1", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive},
		{ID: "p2", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive},
	}
	_, _ = e.r.Sync(t.Context(), s) // finds the group gone and parks it
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.Len(t, c.Parked, 2)
	for _, p := range c.Parked {
		require.Equal(t, access.FailureMissing, p.Class)
		require.NotEmpty(t, p.Email, "parked %s names nobody", p.Key)
	}
	require.ElementsMatch(t, []string{"alice@example.com", "bob@example.com"}, []string{c.Parked[0].Email, c.Parked[1].Email})
}
