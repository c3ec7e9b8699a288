package troubleshoot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
)

// ConnectionReport is the result of [Checker.CheckConnection]: whether the API key
// works and may write, and the state of every mapped group. It marshals to
// JSON for a host's admin page; [ConnectionReport.String] renders it for a
// support person.
type ConnectionReport struct {
	// CheckedAt is when the check ran, read from the Checker's clock (see
	// [WithClock]); String writes it, and the times of the Store's park
	// records, in its location.
	CheckedAt    time.Time         `json:"checked_at"`
	Organization *OrganizationInfo `json:"organization,omitempty"`
	Key          *KeyInfo          `json:"key,omitempty"`
	Groups       []GroupCheck      `json:"groups,omitempty"`
	// EmailLinks is the number of group links with an email in force;
	// Kisi allows EmailLinkLimit at once. -1 when they could not be listed.
	EmailLinks     int       `json:"email_links"`
	EmailLinkLimit int       `json:"email_link_limit"`
	Findings       []Finding `json:"findings"`
}

// OrganizationInfo names the Kisi organization of the API key.
type OrganizationInfo struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Domain string `json:"domain,omitempty"`
}

// KeyInfo describes the Kisi user the API key belongs to.
type KeyInfo struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
	// Roles are the user's organization roles (role ids such as
	// organization_administrator or observer).
	Roles []string `json:"roles,omitempty"`
	// Admin reports whether the user may make the sync's writes: one of
	// its organization roles grants users_write, role_assignments_write
	// and group_links_write, as GET /roles lists its permissions. When
	// the roles cannot be read (a [Kisi] without ListRoles, or a failed
	// read), it is told by role id instead (organization_owner or
	// organization_administrator, ids no Kisi source lists), and
	// AdminByRoleID is set.
	Admin bool `json:"admin"`
	// AdminByRoleID reports that Admin was told by role id, not by the
	// roles' permissions.
	AdminByRoleID bool `json:"admin_by_role_id,omitempty"`
}

// GroupCheck is the state of one mapped Kisi group.
type GroupCheck struct {
	GroupID int64  `json:"group_id"`
	Name    string `json:"name,omitempty"`
	Exists  bool   `json:"exists"`
	PlaceID int64  `json:"place_id,omitempty"`
	Doors   int    `json:"doors"`
	Users   int    `json:"users"`
	// Roles is the number of role assignments in the group, Unmanaged how
	// many of them this SDK did not create (-1 when unknown).
	Roles     int `json:"roles"`
	Unmanaged int `json:"unmanaged"`
	// Restrictions are the finding codes of the group's restrictions, such
	// as time_restriction or app_access_off.
	Restrictions []Code `json:"restrictions,omitempty"`
}

// OK reports whether no finding is an error.
func (r *ConnectionReport) OK() bool { return r != nil && worst(r.Findings) < SeverityError }

// MissingGroups returns the mapped groups that do not exist in Kisi, which
// a sync should skip.
func (r *ConnectionReport) MissingGroups() []int64 {
	if r == nil {
		return nil
	}
	var out []int64
	for _, g := range r.Groups {
		if !g.Exists {
			out = append(out, g.GroupID)
		}
	}
	return out
}

// String renders the report: the findings, most serious first, then the
// key and the groups.
func (r *ConnectionReport) String() string {
	if r == nil {
		return "No connection report.\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Kisi connection check at %s\n", textfmt.Time(r.CheckedAt, r.CheckedAt.Location()))
	if r.Organization != nil {
		fmt.Fprintf(&b, "Organization %d %q\n", r.Organization.ID, r.Organization.Name)
	}
	if r.Key != nil {
		role := "no organization role"
		if len(r.Key.Roles) > 0 {
			role = strings.Join(r.Key.Roles, ", ")
		}
		fmt.Fprintf(&b, "API key of %s (user %d): %s\n", r.Key.Email, r.Key.UserID, role)
	}
	b.WriteString("\nFindings:\n")
	writeFindings(&b, r.Findings)
	if len(r.Groups) > 0 {
		b.WriteString("\nGroups:\n")
		for _, g := range r.Groups {
			if !g.Exists {
				fmt.Fprintf(&b, "  %d  missing in Kisi\n", g.GroupID)
				continue
			}
			unmanaged := fmt.Sprintf("%d not managed here", g.Unmanaged)
			if g.Unmanaged < 0 {
				unmanaged = "unknown ownership"
			}
			restr := "no restrictions"
			if len(g.Restrictions) > 0 {
				restr = joinCodes(g.Restrictions)
			}
			fmt.Fprintf(&b, "  %d  %-20q %s, %s, %s (%s), %s\n", g.GroupID, g.Name,
				textfmt.Plural(g.Doors, "door", "doors"), textfmt.Plural(g.Users, "user", "users"),
				textfmt.Plural(g.Roles, "role", "roles"), unmanaged, restr)
		}
	}
	if r.EmailLinks >= 0 {
		fmt.Fprintf(&b, "\nEmail links (as Kisi counts them, expired ones too): %d of %d\n", r.EmailLinks, r.EmailLinkLimit)
	}
	return b.String()
}

// CheckConnection checks that the API key works and may write, and that
// every group of the Checker's mapping exists in Kisi, has doors and what
// restricts it. It reads Kisi only and never writes. Each problem is a
// [Finding] with a remedy; a mapped group that is missing is reported and
// skipped, and the other groups are still checked. The returned error is
// non-nil only when ctx ends; an invalid key or an unreachable Kisi is a
// finding.
//
// It makes 3 requests for the key, per mapped group 1 for the group, 1 for
// its place (once per place) and ⌈n/250⌉ for its n role assignments, and
// ⌈l/250⌉ for the organization's l group links.
func (c *Checker) CheckConnection(ctx context.Context) (*ConnectionReport, error) {
	rep := &ConnectionReport{CheckedAt: c.o.clock.Now(), EmailLinks: -1, EmailLinkLimit: kisi.EmailLinkLimit}
	kc, err := checkKey(ctx, c.k)
	if err != nil {
		return nil, fmt.Errorf("troubleshoot: check connection: %w", err)
	}
	rep.Key, rep.Organization = kc.key, kc.org
	rep.Findings = append(rep.Findings, kc.findings...)
	if !kc.usable {
		sortFindings(rep.Findings)
		return rep, nil
	}
	own, f, err := c.loadOwnership(ctx, kc.key.UserID)
	if err != nil {
		return nil, fmt.Errorf("troubleshoot: check connection: %w", err)
	}
	rep.Findings = append(rep.Findings, f...)
	rep.Findings = append(rep.Findings, own.parked...)
	if err := c.checkGroups(ctx, rep, own); err != nil {
		return nil, fmt.Errorf("troubleshoot: check connection: %w", err)
	}
	n, expired, err := countEmailLinks(ctx, c.k, rep.CheckedAt)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("troubleshoot: check connection: %w", ctx.Err())
	case err != nil:
		rep.Findings = append(rep.Findings, checkFailed("count the email links", err))
	default:
		rep.EmailLinks = n
		rep.Findings = append(rep.Findings, c.emailLinkFinding(n, expired))
	}
	if err := c.checkWebhooks(ctx, rep); err != nil {
		return nil, fmt.Errorf("troubleshoot: check connection: %w", err)
	}
	sortFindings(rep.Findings)
	return rep, nil
}

// WithUnsignedWebhooks tells [Checker.CheckConnection] that the host's
// event webhooks have no signature key: its receiver runs with
// [kisi.WithUnsignedDeliveries]. Kisi allows an integration without a key
// but never says whether one is set (it does not echo signature_key), so
// the check cannot read it from Kisi. With this option every event webhook
// of the organization gets a warning ([CodeWebhookUnsigned]): anyone who
// knows the URL can send deliveries, so the receiver trusts none and reads
// events back through event sets. Without it, nothing is said about keys.
func WithUnsignedWebhooks() Option {
	return func(o *options) error {
		o.unsignedWebhooks = true
		return nil
	}
}

// checkWebhooks reports event webhooks Kisi disabled after errors (Kisi
// sends them no events until they are enabled again) and, with
// [WithUnsignedWebhooks], event webhooks without a signature key. Its error
// is non-nil only when ctx ends.
func (c *Checker) checkWebhooks(ctx context.Context, rep *ConnectionReport) error {
	for in, err := range kisi.Items(ctx, c.k.ListIntegrations, nil) {
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rep.Findings = append(rep.Findings, checkFailed("list the integrations", err))
			return nil
		}
		if in.Type != kisi.IntegrationEventWebhook {
			continue
		}
		if c.o.unsignedWebhooks {
			rep.Findings = append(rep.Findings, Finding{Severity: SeverityWarning, Code: CodeWebhookUnsigned,
				Message: fmt.Sprintf("The event webhook %q (integration %d) has no signature key: its receiver cannot tell Kisi's deliveries from anyone else's, so it trusts none and reads the events back through event sets instead.", in.Name, in.ID),
				Remedy:  "Set a signature key on the integration (kisi.NewSignatureKey, then Integrations.Update) and give the same key to the webhook handler (kisi.NewWebhookHandler) instead of kisi.WithUnsignedDeliveries."})
		}
		if !in.Failing() {
			continue
		}
		rep.Findings = append(rep.Findings, Finding{Severity: SeverityError, Code: CodeWebhookDisabled,
			Message: fmt.Sprintf("Kisi disabled the event webhook %q (integration %d) after its endpoint kept failing: it sends no events, so check-ins from unlocks and drift notices stop.", in.Name, in.ID),
			Remedy:  "Fix the endpoint (it must answer 2xx at once), enable the integration again in the Kisi dashboard, and catch up the missed events through event sets."})
	}
	return nil
}

// parkFindings reports what the sync parked, from its Store's park records.
func parkFindings(recs []state.Record, loc *time.Location) []Finding {
	var out []Finding
	refused := 0
	var reason string
	for _, rec := range recs {
		if rec.Kind != state.KindPark {
			continue
		}
		switch rec.Class {
		case access.FailureMissing:
			out = append(out, Finding{Severity: SeverityError, Code: CodeGroupParked, GroupID: rec.GroupID,
				Message: fmt.Sprintf("The sync found group %d deleted in Kisi (%s): its grants are parked, with no request to Kisi, until the mapping changes or a verify sees the group again.", rec.GroupID, textfmt.Time(rec.Updated, loc)),
				Remedy:  "Map the plans, resources or locations of this group to a group that exists, or restore the group in Kisi and run a verify."})
			continue
		case access.FailureForbidden:
			out = append(out, Finding{Severity: SeverityError, Code: CodeGroupForbidden, GroupID: rec.GroupID,
				Message: fmt.Sprintf("Kisi refused the API key on group %d (%s): %s. Its changes wait, tried again at %s.", rec.GroupID, textfmt.Time(rec.Updated, loc), rec.Reason, textfmt.Time(rec.RetryAt, loc)),
				Remedy:  "Give the API key's Kisi user rights on the group's place, or map the group's plans and resources elsewhere."})
			continue
		case access.FailureSystemic:
			out = append(out, Finding{Severity: SeverityError, Code: CodeRunsStopped,
				Message: fmt.Sprintf("The last %s at a failure of the whole organization; the next is due at %s.", runsStopped(rec.Attempts), textfmt.Time(rec.RetryAt, loc)),
				Remedy:  "Read the error of the last sync: a refused API key, Kisi unreachable, or the state store failing."})
			continue
		case "":
			out = append(out, Finding{Severity: SeverityInfo, Code: CodeSyncNote, Message: "The sync notes: " + rec.Reason + "."})
			continue
		}
		refused++
		if reason == "" {
			reason = rec.Reason
		}
	}
	if refused > 0 {
		out = append(out, Finding{Severity: SeverityWarning, Code: CodeChangesParked,
			Message: fmt.Sprintf("Kisi refused %s; the sync tries again with back-off. The first: %s", textfmt.Plural(refused, "change", "changes"), reason),
			Remedy:  "Read Kisi's message in the sync's report; correct the member's data on the platform or the group in Kisi."})
	}
	return out
}

// runsStopped says how many runs in a row stopped.
func runsStopped(n int) string {
	if n == 1 {
		return "run stopped"
	}
	return fmt.Sprintf("%d runs stopped", n)
}

// checkGroups checks every mapped group into rep. Its error is non-nil
// only when ctx ends.
func (c *Checker) checkGroups(ctx context.Context, rep *ConnectionReport, own ownership) error {
	groups := c.m.Groups()
	if len(groups) == 0 {
		rep.Findings = append(rep.Findings, Finding{Severity: SeverityWarning, Code: CodeNoGroupsMapped,
			Message: "The mapping names no Kisi group, so the sync gives nobody access.",
			Remedy:  "Map plans, allowances, resources or locations to Kisi groups in the integration settings."})
	}
	places := map[int64]*kisi.Place{}
	for _, g := range groups {
		gc, gf, err := checkGroup(ctx, c.k, g, c.m, places)
		if err != nil {
			return err
		}
		if gc.Exists {
			rf, err := countGroupRoles(ctx, c.k, &gc, own)
			if err != nil {
				return err
			}
			gf = append(gf, rf...)
			if len(gf) == 0 {
				gf = append(gf, Finding{Severity: SeverityInfo, Code: CodeGroupOK, GroupID: g,
					Message: fmt.Sprintf("%s is in order: %s, %s, no restriction.", groupLabel(g, gc.Name),
						textfmt.Plural(gc.Doors, "door", "doors"), textfmt.Plural(gc.Roles, "role", "roles"))})
			}
		}
		rep.Groups = append(rep.Groups, gc)
		rep.Findings = append(rep.Findings, gf...)
	}
	return nil
}

// emailLinkFinding reports n email links against Kisi's limit, expired of
// them past their window: Kisi counts those until they are deleted.
func (c *Checker) emailLinkFinding(n, expired int) Finding {
	f := Finding{Severity: SeverityInfo, Code: CodeEmailLinks,
		Message: fmt.Sprintf("%d of Kisi's %d concurrent email links are in use.", n, kisi.EmailLinkLimit)}
	if expired > 0 {
		f.Message = fmt.Sprintf("%d of Kisi's %d concurrent email links are in use, %d of them expired (Kisi counts them until they are deleted; the sync deletes its own).",
			n, kisi.EmailLinkLimit, expired)
	}
	switch {
	case n >= kisi.EmailLinkLimit:
		f.Severity = SeverityError
		f.Message += " Kisi refuses new email links, so drop-in guests get no access link."
		f.Remedy = "Delete links that are no longer needed in the Kisi dashboard (Credentials → Digital credentials), or send links without email."
	case n >= c.o.linkWarn:
		f.Severity = SeverityWarning
		f.Message += " The limit is near; once it is reached, drop-in guests get no access link."
		f.Remedy = "Delete links that are no longer needed in the Kisi dashboard (Credentials → Digital credentials)."
	}
	return f
}

// keyCheck is the outcome of checkKey.
type keyCheck struct {
	key      *KeyInfo
	org      *OrganizationInfo
	findings []Finding
	usable   bool // the key authenticates; further reads make sense
}

// checkKey reads the key's user, its organization and its organization
// roles. Its error is non-nil only when ctx ends.
func checkKey(ctx context.Context, k Kisi) (keyCheck, error) {
	var kc keyCheck
	me, _, err := k.CurrentUser(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return kc, ctx.Err()
		}
		kc.findings = append(kc.findings, requestFinding(err))
		return kc, nil
	}
	kc.usable = true
	kc.key = &KeyInfo{UserID: me.ID, Email: me.Email}
	org, _, err := k.GetOrganization(ctx)
	switch {
	case ctx.Err() != nil:
		return kc, ctx.Err()
	case err != nil:
		kc.findings = append(kc.findings, checkFailed("read the organization", err))
	default:
		kc.org = &OrganizationInfo{ID: org.ID, Name: org.Name, Domain: org.Domain}
	}
	forbidden := false
	for ra, err := range kisi.Items(ctx, k.ListRoleAssignments, &kisi.RoleAssignmentListOptions{
		AssigneeType: kisi.AssigneeUser, AssigneeID: me.ID, AppliesToType: kisi.ScopeOrganization}) {
		if err != nil {
			if ctx.Err() != nil {
				return kc, ctx.Err()
			}
			if errors.Is(err, kisi.ErrForbidden) {
				forbidden = true
				break
			}
			kc.findings = append(kc.findings, checkFailed("read the key user's organization role", err))
			return kc, nil
		}
		kc.key.Roles = append(kc.key.Roles, ra.RoleID)
	}
	slices.Sort(kc.key.Roles)
	kc.key.Roles = slices.Compact(kc.key.Roles)
	writer, byID, err := mayWrite(ctx, k, kc.key.Roles)
	if err != nil {
		return kc, err
	}
	kc.key.Admin, kc.key.AdminByRoleID = writer != "", byID
	who := fmt.Sprintf("%s (Kisi user %d)", me.Email, me.ID)
	note := ""
	if kc.key.AdminByRoleID {
		note = " (told by its role id: Kisi's roles, whose permissions decide, could not be read)"
	}
	if kc.key.Admin {
		what := "an organization " + adminWord(kc.key.Roles)
		if !slices.Contains(adminRoleIDs, writer) {
			what = "whose organization role " + writer + " grants " + strings.Join(writePermissions, ", ")
		}
		kc.findings = append(kc.findings, Finding{Severity: SeverityInfo, Code: CodeKeyAdmin,
			Message: fmt.Sprintf("The API key belongs to %s, %s, so the sync may write%s.", who, what, note)})
		return kc, nil
	}
	role := "holds no organization role"
	switch {
	case forbidden:
		role = "may not even read organization roles"
	case len(kc.key.Roles) > 0:
		role = "has the organization role " + strings.Join(kc.key.Roles, ", ")
	}
	kc.findings = append(kc.findings, Finding{Severity: SeverityError, Code: CodeKeyNotAdmin,
		Message: fmt.Sprintf("The API key belongs to %s, who %s and is not an organization owner or administrator%s: Kisi refuses every change it asks for, so the sync creates no users or access rights (the token “does not sync”).", who, role, note),
		Remedy:  "Give this user the Organization administrator role in Kisi (Access rights → Organization → Share access), or create a new API key while signed in as the organization owner or an administrator, and enter it in the integration settings."})
	return kc, nil
}

// roleLister is the optional ability of a [Kisi] to list Kisi's roles with
// their permissions, as *kisi.Client has; the admin check asks for it so
// that the Kisi interface stays as hosts' wrappers implement it.
type roleLister interface {
	ListRoles(ctx context.Context) ([]*kisi.Role, *kisi.Response, error)
}

// writePermissions are the permissions (GET /roles) the sync's writes
// need: it creates users, role assignments and group links.
var writePermissions = []string{"users_write", "role_assignments_write", "group_links_write"}

// adminRoleIDs are the ids of the organization owner's and administrators'
// roles as third-party code names them; no Kisi source lists them, so they
// decide only when the roles' permissions cannot be read.
var adminRoleIDs = []string{"organization_owner", "organization_administrator"}

// mayWrite tells whether the organization roles held (role ids) let the
// sync write: it returns the role that grants the writes, or "" when none
// does, and whether it had to tell by role id ([adminRoleIDs]) because
// Kisi's roles could not be read, or did not list a role held. Its error
// is non-nil only when ctx ends.
func mayWrite(ctx context.Context, k Kisi, held []string) (role string, byID bool, err error) {
	if len(held) == 0 {
		return "", false, nil
	}
	if rl, ok := k.(roleLister); ok {
		roles, _, err := rl.ListRoles(ctx)
		if ctx.Err() != nil {
			return "", false, ctx.Err()
		}
		if err == nil {
			known := 0
			for _, id := range held {
				i := slices.IndexFunc(roles, func(r *kisi.Role) bool { return r.ID == id && r.AppliesTo == kisi.ScopeOrganization })
				if i < 0 {
					continue
				}
				known++
				if grantsAll(roles[i].Permissions, writePermissions) {
					return id, false, nil
				}
			}
			if known == len(held) {
				return "", false, nil
			}
		}
	}
	for _, id := range held {
		if slices.Contains(adminRoleIDs, id) {
			return id, true, nil
		}
	}
	return "", true, nil
}

// grantsAll reports whether perms grants every permission in want.
func grantsAll(perms map[string]bool, want []string) bool {
	for _, p := range want {
		if !perms[p] {
			return false
		}
	}
	return true
}

func adminWord(roles []string) string {
	if slices.Contains(roles, "organization_owner") {
		return "owner"
	}
	return "administrator"
}

// requestFinding turns the failure of the first request into a finding.
func requestFinding(err error) Finding {
	if errors.Is(err, kisi.ErrUnauthorized) {
		return Finding{Severity: SeverityError, Code: CodeKeyInvalid,
			Message: "Kisi refused the API key (401 Unauthorized): it is wrong, was deleted, or has expired, so nothing can sync.",
			Remedy:  "Create a new API key in the Kisi dashboard (My account → API) while signed in as the organization owner or an administrator, and enter it in the integration settings."}
	}
	return Finding{Severity: SeverityError, Code: CodeKisiUnreachable,
		Message: fmt.Sprintf("Kisi could not be asked: %v.", err),
		Remedy:  "Check the network and Kisi's status page, then try again; the sync retries on its next run."}
}

// checkFailed reports a check that could not be made.
func checkFailed(what string, err error) Finding {
	if errors.Is(err, kisi.ErrForbidden) {
		return Finding{Severity: SeverityWarning, Code: CodeCheckFailed,
			Message: fmt.Sprintf("Kisi did not allow the API key to %s (403 Forbidden).", what),
			Remedy:  "Use an API key of an organization owner or administrator."}
	}
	return Finding{Severity: SeverityWarning, Code: CodeCheckFailed,
		Message: fmt.Sprintf("Could not %s: %v.", what, err),
		Remedy:  "Try again; if it persists, check Kisi's status page."}
}

// ownership tells whether a role assignment is managed by this SDK.
type ownership struct {
	keyUser int64
	ids     map[int64]bool // role assignment ids from the Store; nil without one
	parked  []Finding      // what the sync parked, from the Store
}

// loadOwnership reads the Store's role records, if a Store is set. A Store
// failure is a finding, and ownership falls back to the creator heuristic.
func (c *Checker) loadOwnership(ctx context.Context, keyUser int64) (ownership, []Finding, error) {
	own := ownership{keyUser: keyUser}
	o := c.o
	if o.store == nil {
		return own, nil, nil
	}
	recs, err := o.store.Load(ctx, o.org)
	if err != nil {
		if ctx.Err() != nil {
			return own, nil, ctx.Err()
		}
		return own, []Finding{{Severity: SeverityWarning, Code: CodeCheckFailed,
			Message: fmt.Sprintf("Could not read the sync's store of organization %q: %v; roles created through this API key are taken as managed.", o.org, err),
			Remedy:  "Check the store's database."}}, nil
	}
	own.ids = map[int64]bool{}
	own.parked = parkFindings(recs, o.clock.Now().Location())
	for _, rec := range recs {
		if rec.Kind == state.KindRole && rec.KisiID != 0 && rec.State != state.StateConflict {
			own.ids[rec.KisiID] = true
		}
	}
	return own, nil, nil
}

// managed reports whether the SDK manages ra: per the Store when there is
// one, else when it is a group_basic role created by the key's user.
func (o ownership) managed(ra *kisi.RoleAssignment) bool {
	if o.ids != nil {
		return o.ids[ra.ID]
	}
	return ra.RoleID == kisi.RoleGroupBasic && ra.CreatedByID != nil && *ra.CreatedByID == o.keyUser &&
		(ra.CreatedByType == nil || *ra.CreatedByType == kisi.AssigneeUser)
}

// exact reports whether ownership comes from a Store.
func (o ownership) exact() bool { return o.ids != nil }

func groupLabel(id int64, name string) string {
	if name == "" {
		return fmt.Sprintf("Group %d", id)
	}
	return fmt.Sprintf("Group %d %q", id, name)
}

// mappingRefs names the mapping entries that grant group g, e.g. "plan pro,
// resource room1".
func mappingRefs(m mapping.Mapping, g int64) string {
	var refs []string
	for _, t := range []struct {
		kind  string
		table map[string][]int64
	}{{"plan", m.Plans}, {"allowance", m.Allowances}, {"resource", m.Resources}, {"location", m.Locations}} {
		for _, id := range slices.Sorted(maps.Keys(t.table)) {
			if slices.Contains(t.table[id], g) {
				refs = append(refs, t.kind+" "+id)
			}
		}
	}
	if slices.Contains(m.Default, g) {
		refs = append(refs, "the default groups")
	}
	return strings.Join(refs, ", ")
}

// checkGroup reads group g (and its place, cached in places) and reports
// whether it exists, has doors, is locked down and what restricts it. Its
// error is non-nil only when ctx ends.
func checkGroup(ctx context.Context, k Kisi, g int64, m mapping.Mapping, places map[int64]*kisi.Place) (GroupCheck, []Finding, error) {
	gc := GroupCheck{GroupID: g, Unmanaged: -1}
	grp, _, err := k.GetGroup(ctx, g)
	if err != nil {
		if ctx.Err() != nil {
			return gc, nil, ctx.Err()
		}
		if errors.Is(err, kisi.ErrNotFound) {
			name, remedy := fmt.Sprintf("Group %d", g), "Replace it in the mapping with an existing Kisi group"
			if refs := mappingRefs(m, g); refs != "" {
				name, remedy = fmt.Sprintf("Group %d, mapped from %s,", g, refs), "Map "+refs+" to an existing Kisi group"
			}
			return gc, []Finding{{Severity: SeverityError, Code: CodeGroupMissing, GroupID: g,
				Message: name + " does not exist in Kisi: it was deleted, or the ID is wrong. The sync skips it, so nobody gets access through it.",
				Remedy:  remedy + " in the integration settings (or re-create the group in Kisi and update the mapping)."}}, nil
		}
		return gc, []Finding{checkFailed(fmt.Sprintf("read group %d", g), err)}, nil
	}
	gc.Exists, gc.Name, gc.Doors, gc.Users = true, grp.Name, grp.LocksCount, grp.UsersCount
	label := groupLabel(g, grp.Name)
	var fs []Finding
	if grp.LocksCount == 0 {
		fs = append(fs, Finding{Severity: SeverityError, Code: CodeGroupNoDoors, GroupID: g,
			Message: fmt.Sprintf("%s holds no doors, so its members see “No locks found”.", label),
			Remedy:  "Add the doors (locks) to the group in the Kisi dashboard, or map a group that has them."})
	}
	if grp.PlaceID != nil && *grp.PlaceID != 0 {
		gc.PlaceID = *grp.PlaceID
		pl, seen := places[gc.PlaceID]
		if !seen {
			pl, _, err = k.GetPlace(ctx, gc.PlaceID)
			if err != nil {
				if ctx.Err() != nil {
					return gc, nil, ctx.Err()
				}
				fs = append(fs, checkFailed(fmt.Sprintf("read place %d", gc.PlaceID), err))
				pl = nil
			}
			places[gc.PlaceID] = pl
		}
		if pl != nil && pl.LockedDown {
			since := ""
			if pl.LockedDownSince != nil {
				zone := time.UTC // the place's own zone, where it has one
				if pl.TimeZone != nil {
					zone = textfmt.Zone(*pl.TimeZone)
				}
				since = " since " + textfmt.Time(*pl.LockedDownSince, zone)
			}
			fs = append(fs, Finding{Severity: SeverityError, Code: CodePlaceInLockdown, GroupID: g,
				Message: fmt.Sprintf("The place %d %q of %s is locked down%s: no one can unlock its doors.", pl.ID, pl.Name, label, since),
				Remedy:  remedyLockdown})
		}
	}
	for _, r := range restrictionFindings(grp) {
		gc.Restrictions = append(gc.Restrictions, r.Code)
		fs = append(fs, r)
	}
	return gc, fs, nil
}

// restrictionFindings reports each restriction of a group that can make an
// app unlock fail although the member holds a valid role.
func restrictionFindings(grp *kisi.Group) []Finding {
	label := groupLabel(grp.ID, grp.Name)
	var fs []Finding
	add := func(on bool, code Code, msg, remedy string) {
		if on {
			fs = append(fs, Finding{Severity: SeverityWarning, Code: code, GroupID: grp.ID,
				Message: label + " " + msg, Remedy: remedy})
		}
	}
	add(!grp.LoginEnabled, CodeAppAccessOff,
		"has app access turned off: its members cannot unlock with the Kisi or white-label app at all, only with cards, links or other credentials.",
		remedyAppAccess)
	add(grp.TimeRestrictionEnabled, CodeTimeRestriction,
		"has a time restriction: Kisi refuses unlocks outside its schedule (“Restricted”, “outside of opening hours”), even with a valid role.",
		remedyTimeRestrict)
	radius := ""
	if grp.GeofenceRestrictionRadius > 0 {
		radius = fmt.Sprintf(" (radius %.0f m)", grp.GeofenceRestrictionRadius)
	}
	add(grp.GeofenceRestrictionEnabled, CodeGeofenceRestriction,
		"has a geofence restriction"+radius+": the app must report the phone's location at the place, or the member sees “Unable to detect your location”.",
		remedyLocation)
	add(grp.ReaderRestrictionEnabled, CodeReaderRestriction,
		"has a reader restriction: the phone must be next to the Kisi reader, with Bluetooth on, to unlock.",
		remedyReader)
	add(grp.PrimaryDeviceRestrictionEnabled, CodePrimaryDeviceRestriction,
		"has a primary-device restriction: only the member's primary phone can unlock.",
		remedyPrimaryDevice)
	add(grp.ManagedDeviceRestrictionEnabled, CodeManagedDeviceRestriction,
		"has a managed-device restriction: only devices managed by the organization can unlock.",
		"Ask the member to use a device the organization manages; or turn the group's managed-device restriction off.")
	add(grp.TapToAccessRestrictionEnabled, CodeTapToAccessRestriction,
		"has the tap-to-access restriction: the unlock button in the app is disabled and members must tap the phone on the reader.",
		remedyTapToAccess)
	return fs
}

// countGroupRoles counts the role assignments of an existing group and
// those not managed here. Its error is non-nil only when ctx ends.
func countGroupRoles(ctx context.Context, k Kisi, gc *GroupCheck, own ownership) ([]Finding, error) {
	roles, unmanaged := 0, 0
	for ra, err := range kisi.Items(ctx, k.ListRoleAssignments, &kisi.RoleAssignmentListOptions{
		AppliesToType: kisi.ScopeGroup, AppliesToID: gc.GroupID}) {
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return []Finding{checkFailed(fmt.Sprintf("list the roles of group %d", gc.GroupID), err)}, nil
		}
		roles++
		if !own.managed(ra) {
			unmanaged++
		}
	}
	gc.Roles, gc.Unmanaged = roles, unmanaged
	if unmanaged == 0 {
		return nil, nil
	}
	label := groupLabel(gc.GroupID, gc.Name)
	msg := fmt.Sprintf("%s is shared: %d of its %s were not created by this SDK", label, unmanaged, textfmt.Plural(roles, "role", "roles"))
	if !own.exact() {
		msg = fmt.Sprintf("%s is shared: %d of its %s were not created through this API key", label, unmanaged, textfmt.Plural(roles, "role", "roles"))
	}
	return []Finding{{Severity: SeverityInfo, Code: CodeGroupShared, GroupID: gc.GroupID,
		Message: msg + " (given by hand in the Kisi dashboard or by another integration). That is fine: the sync never changes or removes them.",
		Remedy:  "Nothing to do. Kisi allows one role per user and group, so a member holding such a role keeps it instead of the platform's window; remove it in Kisi if the platform should decide."}}, nil
}

// countEmailLinks counts the group links with an email, as Kisi counts them
// toward its quota: every one that exists, expired (at now) or not.
func countEmailLinks(ctx context.Context, k Kisi, now time.Time) (n, expired int, err error) {
	for l, err := range kisi.Items(ctx, k.ListGroupLinks, &kisi.GroupLinkListOptions{}) {
		if err != nil {
			return 0, 0, err
		}
		if l.Email == nil || strings.TrimSpace(*l.Email) == "" {
			continue
		}
		n++
		if l.ValidUntil != nil && !l.ValidUntil.After(now) {
			expired++
		}
	}
	return n, expired, nil
}

// joinCodes lists codes for a sentence: "time_restriction, app_access_off".
func joinCodes(codes []Code) string {
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = string(c)
	}
	return strings.Join(parts, ", ")
}
