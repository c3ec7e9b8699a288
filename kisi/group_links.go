package kisi

import "time"

// GroupLink is an access link: a credential that opens a group's doors
// without a Kisi account, emailed by Kisi when Email is set.
type GroupLink struct {
	ID                    int64      `json:"id"`
	Name                  string     `json:"name"`
	Email                 *string    `json:"email"`
	Phone                 *string    `json:"phone"`
	GroupID               int64      `json:"group_id"`
	LinkEnabled           bool       `json:"link_enabled"`
	QuickResponseCodeType *string    `json:"quick_response_code_type"` // "online", "offline" or nil
	ValidFrom             *time.Time `json:"valid_from"`
	ValidUntil            *time.Time `json:"valid_until"`
	LastUsedAt            *time.Time `json:"last_used_at"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`

	// Secret, QuickResponseCodeToken and QuickResponseCodeImage (a base64
	// PNG) are returned by the create call only.
	Secret                 *string `json:"secret,omitempty"`
	QuickResponseCodeToken *string `json:"quick_response_code_token,omitempty"`
	QuickResponseCodeImage *string `json:"quick_response_code_image,omitempty"`
}

// GroupLinkListOptions filters GET /group_links.
type GroupLinkListOptions struct {
	GroupID int64  `url:"group_id,omitempty"`
	Query   string `url:"query,omitempty"`
	Sort    string `url:"sort,omitempty"`
	ListOptions
}

// GroupLinkCreateRequest is the body of POST /group_links.
type GroupLinkCreateRequest struct {
	GroupID               int64      `json:"group_id"`
	Name                  string     `json:"name"`
	Email                 *string    `json:"email,omitempty"`
	Phone                 *string    `json:"phone,omitempty"`
	LinkEnabled           *bool      `json:"link_enabled,omitempty"`
	QuickResponseCodeType *string    `json:"quick_response_code_type,omitempty"`
	ValidFrom             *time.Time `json:"valid_from,omitempty"`
	ValidUntil            *time.Time `json:"valid_until,omitempty"`
}
