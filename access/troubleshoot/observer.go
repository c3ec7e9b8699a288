package troubleshoot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
)

// ObserverRoleID is the id Kisi gives its read-only organization role; the
// role is looked up in GET /roles by this id, or else by the name
// "Observer".
const ObserverRoleID = "observer"

// ObserverKisi is the part of the Kisi API [GrantObserver] and
// [RevokeObserver] use, writes included. *[kisi.Client] satisfies it, as
// does a wrapper that keeps the client's errors wrapped (errors.Is
// [kisi.ErrNotFound], [kisi.ErrMaybeApplied], [kisi.ErrValidation]).
type ObserverKisi interface {
	// ListRoles lists Kisi's roles.
	ListRoles(ctx context.Context) ([]*kisi.Role, *kisi.Response, error)
	// GetOrganization returns the API key's organization.
	GetOrganization(ctx context.Context) (*kisi.Organization, *kisi.Response, error)
	// GetUserByEmail returns the user with email, or an error matching
	// kisi.ErrNotFound.
	GetUserByEmail(ctx context.Context, email string) (*kisi.User, *kisi.Response, error)
	// CreateUser creates a user.
	CreateUser(ctx context.Context, req *kisi.UserCreateRequest) (*kisi.User, *kisi.Response, error)
	// ListRoleAssignments returns one page of role assignments.
	ListRoleAssignments(ctx context.Context, opts *kisi.RoleAssignmentListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error)
	// CreateRoleAssignment creates a role assignment.
	CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error)
	// DeleteRoleAssignment deletes the role assignment id.
	DeleteRoleAssignment(ctx context.Context, id int64) (*kisi.Response, error)
}

// Errors of [GrantObserver] and [RevokeObserver]; test with [errors.Is].
var (
	// ErrNoObserverRole reports that Kisi lists no organization role with
	// the id or name observer.
	ErrNoObserverRole = errors.New("troubleshoot: kisi has no observer role")
	// ErrOtherOrganizationRole reports that the user already holds another
	// organization role; Kisi allows one role per user and organization, so
	// GrantObserver leaves it as it is.
	ErrOtherOrganizationRole = errors.New("troubleshoot: the user already holds another organization role")
)

// GrantObserver gives email read-only Observer access to the organization
// of k's API key, as operators are asked to do by hand so that a support
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
func GrantObserver(ctx context.Context, k ObserverKisi, email string) (*kisi.RoleAssignment, error) {
	if k == nil {
		return nil, errors.New("troubleshoot: grant observer: nil kisi client")
	}
	addr, err := access.NormalizeEmail(email)
	if err != nil {
		return nil, fmt.Errorf("troubleshoot: grant observer: %w", err)
	}
	roleID, err := observerRole(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("troubleshoot: grant observer to %s: %w", addr, err)
	}
	org, _, err := k.GetOrganization(ctx)
	if err != nil {
		return nil, fmt.Errorf("troubleshoot: grant observer to %s: read organization: %w", addr, err)
	}
	u, _, err := k.GetUserByEmail(ctx, addr)
	switch {
	case errors.Is(err, kisi.ErrNotFound):
		u, _, err = k.CreateUser(ctx, &kisi.UserCreateRequest{Email: addr})
		if errors.Is(err, kisi.ErrMaybeApplied) || errors.Is(err, kisi.ErrValidation) {
			// A lost response or a concurrent create: the user may exist.
			u, _, err = k.GetUserByEmail(ctx, addr)
		}
		if err != nil {
			return nil, fmt.Errorf("troubleshoot: grant observer to %s: create user: %w", addr, err)
		}
	case err != nil:
		return nil, fmt.Errorf("troubleshoot: grant observer to %s: find user: %w", addr, err)
	}
	held, err := orgRoles(ctx, k, u.ID)
	if err != nil {
		return nil, fmt.Errorf("troubleshoot: grant observer to %s: %w", addr, err)
	}
	for _, ra := range held {
		if ra.RoleID == roleID {
			return ra, nil
		}
	}
	if len(held) > 0 {
		return nil, fmt.Errorf("troubleshoot: grant observer to %s: role %s: %w", addr, held[0].RoleID, ErrOtherOrganizationRole)
	}
	ra, _, err := k.CreateRoleAssignment(ctx, &kisi.RoleAssignmentCreateRequest{
		RoleID: roleID, AppliesToType: kisi.ScopeOrganization, AppliesToID: org.ID,
		AssigneeType: kisi.AssigneeUser, AssigneeID: u.ID, Notify: true,
	})
	if err != nil && (errors.Is(err, kisi.ErrMaybeApplied) || errors.Is(err, kisi.ErrValidation)) {
		// The create may have happened (lost response) or raced another
		// grant: adopt what Kisi holds now.
		held, lerr := orgRoles(ctx, k, u.ID)
		if lerr == nil {
			for _, h := range held {
				if h.RoleID == roleID {
					return h, nil
				}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("troubleshoot: grant observer to %s: %w", addr, err)
	}
	return ra, nil
}

// RevokeObserver takes the Observer role of email away. It deletes only an
// organization role whose id is the observer role's; any other role, and
// the Kisi user itself, stay (this SDK never deletes users). It reports
// whether a role was deleted: revoking from an unknown email or a user
// without the role is a no-op that returns false and a nil error.
func RevokeObserver(ctx context.Context, k ObserverKisi, email string) (bool, error) {
	if k == nil {
		return false, errors.New("troubleshoot: revoke observer: nil kisi client")
	}
	addr, err := access.NormalizeEmail(email)
	if err != nil {
		return false, fmt.Errorf("troubleshoot: revoke observer: %w", err)
	}
	roleID, err := observerRole(ctx, k)
	if err != nil {
		return false, fmt.Errorf("troubleshoot: revoke observer from %s: %w", addr, err)
	}
	u, _, err := k.GetUserByEmail(ctx, addr)
	if errors.Is(err, kisi.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("troubleshoot: revoke observer from %s: find user: %w", addr, err)
	}
	held, err := orgRoles(ctx, k, u.ID)
	if err != nil {
		return false, fmt.Errorf("troubleshoot: revoke observer from %s: %w", addr, err)
	}
	revoked := false
	for _, ra := range held {
		if ra.RoleID != roleID {
			continue
		}
		if _, err := k.DeleteRoleAssignment(ctx, ra.ID); err != nil && !errors.Is(err, kisi.ErrNotFound) {
			return revoked, fmt.Errorf("troubleshoot: revoke observer from %s: delete role assignment %d: %w", addr, ra.ID, err)
		}
		revoked = true
	}
	return revoked, nil
}

// observerRole resolves the observer role's id from GET /roles.
func observerRole(ctx context.Context, k ObserverKisi) (string, error) {
	roles, _, err := k.ListRoles(ctx)
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
func orgRoles(ctx context.Context, k ObserverKisi, uid int64) ([]*kisi.RoleAssignment, error) {
	out, err := kisi.All(ctx, k.ListRoleAssignments, &kisi.RoleAssignmentListOptions{
		AssigneeType: kisi.AssigneeUser, AssigneeID: uid, AppliesToType: kisi.ScopeOrganization})
	if err != nil {
		return nil, fmt.Errorf("list organization roles: %w", err)
	}
	return out, nil
}
