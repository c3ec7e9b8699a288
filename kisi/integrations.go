package kisi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/url"
	"time"
)

// IntegrationEventWebhook is the Integration.Type of an event webhook: Kisi
// POSTs each event of the organization (or of EnabledEvents) to its URL,
// signed with its signature key (see [VerifySignature]).
const IntegrationEventWebhook = "event_webhook"

// Integration is a connection of the organization to another system, such
// as an event webhook.
type Integration struct {
	ID int64 `json:"id"`
	// Name is the display name; Type is e.g. [IntegrationEventWebhook].
	Name string `json:"name"`
	Type string `json:"type"`
	// Enabled reports whether the integration is on.
	Enabled bool `json:"enabled"`
	// DisabledDueToError reports that Kisi turned the integration off
	// because it kept failing (for a webhook: its URL kept refusing
	// deliveries), at DisabledDueToErrorAt. Kisi documents no redelivery:
	// events of a disabled webhook are read back through event sets (see
	// [EventSetsService.CatchUp]) and the integration re-enabled with
	// Update.
	DisabledDueToError   bool       `json:"disabled_due_to_error"`
	DisabledDueToErrorAt *time.Time `json:"disabled_due_to_error_at"`
	// URL and EnabledEvents are set for event webhooks; an empty
	// EnabledEvents delivers every event type. Kisi never returns the
	// signature key.
	URL           string   `json:"url,omitempty"`
	EnabledEvents []string `json:"enabled_events,omitempty"`
	// PlaceID is set for a place-scoped integration; nil otherwise.
	PlaceID        *int64    `json:"place_id"`
	OrganizationID int64     `json:"organization_id"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Failing reports whether Kisi disabled the integration because of errors.
func (i *Integration) Failing() bool { return i.DisabledDueToError }

// IntegrationListOptions filters GET /integrations.
type IntegrationListOptions struct {
	Query   string // free text over the name
	PlaceID int64
	GroupID int64
	Scope   string // organization or place
	Enabled *bool
	ListOptions
}

func (o *IntegrationListOptions) encode(v url.Values) {
	setString(v, "query", o.Query)
	setInt(v, "place_id", o.PlaceID)
	setInt(v, "group_id", o.GroupID)
	setString(v, "scope", o.Scope)
	setBool(v, "enabled", o.Enabled)
	o.ListOptions.encode(v)
}

// IntegrationCreateRequest is the body of POST /integrations. Name, Type
// and (for an event webhook) URL are required. SignatureKey, when set, makes
// Kisi sign every delivery; it is printed as REDACTED by fmt and slog.
type IntegrationCreateRequest struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	URL           string   `json:"url,omitempty"`
	Enabled       *bool    `json:"enabled,omitempty"`
	EnabledEvents []string `json:"enabled_events,omitempty"`
	SignatureKey  string   `json:"signature_key,omitempty"`
}

// String describes the request without its signature key.
func (r IntegrationCreateRequest) String() string {
	return fmt.Sprintf("kisi.IntegrationCreateRequest{Name: %q, Type: %q, URL: %q, SignatureKey: %s}",
		r.Name, r.Type, sanitizeRawURL(r.URL), redacted)
}

// GoString is like String.
func (r IntegrationCreateRequest) GoString() string { return r.String() }

// Format prints the result of String for every verb.
func (r IntegrationCreateRequest) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

// LogValue describes the request without its signature key.
func (r IntegrationCreateRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", r.Name), slog.String("type", r.Type), slog.String("signature_key", redacted))
}

// IntegrationUpdateRequest is the body of PATCH /integrations/{id}; nil
// fields are left as they are. Set Enabled to re-enable an integration Kisi
// disabled due to errors. SignatureKey is printed as REDACTED.
type IntegrationUpdateRequest struct {
	Name          *string  `json:"name,omitempty"`
	URL           *string  `json:"url,omitempty"`
	Enabled       *bool    `json:"enabled,omitempty"`
	EnabledEvents []string `json:"enabled_events,omitempty"`
	SignatureKey  *string  `json:"signature_key,omitempty"`
}

// String describes the request without its signature key.
func (r IntegrationUpdateRequest) String() string {
	key := "<unchanged>"
	if r.SignatureKey != nil {
		key = redacted
	}
	return fmt.Sprintf("kisi.IntegrationUpdateRequest{Enabled: %v, SignatureKey: %s}", fmtBool(r.Enabled), key)
}

// GoString is like String.
func (r IntegrationUpdateRequest) GoString() string { return r.String() }

// Format prints the result of String for every verb.
func (r IntegrationUpdateRequest) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

func fmtBool(b *bool) string {
	if b == nil {
		return "<unchanged>"
	}
	return fmt.Sprint(*b)
}

func sanitizeRawURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return redacted
	}
	return sanitizeURL(u)
}

// NewSignatureKey returns a random webhook signature key: 32 bytes from
// crypto/rand, hex encoded. Store it with the host's secrets; Kisi never
// returns it.
func NewSignatureKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("kisi: new signature key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// IntegrationsService manages integrations, among them the event webhook.
type IntegrationsService service

const integrationsPath = "integrations"

// List returns one page of integrations matching opts (nil lists all).
func (s *IntegrationsService) List(ctx context.Context, opts *IntegrationListOptions) ([]*Integration, *Response, error) {
	return list[Integration](ctx, s.client, integrationsPath, opts, defaultLimit)
}

// ListIter returns every integration matching opts, reading pages of up to
// 250 lazily.
func (s *IntegrationsService) ListIter(ctx context.Context, opts *IntegrationListOptions) iter.Seq2[*Integration, error] {
	return Items(ctx, s.List, opts)
}

// Get returns one integration.
func (s *IntegrationsService) Get(ctx context.Context, id int64) (*Integration, *Response, error) {
	return getByID[Integration](ctx, s.client, integrationsPath, id)
}

// Create creates an integration. A failure that may have created it anyway
// matches ErrMaybeApplied; list by name before creating again.
func (s *IntegrationsService) Create(ctx context.Context, req *IntegrationCreateRequest) (*Integration, *Response, error) {
	return createOne[Integration](ctx, s.client, integrationsPath, "integration", req)
}

// Update changes an integration; Kisi answers 204 without a body.
func (s *IntegrationsService) Update(ctx context.Context, id int64, req *IntegrationUpdateRequest) (*Response, error) {
	return updateByID(ctx, s.client, integrationsPath, "integration", id, req)
}

// Delete removes an integration.
func (s *IntegrationsService) Delete(ctx context.Context, id int64) (*Response, error) {
	return deleteByID(ctx, s.client, integrationsPath, id)
}

// CreateEventWebhook creates an enabled event webhook that POSTs events of
// the given types (every type when none) to target, with a new signature
// key from [NewSignatureKey]. It returns the integration and the key, which
// the host stores for [NewWebhookHandler]: Kisi never returns it again.
func (s *IntegrationsService) CreateEventWebhook(ctx context.Context, name, target string, eventTypes ...string) (*Integration, string, error) {
	key, err := NewSignatureKey()
	if err != nil {
		return nil, "", err
	}
	in, _, err := s.Create(ctx, &IntegrationCreateRequest{
		Name: name, Type: IntegrationEventWebhook, URL: target, Enabled: Ptr(true),
		EnabledEvents: eventTypes, SignatureKey: key,
	})
	if err != nil {
		return nil, "", err
	}
	return in, key, nil
}

// EventWebhooks returns every event webhook of the organization, so that a
// connection check can report one Kisi disabled ([Integration.Failing]).
func (s *IntegrationsService) EventWebhooks(ctx context.Context) ([]*Integration, error) {
	var out []*Integration
	for in, err := range s.ListIter(ctx, nil) {
		if err != nil {
			return nil, err
		}
		if in.Type == IntegrationEventWebhook {
			out = append(out, in)
		}
	}
	return out, nil
}
