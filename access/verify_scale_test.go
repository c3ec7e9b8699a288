package access_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
)

// pastOffsetCap is Kisi for an organization with more users than a list
// can page through: the list of all its users ends in kisi.ErrOffsetCap,
// a list narrowed to a group, an email or a text works.
type pastOffsetCap struct {
	access.KisiAPI
	whole int // lists of all users asked for
}

func (k *pastOffsetCap) ListUsers(ctx context.Context, opts *kisi.UserListOptions) ([]*kisi.User, *kisi.Response, error) {
	if opts == nil || opts.GroupID == 0 && opts.Email == "" && opts.Query == "" && opts.PlaceID == 0 {
		k.whole++
		return nil, nil, fmt.Errorf("list users: %w", kisi.ErrOffsetCap)
	}
	return k.KisiAPI.ListUsers(ctx, opts)
}

// TestVerifyPastOffsetCap (issue 28): after a lost Store, in an
// organization with more users than Kisi's offset cap lets a list reach,
// Verify adopts the roles of the SDK's users from each group's users, and
// a member who left loses access at once, not at the end of the validity.
func TestVerifyPastOffsetCap(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 5)
	require.Equal(t, 5, e.sync(s).Created)

	capped := &pastOffsetCap{KisiAPI: e.client}
	e.st = access.NewMemoryStore()
	e.r = e.reconcilerWith(capped)
	d, err := e.r.Verify(t.Context())
	require.NoError(t, err)
	require.Len(t, d.Adopted, 5, "every role of the SDK's users adopted")
	require.Equal(t, 1, capped.whole, "the whole list tried once")

	s.Plans[0].Status = access.PlanCancelled
	rep := e.sync(s)
	require.Equal(t, 1, rep.Deleted, "the member who left loses access")
	require.Len(t, e.roles(), 4)
}
