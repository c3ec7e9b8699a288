package kisi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// SignatureHeader is the header that carries a webhook delivery's signature.
const SignatureHeader = "X-Signature"

// ErrInvalidSignature is returned by VerifySignature for a missing,
// malformed or wrong signature.
var ErrInvalidSignature = errors.New("kisi: invalid webhook signature")

// VerifySignature checks that header (the X-Signature value) is the
// HMAC-SHA256 of the raw body under secret (the integration's
// signature_key). The MAC may carry a "sha256=" prefix and be hex (either
// case) or base64 encoded; the comparison takes constant time. It returns
// nil for a valid signature and an error matching ErrInvalidSignature
// otherwise.
func VerifySignature(secret string, body []byte, header string) error {
	if secret == "" {
		return fmt.Errorf("%w: empty secret", ErrInvalidSignature)
	}
	sig := strings.TrimSpace(header)
	if len(sig) >= 7 && strings.EqualFold(sig[:7], "sha256=") {
		sig = sig[7:]
	}
	if sig == "" {
		return fmt.Errorf("%w: missing", ErrInvalidSignature)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := mac.Sum(nil)
	got, ok := decodeMAC(sig)
	if !ok {
		return fmt.Errorf("%w: not hex or base64", ErrInvalidSignature)
	}
	if !hmac.Equal(got, want) {
		return fmt.Errorf("%w: mismatch", ErrInvalidSignature)
	}
	return nil
}

// decodeMAC decodes a 32-byte MAC written in hex or base64.
func decodeMAC(s string) ([]byte, bool) {
	if len(s) == hex.EncodedLen(sha256.Size) {
		if b, err := hex.DecodeString(s); err == nil {
			return b, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == sha256.Size {
			return b, true
		}
	}
	return nil, false
}

// DecodeEvent decodes a webhook body into an Event. It ignores unknown keys,
// accepts missing ones, and also accepts the event wrapped as
// {"event": {...}}. It fails only on a body that is not a JSON object or a
// key of the wrong type.
func DecodeEvent(body []byte) (*Event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, errors.New("kisi: decode event: body is not a json object")
	}
	var probe struct {
		UUID  *string         `json:"uuid"`
		Event json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("kisi: decode event: %w", err)
	}
	if probe.UUID == nil && len(probe.Event) > 0 && probe.Event[0] == '{' {
		body = probe.Event
	}
	ev := new(Event)
	if err := json.Unmarshal(body, ev); err != nil {
		return nil, fmt.Errorf("kisi: decode event: %w", err)
	}
	return ev, nil
}

// WebhookHandler is an http.Handler for Kisi event webhooks. For each POST
// it verifies the signature over the raw body, decodes the event, drops
// deliveries whose uuid it has already handled, and passes the rest to the
// callback. It answers 200 whenever the delivery was genuine, also when the
// callback fails: Kisi documents no redelivery and disables an integration
// whose endpoint keeps failing (disabled_due_to_error), so an error answer
// would not bring the event back and could switch the webhook off. A failed
// event goes to the error handler ([WithWebhookErrorHandler]) and is read
// again by the host's catch-up through event sets
// ([EventSetsService.CatchUp]). It answers 401 for a bad signature, 400 for
// an undecodable body, 405 for other methods and 413 for a body over the
// size limit. Safe for concurrent use.
//
// Kisi waits for the answer, so the callback should be quick (e.g. record
// the event or queue it) and leave slow work to the host.
type WebhookHandler struct {
	key     *credential           // the signature key, kept out of %v output
	hint    func(context.Context) // set by WithUnsignedDeliveries
	fn      func(context.Context, *Event) error
	onError func(context.Context, *Event, error)
	maxBody int64

	mu       sync.Mutex
	seen     map[string]int // handled or in progress → its slot in order
	order    []string       // ring of claimed uuids; the oldest is at next once full
	next     int
	capacity int
}

// WebhookOption configures a WebhookHandler.
type WebhookOption func(*WebhookHandler) error

// WithDedupeSize sets how many recent event uuids the handler remembers to
// drop repeated deliveries (default 10000). Memory is bounded by it.
func WithDedupeSize(n int) WebhookOption {
	return func(h *WebhookHandler) error {
		if n < 1 {
			return fmt.Errorf("invalid dedupe size %d: must be at least 1", n)
		}
		h.capacity = n
		return nil
	}
}

// WithWebhookErrorHandler sets fn to receive each event whose callback
// failed, with the error, after the delivery was acknowledged. The default
// drops the error: the event is then left to the host's catch-up through
// event sets.
func WithWebhookErrorHandler(fn func(context.Context, *Event, error)) WebhookOption {
	return func(h *WebhookHandler) error {
		if fn == nil {
			return errors.New("nil webhook error handler")
		}
		h.onError = fn
		return nil
	}
}

// WithMaxBodySize sets the largest body accepted, in bytes (default 1 MiB).
func WithMaxBodySize(n int64) WebhookOption {
	return func(h *WebhookHandler) error {
		if n < 1 {
			return fmt.Errorf("invalid max body size %d: must be positive", n)
		}
		h.maxBody = n
		return nil
	}
}

// WithUnsignedDeliveries makes a handler for an integration without a
// signature key, which Kisi allows: its deliveries carry no X-Signature. As
// anyone can send such a request, the handler trusts nothing in it: it
// answers 200 to every POST and calls hint with the request's context,
// never the event callback. The host treats hint as a prompt to catch up
// through the authenticated API ([EventSetsService.CatchUp]), e.g. by
// waking its catch-up job; hint should return at once.
//
// It requires an empty secret in [NewWebhookHandler], where the event
// callback may then be nil. Without this option an empty secret is
// refused: the safe default is a handler that acts only on deliveries it
// can verify. Prefer a signature key ([IntegrationsService.CreateEventWebhook]
// sets one).
func WithUnsignedDeliveries(hint func(context.Context)) WebhookOption {
	return func(h *WebhookHandler) error {
		if hint == nil {
			return errors.New("nil unsigned delivery hint")
		}
		h.hint = hint
		return nil
	}
}

// NewWebhookHandler returns a handler that verifies deliveries with secret
// (the integration's signature_key) and calls fn once per event uuid. fn
// receives the request's context; an error from it is passed to the error
// handler and the uuid forgotten, so that a repeated delivery or the
// catch-up handles the event again. The delivery is acknowledged (200)
// either way. An empty secret is refused unless [WithUnsignedDeliveries]
// is given, and a secret together with that option is refused too.
func NewWebhookHandler(secret string, fn func(context.Context, *Event) error, opts ...WebhookOption) (*WebhookHandler, error) {
	h := &WebhookHandler{
		fn:       fn,
		maxBody:  1 << 20,
		capacity: 10000,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(h); err != nil {
			return nil, fmt.Errorf("kisi: new webhook handler: %w", err)
		}
	}
	switch {
	case h.hint != nil && secret != "":
		return nil, errors.New("kisi: new webhook handler: a signature key and unsigned deliveries both given")
	case h.hint != nil:
		return h, nil
	case secret == "":
		return nil, errors.New("kisi: new webhook handler: empty secret (see WithUnsignedDeliveries for an integration without a key)")
	case fn == nil:
		return nil, errors.New("kisi: new webhook handler: nil callback")
	}
	h.key = newCredential(secret)
	h.seen = make(map[string]int, min(h.capacity, 1024))
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if h.hint != nil {
		// Unsigned: nothing in the body can be trusted, so it only prompts
		// a catch-up through the authenticated API.
		h.hint(r.Context())
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := VerifySignature(h.key.secret(), body, r.Header.Get(SignatureHeader)); err != nil {
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	ev, err := DecodeEvent(body)
	if err != nil {
		http.Error(w, "invalid event", http.StatusBadRequest)
		return
	}
	if ev.UUID != "" && !h.claim(ev.UUID) {
		w.WriteHeader(http.StatusOK) // a repeated delivery
		return
	}
	if err := h.fn(r.Context(), ev); err != nil {
		if ev.UUID != "" {
			h.release(ev.UUID)
		}
		if h.onError != nil {
			h.onError(r.Context(), ev, err)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// claim marks uuid as seen and reports whether it was new. The oldest uuid
// is forgotten when the ring is full.
func (h *WebhookHandler) claim(uuid string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.seen[uuid]; dup {
		return false
	}
	slot := len(h.order)
	if slot < h.capacity {
		h.order = append(h.order, uuid)
	} else {
		slot = h.next
		old := h.order[slot]
		if at, ok := h.seen[old]; ok && at == slot {
			delete(h.seen, old)
		}
		h.order[slot] = uuid
		h.next = (h.next + 1) % h.capacity
	}
	h.seen[uuid] = slot
	return true
}

// release forgets uuid after a failed callback, so that a redelivery is
// handled. Its slot in the ring is reused in turn.
func (h *WebhookHandler) release(uuid string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.seen, uuid)
}
