package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/kisi"
)

// defaultPlaceGroup is the name of the group Kisi's docs say a new place
// gets (defaultPlaceGroup in the fake).
const defaultPlaceGroup = "Entire place"

// Finding is the answer to one unknown: which setting of the fake's option
// matches the organization probed, and what was seen.
type Finding struct {
	// Unknown names what Kisi does not document.
	Unknown string
	// Option is the kisitest option that models it.
	Option string
	// Setting is the option call that matches, e.g.
	// "WithPatchableValidity(true)", or "none: …" when neither does.
	Setting string
	// Evidence is what the probe saw.
	Evidence string
}

// probe holds what one run creates, so that cleanup can delete it.
type probe struct {
	c         *kisi.Client
	now       func() time.Time
	name      string // prefix of every name and email the probe creates
	domain    string // email domain of the probe's user and links
	linkQuota int    // the email-link quota to fill; 0 skips that check
	log       io.Writer

	group   int64
	user    *kisi.User
	creates int                           // create calls sent, answered or not
	known   map[string]bool               // "<kind> <id>" of every object with an undo step
	cleanup []func(context.Context) error // undo steps, run last first
}

// check is one probe of an unknown. It may create objects, registering
// their removal with p.undo.
type check struct {
	unknown, option string
	run             func(ctx context.Context, p *probe) (setting, evidence string, err error)
}

// checks are run in order after setup; emptyRange runs during setup,
// while the probe's group is still empty.
var checks = []check{
	{"stored precision of valid_from/valid_until", "WithValidityPrecision", checkPrecision},
	{"PATCH of a role's valid_from/valid_until", "WithPatchableValidity", checkPatchValidity},
	{"answer to a duplicate role and its error key", "WithDuplicateRoleErrorKey", checkDuplicateRole},
	{"window on a non-group role", "WithNonGroupValidityRejected", checkNonGroupWindow},
	{"?email= vs ?query= on GET /users", "WithUserEmailFilter", checkEmailFilter},
	{"deprecated confirmed key of users", "WithConfirmedField", checkConfirmedKey},
	{"answer to a user create with a taken email", "WithExistingUserOnDuplicateEmail", checkDuplicateEmail},
	{"expired email links in the quota", "WithExpiredLinksCounted", checkExpiredLinks},
}

// orgInfo is the organization the key belongs to, as the probe shows it
// before it does anything else.
type orgInfo struct {
	name, domain, keyUser string
	id                    int64
}

func (o orgInfo) String() string {
	return fmt.Sprintf("Organization %q (domain %s, id %d); the API key belongs to %s.", o.name, o.domain, o.id, o.keyUser)
}

// Organization reads the organization of the key and the key's user.
func (p *probe) Organization(ctx context.Context) (orgInfo, error) {
	org, _, err := p.c.Organization.Get(ctx)
	if err != nil {
		return orgInfo{}, fmt.Errorf("read the organization: %w", err)
	}
	me, _, err := p.c.Users.Current(ctx)
	if err != nil {
		return orgInfo{}, fmt.Errorf("read the key's user: %w", err)
	}
	return orgInfo{name: org.Name, domain: org.Domain, id: org.ID, keyUser: me.Email}, nil
}

// readOnlyChecks settle what reading alone can.
var readOnlyChecks = []check{
	{"X-Collection-Range of an empty list (read)", "WithStarEmptyRange", checkEmptyRangeRead},
	{"default group of a place", "DefaultPlaceGroup", checkDefaultPlaceGroup},
	{"deprecated confirmed key of users (the key's user)", "WithConfirmedField", checkConfirmedKeyRead},
}

// ReadOnly runs the checks that only read, and returns their findings.
func (p *probe) ReadOnly(ctx context.Context) ([]Finding, error) {
	var findings []Finding
	var errs []error
	for _, ch := range readOnlyChecks {
		if ctx.Err() != nil {
			return findings, ctx.Err()
		}
		setting, evidence, err := ch.run(ctx, p)
		if err != nil {
			setting, evidence = "error", err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", ch.unknown, err))
		}
		findings = append(findings, Finding{Unknown: ch.unknown, Option: ch.option, Setting: setting, Evidence: evidence})
	}
	return findings, errors.Join(errs...)
}

// checkEmptyRangeRead lists groups named like nothing that exists.
func checkEmptyRangeRead(ctx context.Context, p *probe) (string, string, error) {
	_, resp, err := p.c.Groups.List(ctx, &kisi.GroupListOptions{Query: p.name + "-no-such-group"})
	if err != nil {
		return "", "", err
	}
	return emptyRangeSetting(resp.Header.Get("X-Collection-Range"), "an empty group search")
}

// checkDefaultPlaceGroup looks at the groups of up to 10 places for the
// default group Kisi's docs say a new place gets.
func checkDefaultPlaceGroup(ctx context.Context, p *probe) (string, string, error) {
	places, _, err := p.c.Places.List(ctx, &kisi.PlaceListOptions{ListOptions: kisi.ListOptions{Limit: 10}})
	if err != nil {
		return "", "", err
	}
	if len(places) == 0 {
		return "not checked: no place", "", nil
	}
	with := 0
	for _, pl := range places {
		groups, _, err := p.c.Groups.List(ctx, &kisi.GroupListOptions{PlaceID: pl.ID, ListOptions: kisi.ListOptions{Limit: 250}})
		if err != nil {
			return "", "", err
		}
		if slices.ContainsFunc(groups, func(g *kisi.Group) bool { return g.Name == defaultPlaceGroup }) {
			with++
		}
	}
	evidence := fmt.Sprintf("%d of %d places have a group named %q", with, len(places), defaultPlaceGroup)
	if with == len(places) {
		return "as the fake (POST /places adds it)", evidence, nil
	}
	return "none: not every place has it (renamed or deleted by hand?)", evidence, nil
}

// checkConfirmedKeyRead reads the key's own user.
func checkConfirmedKeyRead(ctx context.Context, p *probe) (string, string, error) {
	me, _, err := p.c.Users.Current(ctx)
	if err != nil {
		return "", "", err
	}
	evidence := fmt.Sprintf("the key's user: confirmed key present %v, status %v", me.ConfirmedReported, me.Status())
	if me.ConfirmedReported {
		return "WithConfirmedField(true)", evidence, nil
	}
	return "WithConfirmedField(false)", evidence, nil
}

// Run creates the probe's group and user, runs every check and returns
// the findings. It stops early only when ctx ends or setup fails; a failing
// check is reported in its finding and in the joined error. Objects created
// are left for Cleanup, which the caller defers.
func (p *probe) Run(ctx context.Context) ([]Finding, error) {
	p.logf("creating a place-less group %q", p.name)
	p.creates++
	g, _, err := p.c.Groups.Create(ctx, &kisi.GroupCreateRequest{Name: p.name, Description: kisi.Ptr("created by kisiprobe; safe to delete")})
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	p.group = g.ID
	p.undo("group", g.ID, func(ctx context.Context) error { _, err := p.c.Groups.Delete(ctx, g.ID); return err })

	var findings []Finding
	var errs []error
	add := func(unknown, option, setting, evidence string, err error) {
		if err != nil {
			setting = "error"
			evidence = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", unknown, err))
		}
		findings = append(findings, Finding{Unknown: unknown, Option: option, Setting: setting, Evidence: evidence})
	}
	setting, evidence, err := checkEmptyRange(ctx, p)
	add("X-Collection-Range of an empty list", "WithStarEmptyRange", setting, evidence, err)
	if ctx.Err() != nil {
		return findings, ctx.Err()
	}

	email := p.userEmail()
	p.logf("creating a managed user %s (Kisi sends it no email)", email)
	p.creates++
	u, _, err := p.c.Users.Create(ctx, &kisi.UserCreateRequest{Email: email, Name: p.name, SendEmails: kisi.Ptr(false), Confirm: kisi.Ptr(true)})
	if err != nil {
		return findings, fmt.Errorf("create user: %w", err)
	}
	p.user = u
	p.undo("user", u.ID, func(ctx context.Context) error { _, err := p.c.Users.Delete(ctx, u.ID); return err })

	for _, ch := range checks {
		if ctx.Err() != nil {
			return findings, ctx.Err()
		}
		p.logf("checking %s", ch.unknown)
		setting, evidence, err := ch.run(ctx, p)
		add(ch.unknown, ch.option, setting, evidence, err)
	}
	return findings, errors.Join(errs...)
}

// Cleanup deletes everything Run created and reports what it could not
// delete. Objects already gone count as deleted. It first looks for objects
// whose create answer was lost (the probe's names and email mark them; see
// sweep), then runs the undo steps, last first.
func (p *probe) Cleanup(ctx context.Context) error {
	var errs []error
	if p.creates > len(p.known) {
		errs = append(errs, p.sweep(ctx))
	}
	for i := len(p.cleanup) - 1; i >= 0; i-- {
		if err := p.cleanup[i](ctx); err != nil && !errors.Is(err, kisi.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	p.cleanup = nil
	return errors.Join(errs...)
}

// cleanupBase and cleanupPerCreate make up the time cleanup may take: a
// fixed part for the look-ups, and per create sent the time of two deletes
// at Kisi's pace of 5 requests per second (one, plus room for retries).
const (
	cleanupBase      = time.Minute
	cleanupPerCreate = 2 * time.Second / 5
)

// cleanupTimeout is how long cleanup may take after the probe sent creates
// create calls: at -link-quota 1,000 that is about 7 minutes, where a fixed
// 2 minutes deleted only about 600 links.
func cleanupTimeout(creates int) time.Duration {
	return cleanupBase + time.Duration(creates)*cleanupPerCreate
}

// userEmail is the email of the probe's user.
func (p *probe) userEmail() string {
	return strings.ToLower(fmt.Sprintf("%s@%s", p.name, p.domain))
}

// linkName is the name of the probe's n-th link; every link name starts
// with p.name followed by " link ".
func (p *probe) linkName(n int) string { return fmt.Sprintf("%s link %d", p.name, n) }

// sweep deletes the objects the probe created but has no undo step for,
// because their create answer was lost: the group named p.name, the user
// with the probe's email, links whose name starts with the probe's link
// prefix, and roles in the probe's group or held by the probe's user. The
// probe's name is unique to a run, so everything matched is the probe's
// own.
func (p *probe) sweep(ctx context.Context) error {
	var errs []error
	del := func(kind string, id int64, fn func(context.Context, int64) (*kisi.Response, error)) {
		if p.known[fmt.Sprintf("%s %d", kind, id)] {
			return
		}
		p.logf("deleting a %s (id %d) whose create answer was lost", kind, id)
		if _, err := fn(ctx, id); err != nil && !errors.Is(err, kisi.ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete %s %d: %w", kind, id, err))
		}
	}
	var groups []int64
	for g, err := range p.c.Groups.ListIter(ctx, &kisi.GroupListOptions{Query: p.name}) {
		if err != nil {
			return fmt.Errorf("look for the probe's group: %w", err)
		}
		if g.Name == p.name {
			groups = append(groups, g.ID)
		}
	}
	var users []int64
	if u, _, err := p.c.Users.GetByEmail(ctx, p.userEmail()); err == nil {
		users = append(users, u.ID)
	} else if !errors.Is(err, kisi.ErrNotFound) {
		return fmt.Errorf("look for the probe's user: %w", err)
	}
	prefix := p.linkName(0)[:len(p.name)+len(" link ")]
	for l, err := range p.c.GroupLinks.ListIter(ctx, &kisi.GroupLinkListOptions{Query: p.name}) {
		if err != nil {
			return fmt.Errorf("look for the probe's links: %w", err)
		}
		if strings.HasPrefix(l.Name, prefix) {
			del("group link", l.ID, p.c.GroupLinks.Delete)
		}
	}
	roleFilters := make([]*kisi.RoleAssignmentListOptions, 0, len(groups)+len(users))
	for _, id := range groups {
		roleFilters = append(roleFilters, &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: id})
	}
	for _, id := range users {
		roleFilters = append(roleFilters, &kisi.RoleAssignmentListOptions{AssigneeType: kisi.AssigneeUser, AssigneeID: id})
	}
	for _, f := range roleFilters {
		for ra, err := range p.c.RoleAssignments.ListIter(ctx, f) {
			if err != nil {
				return fmt.Errorf("look for the probe's roles: %w", err)
			}
			del("role assignment", ra.ID, p.c.RoleAssignments.Delete)
		}
	}
	for _, id := range users {
		del("user", id, p.c.Users.Delete)
	}
	for _, id := range groups {
		del("group", id, p.c.Groups.Delete)
	}
	return errors.Join(errs...)
}

// undo registers the deletion of the object of kind with id, run by
// Cleanup.
func (p *probe) undo(what string, id int64, fn func(context.Context) error) {
	if p.known == nil {
		p.known = map[string]bool{}
	}
	p.known[fmt.Sprintf("%s %d", what, id)] = true
	p.cleanup = append(p.cleanup, func(ctx context.Context) error {
		if err := fn(ctx); err != nil && !errors.Is(err, kisi.ErrNotFound) {
			return fmt.Errorf("delete %s: %w", what, err)
		}
		return nil
	})
}

func (p *probe) logf(format string, args ...any) {
	if p.log != nil {
		fmt.Fprintf(p.log, "kisiprobe: "+format+"\n", args...)
	}
}

// grant gives the probe's user group_basic in the probe's group with the
// window [from, until) (nil: no limit) and registers its removal.
func (p *probe) grant(ctx context.Context, from, until *time.Time) (*kisi.RoleAssignment, error) {
	p.creates++
	ra, _, err := p.c.RoleAssignments.Create(ctx, &kisi.RoleAssignmentCreateRequest{
		RoleID: kisi.RoleGroupBasic, AppliesToType: kisi.ScopeGroup, AppliesToID: p.group,
		AssigneeType: kisi.AssigneeUser, AssigneeID: p.user.ID, ValidFrom: from, ValidUntil: until,
	})
	if err != nil {
		return nil, err
	}
	p.undo("role assignment", ra.ID, func(ctx context.Context) error { _, err := p.c.RoleAssignments.Delete(ctx, ra.ID); return err })
	return ra, nil
}

// revoke deletes a role assignment now, so the next check can grant again
// (one role per user and group).
func (p *probe) revoke(ctx context.Context, id int64) error {
	_, err := p.c.RoleAssignments.Delete(ctx, id)
	if errors.Is(err, kisi.ErrNotFound) {
		return nil
	}
	return err
}

func checkEmptyRange(ctx context.Context, p *probe) (string, string, error) {
	_, resp, err := p.c.RoleAssignments.List(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: p.group})
	if err != nil {
		return "", "", err
	}
	return emptyRangeSetting(resp.Header.Get("X-Collection-Range"), "the new group's empty role list")
}

// emptyRangeSetting names the setting an empty list's X-Collection-Range
// header h matches.
func emptyRangeSetting(h, what string) (string, string, error) {
	evidence := fmt.Sprintf("X-Collection-Range: %q on %s", h, what)
	switch {
	case h == "*/0":
		return "WithStarEmptyRange(true)", evidence, nil
	case strings.HasSuffix(h, "/0"):
		return "WithStarEmptyRange(false)", evidence, nil
	}
	return "none: neither */0 nor <start>-<end>/0", evidence, nil
}

// precisionProbe is a time with sub-second digits and seconds, so that
// truncation to the second or the minute shows.
func precisionProbe(now time.Time) time.Time {
	return now.Add(24 * time.Hour).UTC().Truncate(time.Minute).Add(45*time.Second + 678*time.Millisecond)
}

func checkPrecision(ctx context.Context, p *probe) (string, string, error) {
	from := precisionProbe(p.now())
	until := from.Add(time.Hour)
	ra, err := p.grant(ctx, &from, &until)
	if err != nil {
		return "", "", err
	}
	got, _, err := p.c.RoleAssignments.Get(ctx, ra.ID)
	if err != nil {
		return "", "", err
	}
	if err := p.revoke(ctx, ra.ID); err != nil {
		return "", "", err
	}
	if got.ValidFrom == nil {
		return "", "", errors.New("valid_from came back null")
	}
	stored := *got.ValidFrom
	evidence := fmt.Sprintf("sent valid_from %s, read back %s", from.Format(time.RFC3339Nano), stored.UTC().Format(time.RFC3339Nano))
	switch {
	case stored.Equal(from.Truncate(time.Millisecond)):
		return "WithValidityPrecision(0)", evidence, nil
	case stored.Equal(from.Truncate(time.Second)):
		return "WithValidityPrecision(time.Second)", evidence, nil
	case stored.Equal(from.Truncate(time.Minute)):
		return "WithValidityPrecision(time.Minute)", evidence, nil
	}
	return "none: stored differently", evidence, nil
}

func checkPatchValidity(ctx context.Context, p *probe) (string, string, error) {
	from := p.now().Add(24 * time.Hour).UTC().Truncate(time.Minute)
	until := from.Add(time.Hour)
	ra, err := p.grant(ctx, &from, &until)
	if err != nil {
		return "", "", err
	}
	defer func() { _ = p.revoke(ctx, ra.ID) }()
	later := until.Add(time.Hour)
	_, err = p.c.RoleAssignments.Update(ctx, ra.ID, &kisi.RoleAssignmentUpdateRequest{Validity: &kisi.Validity{From: &from, Until: &later}})
	var apiErr *kisi.Error
	switch {
	case errors.As(err, &apiErr) && errors.Is(err, kisi.ErrRejected):
		return "WithPatchableValidity(false)", fmt.Sprintf("PATCH answered %d %v", apiErr.StatusCode, apiErr.Fields), nil
	case err != nil:
		return "", "", err
	}
	got, _, err := p.c.RoleAssignments.Get(ctx, ra.ID)
	if err != nil {
		return "", "", err
	}
	evidence := fmt.Sprintf("PATCH valid_until %s → 204, read back %s", later.Format(time.RFC3339), fmtTime(got.ValidUntil))
	if got.ValidUntil != nil && got.ValidUntil.Equal(later) {
		return "WithPatchableValidity(true)", evidence, nil
	}
	return "WithPatchableValidity(false)", evidence, nil
}

func checkDuplicateRole(ctx context.Context, p *probe) (string, string, error) {
	first, err := p.grant(ctx, nil, nil)
	if err != nil {
		return "", "", err
	}
	defer func() { _ = p.revoke(ctx, first.ID) }()
	second, err := p.grant(ctx, nil, nil)
	if err == nil {
		_ = p.revoke(ctx, second.ID)
		return "none: a second role was accepted (200)", fmt.Sprintf("ids %d and %d", first.ID, second.ID), nil
	}
	var apiErr *kisi.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity {
		if errors.As(err, &apiErr) {
			return fmt.Sprintf("none: answered %d", apiErr.StatusCode), apiErr.Error(), nil
		}
		return "", "", err
	}
	keys := make([]string, 0, len(apiErr.Fields))
	for k := range apiErr.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	evidence := fmt.Sprintf("422 %v", apiErr.Fields)
	if len(keys) == 1 {
		return fmt.Sprintf("WithDuplicateRoleErrorKey(%q)", keys[0]), evidence, nil
	}
	return "none: 422 without exactly one key", evidence, nil
}

func checkNonGroupWindow(ctx context.Context, p *probe) (string, string, error) {
	roles, _, err := p.c.Roles.List(ctx)
	if err != nil {
		return "", "", err
	}
	role := ""
	for _, r := range roles {
		// The role with the least power: observer if listed.
		if r.AppliesTo == kisi.ScopeOrganization && r.ID == "observer" {
			role = r.ID
		}
	}
	if role == "" {
		return "not checked: no observer role listed", "", nil
	}
	org, _, err := p.c.Organization.Get(ctx)
	if err != nil {
		return "", "", err
	}
	until := p.now().Add(time.Hour).UTC().Truncate(time.Second)
	p.creates++
	ra, _, err := p.c.RoleAssignments.Create(ctx, &kisi.RoleAssignmentCreateRequest{
		RoleID: role, AppliesToType: kisi.ScopeOrganization, AppliesToID: org.ID,
		AssigneeType: kisi.AssigneeUser, AssigneeID: p.user.ID, ValidUntil: &until,
	})
	var apiErr *kisi.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnprocessableEntity:
		return "WithNonGroupValidityRejected(true)", fmt.Sprintf("422 %v", apiErr.Fields), nil
	case err != nil:
		return "", "", err
	}
	p.undo("role assignment", ra.ID, func(ctx context.Context) error { _, err := p.c.RoleAssignments.Delete(ctx, ra.ID); return err })
	if err := p.revoke(ctx, ra.ID); err != nil {
		return "", "", err
	}
	return "WithNonGroupValidityRejected(false)", fmt.Sprintf("200, valid_until read back %s", fmtTime(ra.ValidUntil)), nil
}

func checkEmailFilter(ctx context.Context, p *probe) (string, string, error) {
	want := kisi.NormalizeEmail(p.user.Email)
	byEmail, _, err := p.c.Users.List(ctx, &kisi.UserListOptions{Email: strings.ToUpper(want), ListOptions: kisi.ListOptions{Limit: 100}})
	if err != nil {
		return "", "", err
	}
	found, _, err := p.c.Users.GetByEmail(ctx, want)
	queryOK := err == nil && found.ID == p.user.ID
	if err != nil && !errors.Is(err, kisi.ErrNotFound) {
		return "", "", err
	}
	matching, other := 0, 0
	for _, u := range byEmail {
		if kisi.NormalizeEmail(u.Email) == want {
			matching++
		} else {
			other++
		}
	}
	evidence := fmt.Sprintf("?email=<upper-cased address> listed %d matching and %d other users; ?query= found the user: %v", matching, other, queryOK)
	switch {
	case matching == 1 && other == 0:
		return "WithUserEmailFilter(true)", evidence, nil
	case other > 0:
		return "WithUserEmailFilter(false)", evidence, nil
	}
	return "none: ?email= found nothing", evidence, nil
}

func checkConfirmedKey(ctx context.Context, p *probe) (string, string, error) {
	u, _, err := p.c.Users.Get(ctx, p.user.ID)
	if err != nil {
		return "", "", err
	}
	evidence := fmt.Sprintf("managed user: confirmed key present %v, value %v, status %v", u.ConfirmedReported, u.Confirmed, u.Status())
	if u.ConfirmedReported {
		return "WithConfirmedField(true)", evidence, nil
	}
	return "WithConfirmedField(false)", evidence, nil
}

// checkDuplicateEmail creates a user with the probe user's email again,
// with a metadata mark the probe's user lacks, so that a 200 with the
// existing user can be told from a second user.
func checkDuplicateEmail(ctx context.Context, p *probe) (string, string, error) {
	p.creates++
	u, _, err := p.c.Users.Create(ctx, &kisi.UserCreateRequest{Email: p.user.Email, Name: p.name + " again",
		SendEmails: kisi.Ptr(false), Confirm: kisi.Ptr(true), Metadata: map[string]any{"kisiprobe": p.name}})
	var taken *kisi.EmailTakenError
	var apiErr *kisi.Error
	switch {
	case errors.As(err, &taken):
		return "WithExistingUserOnDuplicateEmail(true)", fmt.Sprintf("200 with the existing user (id %d, same as the probe's: %v)", taken.Existing.ID, taken.Existing.ID == p.user.ID), nil
	case errors.As(err, &apiErr) && errors.Is(err, kisi.ErrEmailTaken):
		return "WithExistingUserOnDuplicateEmail(false)", fmt.Sprintf("%d %v", apiErr.StatusCode, apiErr.Fields), nil
	case errors.As(err, &apiErr):
		return fmt.Sprintf("none: answered %d", apiErr.StatusCode), apiErr.Error(), nil
	case err != nil:
		return "", "", err
	}
	p.undo("user", u.ID, func(ctx context.Context) error { _, err := p.c.Users.Delete(ctx, u.ID); return err })
	return "none: a second user was created", fmt.Sprintf("ids %d and %d", p.user.ID, u.ID), nil
}

// checkExpiredLinks fills the email-link quota after creating one link that
// has already expired, then tries one more link: refused means the expired
// link still counts. It sends Kisi's link emails to the probe's domain, so
// it runs only when a quota is given.
func checkExpiredLinks(ctx context.Context, p *probe) (string, string, error) {
	if p.linkQuota <= 0 {
		return "not checked (needs -link-quota; creates that many email links)", "", nil
	}
	existing := 0
	for l, err := range p.c.GroupLinks.ListIter(ctx, nil) {
		if err != nil {
			return "", "", err
		}
		if l.Email != nil {
			existing++
		}
	}
	n := 0
	link := func(from, until *time.Time) error {
		n++
		email := fmt.Sprintf("%s-link%d@%s", p.name, n, p.domain)
		p.creates++
		l, _, err := p.c.GroupLinks.Create(ctx, &kisi.GroupLinkCreateRequest{
			GroupID: p.group, Name: p.linkName(n), Email: &email, ValidFrom: from, ValidUntil: until,
		})
		if err != nil {
			return err
		}
		p.undo("group link", l.ID, func(ctx context.Context) error { _, err := p.c.GroupLinks.Delete(ctx, l.ID); return err })
		return nil
	}
	now := p.now().UTC().Truncate(time.Second)
	from, until := now.Add(-2*time.Hour), now.Add(-time.Hour)
	if err := link(&from, &until); err != nil {
		return "", "", fmt.Errorf("create an expired link: %w", err)
	}
	for existing+n < p.linkQuota {
		if err := link(nil, nil); err != nil {
			return "", "", fmt.Errorf("fill the quota (%d of %d): %w", existing+n, p.linkQuota, err)
		}
	}
	evidence := fmt.Sprintf("%d email links existed, one of them expired; one more", existing+n)
	err := link(nil, nil)
	switch {
	case errors.Is(err, kisi.ErrValidation):
		return "WithExpiredLinksCounted(true)", evidence + " was refused: " + err.Error(), nil
	case err != nil:
		return "", "", err
	}
	return "WithExpiredLinksCounted(false)", evidence + " was accepted", nil
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "null"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
