package access

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kisisync/kisisync/kisi"
)

// ObserverRoleID is the id Kisi gives its read-only organization role; the
// role is looked up in GET /roles by this id, or else by the name
// "Observer".
const ObserverRoleID = "observer"

// Errors of [GrantObserver] and [RevokeObserver]; test with [errors.Is].
var (
	// ErrNoObserverRole reports that Kisi lists no organization role with
	// the id or name observer.
	ErrNoObserverRole = errors.New("access: kisi has no observer role")
	// ErrOtherOrganizationRole reports that the user already holds another
	// organization role; Kisi allows one role per user and organization, so
	// GrantObserver leaves it as it is.
	ErrOtherOrganizationRole = errors.New("access: the user already holds another organization role")
)

// GrantObserver gives email read-only Observer access to the organization
// of c's API key, as operators are asked to do by hand so that a support
// team can see the settings and the event history. The Observer role cannot
// change anything in Kisi.
//
// The role id is resolved from GET /roles (the organization role with id
// or name observer) and the organization from GET /organization. A Kisi
// user with the email is created when there is none, as a regular user whom
// Kisi invites by email. Granting again is a no-op that returns the
// existing assignment. If the user holds another organization role (say
// administrator), nothing is changed and the error matches
// [ErrOtherOrganizationRole]. The key must belong to an organization owner
// or administrator.
func GrantObserver(ctx context.Context, c *kisi.Client, email string) (*kisi.RoleAssignment, error) {
	if c == nil {
		return nil, errors.New("access: grant observer: nil kisi client")
	}
	addr, err := NormalizeEmail(email)
	if err != nil {
		return nil, fmt.Errorf("access: grant observer: %w", err)
	}
	roleID, err := observerRole(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("access: grant observer to %s: %w", addr, err)
	}
	org, _, err := c.Organization.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("access: grant observer to %s: read organization: %w", addr, err)
	}
	u, _, err := c.Users.GetByEmail(ctx, addr)
	switch {
	case errors.Is(err, kisi.ErrNotFound):
		u, _, err = c.Users.Create(ctx, &kisi.UserCreateRequest{Email: addr})
		if errors.Is(err, kisi.ErrMaybeApplied) || errors.Is(err, kisi.ErrValidation) {
			// A lost response or a concurrent create: the user may exist.
			u, _, err = c.Users.GetByEmail(ctx, addr)
		}
		if err != nil {
			return nil, fmt.Errorf("access: grant observer to %s: create user: %w", addr, err)
		}
	case err != nil:
		return nil, fmt.Errorf("access: grant observer to %s: find user: %w", addr, err)
	}
	held, err := orgRoles(ctx, c, u.ID)
	if err != nil {
		return nil, fmt.Errorf("access: grant observer to %s: %w", addr, err)
	}
	for _, ra := range held {
		if ra.RoleID == roleID {
			return ra, nil
		}
	}
	if len(held) > 0 {
		return nil, fmt.Errorf("access: grant observer to %s: role %s: %w", addr, held[0].RoleID, ErrOtherOrganizationRole)
	}
	ra, _, err := c.RoleAssignments.Create(ctx, &kisi.RoleAssignmentCreateRequest{
		RoleID: roleID, AppliesToType: kisi.ScopeOrganization, AppliesToID: org.ID,
		AssigneeType: kisi.AssigneeUser, AssigneeID: u.ID, Notify: true,
	})
	if err != nil && (errors.Is(err, kisi.ErrMaybeApplied) || errors.Is(err, kisi.ErrValidation)) {
		// The create may have happened (lost response) or raced another
		// grant: adopt what Kisi holds now.
		held, lerr := orgRoles(ctx, c, u.ID)
		if lerr == nil {
			for _, h := range held {
				if h.RoleID == roleID {
					return h, nil
				}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("access: grant observer to %s: %w", addr, err)
	}
	return ra, nil
}

// RevokeObserver takes the Observer role of email away. It deletes only an
// organization role whose id is the observer role's; any other role, and
// the Kisi user itself, stay (this SDK never deletes users). It reports
// whether a role was deleted: revoking from an unknown email or a user
// without the role is a no-op that returns false and a nil error.
func RevokeObserver(ctx context.Context, c *kisi.Client, email string) (bool, error) {
	if c == nil {
		return false, errors.New("access: revoke observer: nil kisi client")
	}
	addr, err := NormalizeEmail(email)
	if err != nil {
		return false, fmt.Errorf("access: revoke observer: %w", err)
	}
	roleID, err := observerRole(ctx, c)
	if err != nil {
		return false, fmt.Errorf("access: revoke observer from %s: %w", addr, err)
	}
	u, _, err := c.Users.GetByEmail(ctx, addr)
	if errors.Is(err, kisi.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("access: revoke observer from %s: find user: %w", addr, err)
	}
	held, err := orgRoles(ctx, c, u.ID)
	if err != nil {
		return false, fmt.Errorf("access: revoke observer from %s: %w", addr, err)
	}
	revoked := false
	for _, ra := range held {
		if ra.RoleID != roleID {
			continue
		}
		if _, err := c.RoleAssignments.Delete(ctx, ra.ID); err != nil && !errors.Is(err, kisi.ErrNotFound) {
			return revoked, fmt.Errorf("access: revoke observer from %s: delete role assignment %d: %w", addr, ra.ID, err)
		}
		revoked = true
	}
	return revoked, nil
}

// observerRole resolves the observer role's id from GET /roles.
func observerRole(ctx context.Context, c *kisi.Client) (string, error) {
	roles, _, err := c.Roles.List(ctx)
	if err != nil {
		return "", fmt.Errorf("list roles: %w", err)
	}
	byName := ""
	for _, r := range roles {
		if r.AppliesTo != kisi.ScopeOrganization {
			continue
		}
		if r.ID == ObserverRoleID {
			return r.ID, nil
		}
		if byName == "" && strings.EqualFold(strings.TrimSpace(r.Name), "observer") {
			byName = r.ID
		}
	}
	if byName != "" {
		return byName, nil
	}
	return "", ErrNoObserverRole
}

// orgRoles lists the organization roles of user uid.
func orgRoles(ctx context.Context, c *kisi.Client, uid int64) ([]*kisi.RoleAssignment, error) {
	var out []*kisi.RoleAssignment
	for ra, err := range c.RoleAssignments.ListIter(ctx, &kisi.RoleAssignmentListOptions{
		AssigneeType: kisi.AssigneeUser, AssigneeID: uid, AppliesToType: kisi.ScopeOrganization}) {
		if err != nil {
			return nil, fmt.Errorf("list organization roles: %w", err)
		}
		out = append(out, ra)
	}
	return out, nil
}
