package kisi

import (
	"context"
	"iter"
	"net/url"
	"time"
)

// EmailLinkLimit is how many group links with an email an organization may
// hold at once; Kisi refuses the next create with a 422. Expired links count
// until they are deleted.
const EmailLinkLimit = 1000

// GroupLink is an access link: a credential that opens a group's doors
// without a Kisi account, emailed by Kisi when Email is set.
type GroupLink struct {
	ID int64 `json:"id"`
	// Name labels the link in Kisi, e.g. the holder's name (for auditing).
	Name string `json:"name"`
	// Email is where Kisi sent the link; nil when none was given.
	Email *string `json:"email"`
	// Phone is an E.164 number (US, Canada and Puerto Rico only) the link
	// was sent to by SMS; nil when none was given.
	Phone *string `json:"phone"`
	// GroupID is the group whose doors the link opens; Group is Kisi's
	// summary of it, nil when left out.
	GroupID int64 `json:"group_id"`
	Group   *Ref  `json:"group,omitempty"`
	// LinkEnabled reports whether Kisi generates a link usable for access
	// (Kisi's default when not asked otherwise: true).
	LinkEnabled bool `json:"link_enabled"`
	// QuickResponseCodeType is [QROnline] or [QROffline] for a QR code for
	// Kisi readers, sent in the link email (never by SMS); nil for none.
	QuickResponseCodeType *string `json:"quick_response_code_type"`
	// ValidFrom is the instant the link starts to work; nil means from its
	// creation.
	ValidFrom *time.Time `json:"valid_from"`
	// ValidUntil is the instant the link stops working; nil means it never
	// expires.
	ValidUntil *time.Time `json:"valid_until"`
	// LastUsedAt is the last unlock with the link; nil when never used.
	LastUsedAt *time.Time `json:"last_used_at"`
	// CreatedAt and UpdatedAt are Kisi's timestamps of the record.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// Secret, QuickResponseCodeToken and QuickResponseCodeImage (a base64
	// PNG) are returned by the create call only. Secret is a credential:
	// store it as such and never log it.
	Secret                 *string `json:"secret,omitempty"`
	QuickResponseCodeToken *string `json:"quick_response_code_token,omitempty"`
	QuickResponseCodeImage *string `json:"quick_response_code_image,omitempty"`
}

// Values of GroupLink.QuickResponseCodeType.
const (
	QROnline  = "online"
	QROffline = "offline"
)

// GroupLinkListOptions filters GET /group_links.
type GroupLinkListOptions struct {
	GroupID int64
	Query   string // over name, email, phone and the group's name
	Sort    string // name, unlock, valid_until or group_name, "-" prefix to reverse
	ListOptions
}

func (o *GroupLinkListOptions) encode(v url.Values) {
	setInt(v, "group_id", o.GroupID)
	setString(v, "query", o.Query)
	setString(v, "sort", o.Sort)
	o.ListOptions.encode(v)
}

// GroupLinkCreateRequest is the body of POST /group_links. Nil validity
// means "valid now" and "never expires".
type GroupLinkCreateRequest struct {
	// GroupID and Name are required.
	GroupID int64  `json:"group_id"`
	Name    string `json:"name"`
	// Email, when set, makes Kisi email the link; Phone (E.164, US,
	// Canada and Puerto Rico only) sends it by SMS.
	Email *string `json:"email,omitempty"`
	Phone *string `json:"phone,omitempty"`
	// LinkEnabled nil means Kisi's default, true.
	LinkEnabled *bool `json:"link_enabled,omitempty"`
	// QuickResponseCodeType is [QROnline] or [QROffline] to add a QR code
	// to the email; nil for none.
	QuickResponseCodeType *string    `json:"quick_response_code_type,omitempty"`
	ValidFrom             *time.Time `json:"valid_from,omitempty"`
	ValidUntil            *time.Time `json:"valid_until,omitempty"`
}

// GroupLinksService manages group (access) links. Kisi offers no GET by id
// and no PATCH: changing a link is delete + create.
type GroupLinksService service

const groupLinksPath = "group_links"

// List returns one page of group links matching opts (nil lists all).
func (s *GroupLinksService) List(ctx context.Context, opts *GroupLinkListOptions) ([]*GroupLink, *Response, error) {
	return list[GroupLink](ctx, s.client, groupLinksPath, opts, defaultLimit)
}

// ListIter returns every group link matching opts, reading pages of up to 250
// lazily.
func (s *GroupLinksService) ListIter(ctx context.Context, opts *GroupLinkListOptions) iter.Seq2[*GroupLink, error] {
	return Items(ctx, s.List, opts)
}

// Create creates a group link; the result alone carries Secret and the QR
// code image. Kisi emails the link when Email is set. A failure that may have
// created it anyway matches ErrMaybeApplied.
func (s *GroupLinksService) Create(ctx context.Context, req *GroupLinkCreateRequest) (*GroupLink, *Response, error) {
	return createOne[GroupLink](ctx, s.client, groupLinksPath, "group_link", req)
}

// Delete revokes a group link.
func (s *GroupLinksService) Delete(ctx context.Context, id int64) (*Response, error) {
	return deleteByID(ctx, s.client, groupLinksPath, id)
}
