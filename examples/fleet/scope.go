package fleet

import (
	"errors"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
)

// The failure scopes (DESIGN.md, "Failure scopes"): what a failure stops
// or a park holds back. They label the scope metrics and the per-scope
// counts of [Status].
const (
	// ScopeOrganization: the whole run stopped (the key refused, Kisi
	// unreachable, every write failing, the Store failing).
	ScopeOrganization = "organization"
	// ScopeGroup: one group or place (deleted in Kisi, or the key lacks
	// rights on it).
	ScopeGroup = "group"
	// ScopeUser: one member's Kisi user (its create refused or failing,
	// or deleted by hand).
	ScopeUser = "user"
	// ScopeChange: one change's key (user and group, or link), refused or
	// failing on its own.
	ScopeChange = "change"
	// ScopeQuota: Kisi's email-link quota.
	ScopeQuota = "quota"
	// ScopeHost: the host's side (its Notifier, or the snapshot loader).
	ScopeHost = "host"
)

// allScopes lists every failure scope, in the order of DESIGN.md.
var allScopes = []string{ScopeOrganization, ScopeGroup, ScopeUser, ScopeChange, ScopeQuota, ScopeHost}

// scopeCounts counts failures or parks by failure scope.
type scopeCounts map[string]int

// scopes is what a run failed and left parked, by scope.
type scopes struct {
	failing, parked scopeCounts
}

// scopeOf returns the scope of a failure or park of class on a change of
// groupID and email; parkedUsers are the emails whose Kisi user is parked
// (their changes wait for the user's back-off, not their own). It returns
// "" for a record of no failure (the Store's notes).
func scopeOf(class access.FailureClass, groupID int64, email string, parkedUsers map[string]bool) string {
	switch class {
	case "":
		return ""
	case access.FailureSystemic:
		return ScopeOrganization
	case access.FailureMissing, access.FailureForbidden:
		return ScopeGroup
	case access.FailureUserDeleted:
		return ScopeUser
	case access.FailureQuota:
		return ScopeQuota
	case access.FailureHost:
		return ScopeHost
	}
	// Refused, unknown or transient: the back-off of the key it names.
	switch {
	case email != "" && parkedUsers[email]:
		return ScopeUser
	case groupID != 0:
		return ScopeChange
	case email != "":
		return ScopeUser // a user's own park record names no group
	}
	return ScopeOrganization // the organization's own back-off
}

// parkedUsers returns the emails whose Kisi user recs hold parked: a park
// record that names an email and no group.
func parkedUsers(recs []state.Record) map[string]bool {
	out := map[string]bool{}
	for _, r := range recs {
		if r.Kind == state.KindPark && r.Email != "" && r.GroupID == 0 && r.Class != "" {
			out[r.Email] = true
		}
	}
	return out
}

// scopesOf returns what a run failed and parked, by scope. A run that stopped or could
// not plan fails its organization, or the host when its snapshot could
// not be loaded; a run that found another's lease, met the revoke guard or
// ran out of its budget fails nothing.
func scopesOf(out outcome) scopes {
	s := scopes{failing: scopeCounts{}, parked: scopeCounts{}}
	users := out.parkedUsers
	if r := out.report; r != nil {
		for _, f := range r.Failures {
			s.failing[scopeOf(f.Class, f.GroupID, f.Email, users)]++
		}
		for _, p := range r.Parked {
			if sc := scopeOf(p.Class, p.GroupID, p.Email, users); sc != "" {
				s.parked[sc]++
			}
		}
	}
	var systemic *access.SystemicError
	var revoke *access.RevokeLimitError
	switch {
	case out.err == nil, out.budgetSpent, errors.Is(out.err, state.ErrLeaseHeld), errors.As(out.err, &revoke):
	case out.loadFailed:
		s.failing[ScopeHost]++
	case errors.As(out.err, &systemic), out.report == nil:
		s.failing[ScopeOrganization] = max(1, s.failing[ScopeOrganization])
	}
	delete(s.failing, "")
	return s
}
