package kisitest

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// OrganizationID returns the id of the server's organization.
func (s *Server) OrganizationID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.org.id
}

// OwnerID returns the user id of the organization owner, the user behind
// [Server.APIKey].
func (s *Server) OwnerID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.owner.id
}

// AddPlace creates a place, as POST /places would, with its default group
// ([DefaultPlaceGroup]), and returns its id. timeZone is an IANA name or ""
// for none.
func (s *Server) AddPlace(name, timeZone string) (int64, error) {
	if name == "" {
		return 0, errors.New("kisitest: add place: empty name")
	}
	var tz *string
	if timeZone != "" {
		if _, err := time.LoadLocation(timeZone); err != nil {
			return 0, fmt.Errorf("kisitest: add place %q: %w", name, err)
		}
		tz = &timeZone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	p := &place{meta: s.st.newMeta(now), name: name, address: name + " address", timeZone: tz}
	s.st.places[p.id] = p
	s.st.addDefaultGroup(p, now)
	return p.id, nil
}

// AddLock creates a lock in a place and returns its id.
func (s *Server) AddLock(placeID int64, name string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.places[placeID] == nil {
		return 0, fmt.Errorf("kisitest: add lock %q: no place %d", name, placeID)
	}
	if name == "" {
		return 0, errors.New("kisitest: add lock: empty name")
	}
	now := s.clock.Now().UTC()
	l := &lock{meta: s.st.newMeta(now), placeID: placeID, name: name}
	s.st.locks[l.id] = l
	return l.id, nil
}

// AddGroup creates a group and returns its id; placeID 0 makes an
// organization-scoped group.
func (s *Server) AddGroup(name string, placeID int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if placeID != 0 && s.st.places[placeID] == nil {
		return 0, fmt.Errorf("kisitest: add group %q: no place %d", name, placeID)
	}
	if name == "" {
		return 0, errors.New("kisitest: add group: empty name")
	}
	now := s.clock.Now().UTC()
	g := &group{meta: s.st.newMeta(now), name: name, placeID: placeID, loginEnabled: true}
	s.st.groups[g.id] = g
	return g.id, nil
}

// AddGroupLock puts a lock into a group and returns the group lock's id.
func (s *Server) AddGroupLock(groupID, lockID int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.groups[groupID] == nil || s.st.locks[lockID] == nil {
		return 0, fmt.Errorf("kisitest: add group lock: no group %d or no lock %d", groupID, lockID)
	}
	for _, gl := range s.st.groupLocks {
		if gl.groupID == groupID && gl.lockID == lockID {
			return 0, fmt.Errorf("kisitest: add group lock: lock %d already in group %d", lockID, groupID)
		}
	}
	now := s.clock.Now().UTC()
	gl := &groupLock{meta: s.st.newMeta(now), groupID: groupID, lockID: lockID}
	s.st.groupLocks[gl.id] = gl
	return gl.id, nil
}

// AddUser creates a user and returns its id. A managed user is created as
// with send_emails:false, confirm:true (confirmed); any other is an
// unconfirmed regular user.
func (s *Server) AddUser(email, name string, managed bool) (int64, error) {
	if !strings.Contains(email, "@") {
		return 0, fmt.Errorf("kisitest: add user: invalid email %q", email)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.userByEmail(email) != nil {
		return 0, fmt.Errorf("kisitest: add user: email %q already taken", email)
	}
	return s.st.addUser(email, name, managed, s.clock.Now().UTC()).id, nil
}

// NewUserKey returns a new API key for the user with this email, creating
// a confirmed user when there is none. roleID, when not "", is an
// organization role (e.g. "observer", "organization_administrator") given
// to the user if it holds no organization role yet. Only a key whose
// organization role has role_assignments_write and users_write (GET
// /roles) may write; other keys get 403 on every write except unlocking.
func (s *Server) NewUserKey(email, roleID string) (string, error) {
	if !strings.Contains(email, "@") {
		return "", fmt.Errorf("kisitest: new user key: invalid email %q", email)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if roleID != "" {
		if scope, ok := s.st.lookupRole(roleID); !ok || scope != "Organization" || roleID == "organization_owner" {
			return "", fmt.Errorf("kisitest: new user key: %q is not an assignable organization role", roleID)
		}
	}
	now := s.clock.Now().UTC()
	u := s.st.userByEmail(email)
	if u == nil {
		u = s.st.addUser(email, "", true, now)
	}
	if roleID != "" {
		has := false
		for _, ra := range s.st.roleAssignments {
			if ra.assigneeType == "User" && ra.assigneeID == u.id && ra.appliesToType == "Organization" {
				has = true
			}
		}
		if !has {
			s.st.addRoleAssignment(&roleAssignment{
				roleID: roleID, appliesToType: "Organization", appliesToID: s.st.org.id,
				assigneeType: "User", assigneeID: u.id,
			}, now)
		}
	}
	return s.st.newKey(u), nil
}

// Unlock describes an unlock attempt for [Server.RecordUnlock].
type Unlock struct {
	// UserID is the user who tried to unlock.
	UserID int64
	// LockID is the lock.
	LockID int64
	// At is when it happened; zero means now on the server's clock.
	At time.Time
	// ErrorCode is "" for a successful unlock, else a Kisi error code such
	// as "f358de" (access not yet valid) or "fcd8ff" (access disabled).
	ErrorCode string
}

// RecordUnlock adds a lock.unlock event to the organization's event stream,
// readable through POST /event_sets, and returns its uuid.
func (s *Server) RecordUnlock(u Unlock) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.st.locks[u.LockID]
	if l == nil {
		return "", fmt.Errorf("kisitest: record unlock: no lock %d", u.LockID)
	}
	if s.st.users[u.UserID] == nil {
		return "", fmt.Errorf("kisitest: record unlock: no user %d", u.UserID)
	}
	at := u.At
	if at.IsZero() {
		at = s.clock.Now()
	}
	e := &event{
		typ: "lock.unlock", actorType: "User", actorID: u.UserID, objectType: "Lock", objectID: l.id,
		placeID: l.placeID, success: u.ErrorCode == "", errorCode: u.ErrorCode, at: at.UTC(),
	}
	s.st.recordEvent(e)
	// A door opened is the user's last access, as Kisi reports it.
	if u := s.st.users[u.UserID]; e.success && (u.lastAccessedAt == nil || u.lastAccessedAt.Before(e.at)) {
		u.lastAccessedAt = &e.at
	}
	return e.uuid, nil
}
