package kisitest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

type groupLink struct {
	id                    int64
	groupID               int64
	name                  string
	email, phone          *string
	linkEnabled           bool
	qrType                *string
	validFrom, validUntil *time.Time
	lastUsedAt            *time.Time
	createdByID           int64
	secret                string
	createdAt, updatedAt  time.Time
}

type wireGroupLink struct {
	ID                    int64     `json:"id"`
	ResourceType          string    `json:"resource_type"`
	Name                  string    `json:"name"`
	Email                 *string   `json:"email"`
	Phone                 *string   `json:"phone"`
	LastUsedAt            *string   `json:"last_used_at"`
	LinkEnabled           bool      `json:"link_enabled"`
	QuickResponseCodeType *string   `json:"quick_response_code_type"`
	ValidFrom             *string   `json:"valid_from"`
	ValidUntil            *string   `json:"valid_until"`
	CreatedAt             string    `json:"created_at"`
	UpdatedAt             string    `json:"updated_at"`
	GroupID               int64     `json:"group_id"`
	Group                 *refNamed `json:"group"`
	CreatedByType         *string   `json:"created_by_type"`
	CreatedByID           *int64    `json:"created_by_id"`
	CreatedBy             *refUser  `json:"created_by"`
	IssuedByID            *int64    `json:"issued_by_id"`
	IssuedBy              *refUser  `json:"issued_by"`
}

// wireGroupLinkCreated is the create response: the link plus its secret and
// QR code, which no other call returns.
type wireGroupLinkCreated struct {
	wireGroupLink
	Secret                 *string `json:"secret"`
	QuickResponseCodeToken *string `json:"quick_response_code_token"`
	QuickResponseCodeImage *string `json:"quick_response_code_image"`
}

func (st *state) renderGroupLink(l *groupLink) wireGroupLink {
	w := wireGroupLink{
		ID: l.id, ResourceType: "GroupLink", Name: l.name, Email: l.email, Phone: l.phone,
		LastUsedAt: tsPtr(l.lastUsedAt), LinkEnabled: l.linkEnabled, QuickResponseCodeType: l.qrType,
		ValidFrom: tsPtr(l.validFrom), ValidUntil: tsPtr(l.validUntil),
		CreatedAt: ts(l.createdAt), UpdatedAt: ts(l.updatedAt), GroupID: l.groupID, Group: st.groupRef(l.groupID),
	}
	if l.createdByID != 0 {
		t, id := "User", l.createdByID
		w.CreatedByType, w.CreatedByID, w.IssuedByID = &t, &id, &id
		w.CreatedBy, w.IssuedBy = st.userRef(id), st.userRef(id)
	}
	return w
}

// phonePattern is E.164 restricted to the +1 numbers Kisi accepts.
var phonePattern = regexp.MustCompile(`^\+1[2-9]\d{9}$`)

func (st *state) routeGroupLinks(c *call) response {
	if !c.collection() {
		// No GET by id and no PATCH: only DELETE /group_links/{id} exists.
		id, ok := c.member()
		if !ok || c.method != http.MethodDelete || st.groupLinks[id] == nil {
			return notFound()
		}
		delete(st.groupLinks, id)
		return noContent()
	}
	switch c.method {
	case http.MethodGet:
		return st.listGroupLinks(c)
	case http.MethodPost:
		return st.createGroupLink(c)
	}
	return methodNotFound()
}

func (st *state) activeEmailLinks(now time.Time) int {
	n := 0
	for _, l := range st.groupLinks {
		if l.email != nil && (l.validUntil == nil || l.validUntil.After(now)) {
			n++
		}
	}
	return n
}

func (st *state) createGroupLink(c *call) response {
	f, bad, ok := c.decode("group_link")
	if !ok {
		return bad
	}
	l := &groupLink{
		groupID: f.requiredID("group_id"), name: f.required("name"), linkEnabled: true,
		createdByID: c.user.id, createdAt: c.now, updatedAt: c.now,
	}
	if l.groupID != 0 && st.groups[l.groupID] == nil {
		f.fail("group", "must exist")
	}
	if e := f.str("email"); e != nil && *e != "" {
		if !strings.Contains(*e, "@") || strings.ContainsAny(*e, " \t") {
			f.fail("email", "is invalid")
		}
		l.email = e
	}
	if p := f.str("phone"); p != nil && *p != "" {
		if !phonePattern.MatchString(*p) {
			f.fail("phone", "is invalid")
		}
		l.phone = p
	}
	if b := f.boolean("link_enabled"); b != nil {
		l.linkEnabled = *b
	}
	if q := f.str("quick_response_code_type"); q != nil {
		if *q != "online" && *q != "offline" {
			f.fail("quick_response_code_type", "is not included in the list")
		}
		l.qrType = q
	}
	l.validFrom, l.validUntil = f.time("valid_from"), f.time("valid_until")
	if l.validFrom != nil && l.validUntil != nil && !l.validUntil.After(*l.validFrom) {
		f.fail("valid_until", "must be after valid_from")
	}
	if l.email != nil && st.activeEmailLinks(c.now) >= st.cfg.emailLinkLimit {
		f.fail("base", fmt.Sprintf("the organization has reached its limit of %d email links", st.cfg.emailLinkLimit))
	}
	if resp, bad := f.invalid(); bad {
		return resp
	}
	l.id = st.newID()
	sum := sha256.Sum256(fmt.Appendf(nil, "kisitest-link/%d/%d", st.org.id, l.id))
	l.secret = hex.EncodeToString(sum[:16])
	st.groupLinks[l.id] = l

	out := wireGroupLinkCreated{wireGroupLink: st.renderGroupLink(l), Secret: &l.secret}
	if l.qrType != nil {
		token := hex.EncodeToString(sum[16:])
		img, err := qrPNG("KISI:" + token)
		if err != nil {
			return errorResponse(http.StatusInternalServerError, "Internal server error", codeServerError)
		}
		enc := base64.StdEncoding.EncodeToString(img)
		out.QuickResponseCodeToken, out.QuickResponseCodeImage = &token, &enc
	}
	return jsonResponse(out)
}

func (st *state) listGroupLinks(c *call) response {
	p, bad, ok := c.paging(10, 250)
	if !ok {
		return bad
	}
	ids, ok := c.queryIDs()
	if !ok {
		return badRequest("ids is invalid")
	}
	groupID, byGroup, ok := c.queryID("group_id")
	if !ok {
		return badRequest("group_id is invalid")
	}
	q := strings.ToLower(c.query.Get("query"))
	items := sorted(st.groupLinks, func(l *groupLink) bool {
		if ids != nil && !ids[l.id] || byGroup && l.groupID != groupID {
			return false
		}
		if q != "" {
			hay := l.name
			for _, s := range []*string{l.email, l.phone} {
				if s != nil {
					hay += "\x00" + *s
				}
			}
			if g := st.groups[l.groupID]; g != nil {
				hay += "\x00" + g.name
			}
			return strings.Contains(strings.ToLower(hay), q)
		}
		return true
	})
	switch sort := c.query.Get("sort"); sort {
	case "", "id":
	case "name", "-name":
		slices.SortStableFunc(items, func(a, b *groupLink) int { return strings.Compare(a.name, b.name) })
		if sort[0] == '-' {
			slices.Reverse(items)
		}
	case "valid_until", "-valid_until":
		slices.SortStableFunc(items, func(a, b *groupLink) int { return compareUntil(a.validUntil, b.validUntil) })
		if sort[0] == '-' {
			slices.Reverse(items)
		}
	case "group_name", "-group_name":
		slices.SortStableFunc(items, func(a, b *groupLink) int {
			return strings.Compare(st.groupName(a.groupID), st.groupName(b.groupID))
		})
		if sort[0] == '-' {
			slices.Reverse(items)
		}
	default:
		return badRequest("sort is invalid")
	}
	return paginate(items, p, st.renderGroupLink)
}

func (st *state) groupName(id int64) string {
	if g := st.groups[id]; g != nil {
		return g.name
	}
	return ""
}

// compareUntil orders by valid_until, earliest first, never-expiring last.
func compareUntil(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Compare(*b)
}
