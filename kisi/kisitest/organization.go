package kisitest

import (
	"maps"
	"net/http"
)

type organization struct {
	meta
	name, domain string
	userID       int64
}

type refOrganization struct {
	ID           int64  `json:"id"`
	ResourceType string `json:"resource_type"`
	Name         string `json:"name"`
	Domain       string `json:"domain"`
}

type refUser struct {
	ID           int64  `json:"id"`
	ResourceType string `json:"resource_type"`
	Email        string `json:"email"`
	Name         string `json:"name"`
}

type refNamed struct {
	ID           int64  `json:"id"`
	ResourceType string `json:"resource_type"`
	Name         string `json:"name"`
}

type wireOrganization struct {
	ID                           int64    `json:"id"`
	ResourceType                 string   `json:"resource_type"`
	Name                         string   `json:"name"`
	Domain                       string   `json:"domain"`
	Logo                         *string  `json:"logo"`
	Address                      *string  `json:"address"`
	Description                  *string  `json:"description"`
	DeviceLoginsExpireAfter      *int     `json:"device_logins_expire_after"`
	PlacesCount                  int      `json:"places_count"`
	ScimEnabled                  bool     `json:"scim_enabled"`
	SSOFlowEnabled               bool     `json:"sso_flow_enabled"`
	SSOExpirationOverrideEnabled bool     `json:"sso_expiration_override_enabled"`
	SSOExpirationOverride        *int     `json:"sso_expiration_override"`
	Metadata                     *string  `json:"metadata"`
	TimeZone                     string   `json:"time_zone"`
	WebAuthenticationAPIEnabled  bool     `json:"web_authentication_api_enabled"`
	ApplePassEnabled             bool     `json:"apple_pass_enabled"`
	CreatedAt                    string   `json:"created_at"`
	UpdatedAt                    string   `json:"updated_at"`
	UserID                       *int64   `json:"user_id"`
	TransferToID                 *int64   `json:"transfer_to_id"`
	TransferTo                   *refUser `json:"transfer_to"`
	Image                        *string  `json:"image"`
	Color                        *string  `json:"color"`
}

func (st *state) orgRef() refOrganization {
	return refOrganization{ID: st.org.id, ResourceType: "Organization", Name: st.org.name, Domain: st.org.domain}
}

func (st *state) routeOrganization(c *call) response {
	if len(c.segs) != 1 || c.method != http.MethodGet {
		return notFound()
	}
	expire := 1209600
	uid := st.org.userID
	return jsonResponse(wireOrganization{
		ID: st.org.id, ResourceType: "Organization", Name: st.org.name, Domain: st.org.domain,
		DeviceLoginsExpireAfter: &expire, PlacesCount: len(st.places), TimeZone: "Etc/UTC",
		CreatedAt: ts(st.org.createdAt), UpdatedAt: ts(st.org.updatedAt), UserID: &uid,
	})
}

// role is a row of GET /roles.
type role struct {
	ID           string          `json:"id"`
	ResourceType string          `json:"resource_type"`
	AppliesTo    string          `json:"applies_to"`
	Name         string          `json:"name"`
	Description  *string         `json:"description"`
	Custom       bool            `json:"custom"`
	Permissions  map[string]bool `json:"permissions"`
	CustomRoleID *int64          `json:"custom_role_id"`
}

// roleDefs lists the built-in roles: id, scope, name, and whether it grants
// writes.
var roleDefs = [...]struct {
	id, appliesTo, name string
	write               bool
}{
	{"group_basic", "Group", "Basic", false},
	{"group_manager", "Group", "Manager", true},
	{"place_door_access", "Place", "Door access", false},
	{"place_access_manager", "Place", "Place access manager", true},
	{"place_administrator", "Place", "Place administrator", true},
	{"observer", "Organization", "Observer", false},
	{"user_manager", "Organization", "User manager", true},
	{"organization_access_manager", "Organization", "Organization access manager", true},
	{"organization_administrator", "Organization", "Organization administrator", true},
	{"organization_owner", "Organization", "Organization owner", true},
}

// lookupRole returns the scope of the role id, which must be one GET /roles
// lists: a built-in role or one added by WithCustomRoles.
func (st *state) lookupRole(id string) (appliesTo string, ok bool) {
	for _, r := range st.roles() {
		if r.ID == id {
			return r.AppliesTo, true
		}
	}
	return "", false
}

func renderRole(i int) role {
	d := roleDefs[i]
	perms := map[string]bool{"locks_unlock": true, "events_read": d.write || d.id == "observer"}
	for _, p := range []string{"role_assignments_write", "group_links_write", "group_locks_write", "groups_write", "users_write", "teams_write", "team_memberships_write"} {
		perms[p] = d.write
	}
	perms["role_assignments_read"] = d.write || d.id == "observer"
	return role{ID: d.id, ResourceType: "Role", AppliesTo: d.appliesTo, Name: d.name, Permissions: perms}
}

// roles is GET /roles: the built-in roles, then the custom ones.
func (st *state) roles() []role {
	out := make([]role, 0, len(roleDefs)+len(st.cfg.customRoles))
	for i := range roleDefs {
		out = append(out, renderRole(i))
	}
	for i, cr := range st.cfg.customRoles {
		id := int64(i + 1)
		perms := map[string]bool{"locks_unlock": true}
		if cr.Permissions != nil {
			perms = maps.Clone(cr.Permissions)
		}
		out = append(out, role{
			ID: cr.ID, ResourceType: "Role", AppliesTo: cr.AppliesTo, Name: cr.Name, Custom: true,
			Permissions: perms, CustomRoleID: &id,
		})
	}
	return out
}

func (st *state) routeRoles(c *call) response {
	if c.method != http.MethodGet {
		return notFound()
	}
	switch len(c.segs) {
	case 1:
		return jsonResponse(st.roles())
	case 2:
		for _, r := range st.roles() {
			if r.ID == c.segs[1] {
				return jsonResponse(r)
			}
		}
	}
	return notFound()
}
