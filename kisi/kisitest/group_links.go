package kisitest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

type groupLink struct {
	meta
	groupID               int64
	name                  string
	email, phone          *string
	linkEnabled           bool
	qrType                *string
	validFrom, validUntil *time.Time
	lastUsedAt            *time.Time
	createdByID           int64
	secret                string
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

// routeGroupLinks serves /group_links: Kisi offers no GET by id and no
// PATCH, only DELETE /group_links/{id}.
func (st *state) routeGroupLinks(c *call) response {
	return serve(st, c, resource[groupLink, wireGroupLink]{
		key: "group_link", items: st.groupLinks, render: st.renderGroupLink,
		pageSize: 10, maxPageSize: 250, filter: st.groupLinkFilter, order: st.orderGroupLinks,
		create:  func(f *fields) (*groupLink, response) { return st.newGroupLink(c, f), response{} },
		created: st.groupLinkCreated,
		noGet:   true,
		remove:  removeWith(func(l *groupLink) { delete(st.groupLinks, l.id) }),
	})
}

// countedEmailLinks counts the links with an email that count toward the
// quota at now: all of them until deleted, or only those not yet expired
// when WithExpiredLinksCounted(false).
func (st *state) countedEmailLinks(now time.Time) int {
	n := 0
	for _, l := range st.groupLinks {
		if l.email != nil && (st.cfg.expiredLinksCount || l.validUntil == nil || l.validUntil.After(now)) {
			n++
		}
	}
	return n
}

func (st *state) newGroupLink(c *call, f *fields) *groupLink {
	l := &groupLink{
		meta: stamp(c.now), groupID: f.requiredID("group_id"), name: f.required("name"), linkEnabled: true,
		createdByID: c.user.id,
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
	if l.email != nil && st.countedEmailLinks(c.now) >= st.cfg.emailLinkLimit {
		f.fail("base", fmt.Sprintf("the organization has reached its limit of %d email links", st.cfg.emailLinkLimit))
	}
	return l
}

// groupLinkCreated answers a create with the link's secret and QR code,
// which no other call returns.
func (st *state) groupLinkCreated(l *groupLink) response {
	sum := sha256.Sum256(fmt.Appendf(nil, "kisitest-link/%d/%d", st.org.id, l.id))
	l.secret = hex.EncodeToString(sum[:16])

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

func (st *state) groupLinkFilter(q *query) func(*groupLink) bool {
	groupID, byGroup := q.id("group_id")
	text := q.text()
	return func(l *groupLink) bool {
		if byGroup && l.groupID != groupID {
			return false
		}
		hay := []string{l.name, st.groupName(l.groupID)}
		for _, s := range []*string{l.email, l.phone} {
			if s != nil {
				hay = append(hay, *s)
			}
		}
		return matches(text, hay...)
	}
}

// orderGroupLinks applies the sort parameter of GET /group_links: name,
// unlock, valid_until or group_name, reversed by a "-" prefix.
func (st *state) orderGroupLinks(q *query, items []*groupLink) {
	sort := q.Get("sort")
	var cmp func(a, b *groupLink) int
	switch strings.TrimPrefix(sort, "-") {
	case "name":
		cmp = func(a, b *groupLink) int { return strings.Compare(a.name, b.name) }
	case "unlock":
		cmp = func(a, b *groupLink) int { return compareTimes(a.lastUsedAt, b.lastUsedAt, -1) }
	case "valid_until":
		cmp = func(a, b *groupLink) int { return compareTimes(a.validUntil, b.validUntil, 1) }
	case "group_name":
		cmp = func(a, b *groupLink) int { return strings.Compare(st.groupName(a.groupID), st.groupName(b.groupID)) }
	}
	applySort(q, items, sort, cmp)
}

func (st *state) groupName(id int64) string {
	if g := st.groups[id]; g != nil {
		return g.name
	}
	return ""
}

// compareTimes orders times earliest first, with nil first when nilOrder
// is -1 (never unlocked) or last when it is 1 (never expires).
func compareTimes(a, b *time.Time, nilOrder int) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return nilOrder
	case b == nil:
		return -nilOrder
	}
	return a.Compare(*b)
}
