package fleet

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
)

// Body limits of the endpoints.
const (
	maxEventBody   = 64 << 10
	maxWebhookBody = 1 << 20
)

// Event is a platform change event, the body of POST /events:
//
//	{"organization": "acme-berlin", "type": "booking.created", "id": "b-123"}
//
// Organization and Type are required; ID (the changed record) is only
// logged; Verify asks for a Verify before the sync.
type Event struct {
	Organization string `json:"organization"`
	Type         string `json:"type"`
	ID           string `json:"id,omitempty"`
	Verify       bool   `json:"verify,omitempty"`
}

// Handler serves the worker's HTTP endpoints:
//
//   - POST /events: a platform change event ([Event]), signed like a Kisi
//     webhook (header X-Signature: the hex HMAC-SHA256 of the body under
//     Config.EventsSecret); 202 once the organization's run is queued, 401
//     when unsigned, wrongly signed or no secret is configured, 400 for a
//     malformed event, 404 for an unknown organization;
//   - POST /webhooks/kisi/{org}: a Kisi webhook delivery for org, served by
//     the SDK's kisi.WebhookHandler with org's webhook secret: 200 for every
//     genuine delivery, repeats included (recorded once by uuid, or by a
//     hash of the event when it has none, in PostgreSQL so that every
//     process agrees); 401 for a bad signature, and the very same answer
//     for an organization that is unknown or has no webhook secret; 400
//     for an undecodable body. Only events that may mean a change of
//     access made in Kisi wake the organization, with a Verify (see
//     [WakesOn]);
//   - GET /metrics: the Prometheus metrics;
//   - GET /status/{org}: the organization's [Status] (its job, last runs,
//     last clean sync, next Verify, held cuts, failures and parked changes
//     by failure scope) as JSON;
//   - GET /healthz: 200 while the process serves; GET /readyz: 200 when
//     the worker runs and the database answers, else 503.
//
// Every answer is given as soon as the job is queued; no sync runs inside
// a request.
type Handler struct {
	w        *Worker
	log      *slog.Logger
	mux      *http.ServeMux
	webhooks sync.Map     // organization → webhookEntry
	refuse   http.Handler // answers like a bad signature
}

// webhookEntry is an organization's kisi.WebhookHandler and the secret it
// was made with: a new secret in the directory makes a new handler.
type webhookEntry struct {
	secret  string
	handler http.Handler
}

// HandlerOption configures a [Handler].
type HandlerOption func(*handlerOptions)

type handlerOptions struct{ noEvents bool }

// WithoutEvents leaves POST /events out, for a host that serves it on a
// listener of its own ([NewEventsHandler]), reachable only by the
// platform.
func WithoutEvents() HandlerOption { return func(o *handlerOptions) { o.noEvents = true } }

// NewEventsHandler returns a handler of POST /events alone.
func NewEventsHandler(w *Worker) http.Handler {
	h := &Handler{w: w, log: w.log, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /events", h.event)
	return h
}

// NewHandler returns the HTTP endpoints of w.
func NewHandler(w *Worker, opts ...HandlerOption) *Handler {
	var o handlerOptions
	for _, opt := range opts {
		opt(&o)
	}
	h := &Handler{w: w, log: w.log, mux: http.NewServeMux()}
	h.refuse = mustWebhookHandler(randomSecret(), func(context.Context, *kisi.Event) error { return nil })
	if !o.noEvents {
		h.mux.HandleFunc("POST /events", h.event)
	}
	h.mux.HandleFunc("POST /webhooks/kisi/{org}", h.webhook)
	h.mux.Handle("GET /metrics", promhttp.HandlerFor(w.metrics.Registry, promhttp.HandlerOpts{}))
	h.mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusOK) })
	h.mux.HandleFunc("GET /readyz", h.ready)
	h.mux.HandleFunc("GET /status/{org}", h.status)
	return h
}

// mustWebhookHandler returns the SDK's webhook handler; its options are
// fixed here, so an error is a programming error.
func mustWebhookHandler(secret string, fn func(context.Context, *kisi.Event) error, opts ...kisi.WebhookOption) http.Handler {
	wh, err := kisi.NewWebhookHandler(secret, fn, append(opts, kisi.WithMaxBodySize(maxWebhookBody))...)
	if err != nil {
		panic(err)
	}
	return wh
}

// randomSecret is a secret no one knows, for the handler that refuses
// deliveries to unknown organizations exactly as it refuses forged ones.
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(rw, r) }

// answer writes a small JSON answer.
func answer(rw http.ResponseWriter, status int, v map[string]string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

func fail(rw http.ResponseWriter, status int, format string, args ...any) {
	answer(rw, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// readBody reads at most limit bytes; it answers 413 or 400 itself and
// returns false on failure.
func readBody(rw http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(rw, http.StatusRequestEntityTooLarge, "body larger than %d bytes", limit)
			return nil, false
		}
		fail(rw, http.StatusBadRequest, "cannot read body: %v", err)
		return nil, false
	}
	return body, true
}

// event handles POST /events.
func (h *Handler) event(rw http.ResponseWriter, r *http.Request) {
	body, ok := readBody(rw, r, maxEventBody)
	if !ok {
		return
	}
	if h.w.cfg.EventsSecret == "" {
		h.w.metrics.Events.WithLabelValues("unauthorized").Inc()
		fail(rw, http.StatusUnauthorized, "events are refused: no events secret configured")
		return
	}
	if err := kisi.VerifySignature(h.w.cfg.EventsSecret, body, r.Header.Get(kisi.SignatureHeader)); err != nil {
		h.w.metrics.Events.WithLabelValues("unauthorized").Inc()
		fail(rw, http.StatusUnauthorized, "%v (header %s: HMAC-SHA256 of the body)", err, kisi.SignatureHeader)
		return
	}
	ev, err := decodeEvent(body)
	if err != nil {
		h.w.metrics.Events.WithLabelValues("malformed").Inc()
		fail(rw, http.StatusBadRequest, "malformed event: %v", err)
		return
	}
	err = h.w.Wake(r.Context(), ev.Organization, ev.Verify)
	if errors.Is(err, ErrUnknownOrganization) {
		h.w.metrics.Events.WithLabelValues("unknown").Inc()
		fail(rw, http.StatusNotFound, "unknown organization %q", ev.Organization)
		return
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "event not queued", "organization", ev.Organization, "error", err)
		fail(rw, http.StatusServiceUnavailable, "event not queued; send it again")
		return
	}
	h.w.metrics.Events.WithLabelValues("queued").Inc()
	h.log.InfoContext(r.Context(), "platform event", "organization", ev.Organization, "type", ev.Type, "id", ev.ID)
	answer(rw, http.StatusAccepted, map[string]string{"organization": ev.Organization, "status": "queued"})
}

// decodeEvent decodes and checks one Event: a single JSON object, no
// unknown keys, organization and type set.
func decodeEvent(body []byte) (Event, error) {
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return ev, fmt.Errorf("body is not an event object: %w", err)
	}
	if dec.More() {
		return ev, errors.New("data after the event object")
	}
	var missing []string
	if strings.TrimSpace(ev.Organization) == "" {
		missing = append(missing, `"organization"`)
	}
	if strings.TrimSpace(ev.Type) == "" {
		missing = append(missing, `"type"`)
	}
	if len(missing) > 0 {
		return ev, fmt.Errorf("missing %s", strings.Join(missing, " and "))
	}
	return ev, nil
}

// webhookHandler returns org's kisi.WebhookHandler, or for an organization
// that is unknown or has no webhook secret, a handler whose secret no one
// knows, so that the answer is that of a forged delivery and tells nothing
// about which organizations exist.
func (h *Handler) webhookHandler(ctx context.Context, id string) (http.Handler, error) {
	org, err := h.w.dir.Organization(ctx, id)
	switch {
	case errors.Is(err, ErrUnknownOrganization):
		return h.refuse, nil
	case err != nil:
		return nil, err
	case org.WebhookSecret == "":
		return h.refuse, nil
	}
	if e, ok := h.webhooks.Load(id); ok && e.(webhookEntry).secret == org.WebhookSecret {
		return e.(webhookEntry).handler, nil
	}
	wh := mustWebhookHandler(org.WebhookSecret, func(ctx context.Context, ev *kisi.Event) error {
		return h.onWebhook(ctx, id, ev)
	}, kisi.WithWebhookErrorHandler(func(ctx context.Context, ev *kisi.Event, err error) {
		h.w.metrics.Webhooks.WithLabelValues("failed").Inc()
		h.log.ErrorContext(ctx, "webhook not recorded; the next Verify finds what it told", "organization", id,
			"uuid", ev.UUID, "type", ev.Type, "error", err)
	}))
	h.webhooks.Store(id, webhookEntry{secret: org.WebhookSecret, handler: wh})
	return wh, nil
}

// webhook handles POST /webhooks/kisi/{org}.
func (h *Handler) webhook(rw http.ResponseWriter, r *http.Request) {
	wh, err := h.webhookHandler(r.Context(), r.PathValue("org"))
	if err != nil {
		h.log.ErrorContext(r.Context(), "webhook not served: directory unreadable", "error", err)
		fail(rw, http.StatusServiceUnavailable, "try again later")
		return
	}
	rec := &statusRecorder{ResponseWriter: rw}
	wh.ServeHTTP(rec, r)
	if rec.status != http.StatusOK {
		h.w.metrics.Webhooks.WithLabelValues(strconv.Itoa(rec.status)).Inc()
	}
}

// statusRecorder remembers the status of an answer.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader implements http.ResponseWriter.
func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// WakesOn reports whether a Kisi event of type typ may mean that access
// was changed in Kisi, so that the organization should run a Verify: a
// role assignment or group link created, changed or deleted, a user
// changed or deleted, a group changed or deleted. Door events (lock.*),
// places, teams and the like change nothing the reconciler holds.
func WakesOn(typ string) bool {
	switch typ {
	case "role_assignment.create", "role_assignment.update", "role_assignment.destroy",
		"group_link.create", "group_link.destroy",
		"user.create", "user.update", "user.destroy",
		"group.update", "group.destroy":
		return true
	}
	return false
}

// onWebhook handles one genuine, first-seen (in this process) delivery:
// it records it once for all processes and wakes the organization with a
// Verify when the event may mean a change made in Kisi by someone else.
// The echo of the reconciler's own writes (a role or link created that the
// Store holds with that Kisi id) and the deletion of an object the Store
// does not hold (its own, or none of its business) wake nothing.
func (h *Handler) onWebhook(ctx context.Context, org string, ev *kisi.Event) error {
	key := ev.UUID
	if key == "" { // the same event delivered again hashes the same
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	outcome := "woken"
	wake := WakesOn(ev.Type)
	if !wake {
		outcome = "ignored"
	} else if kind, ok := heldKinds[strings.Split(ev.Type, ".")[0]]; ok {
		held, err := h.holds(ctx, org, kind, ev.ObjectID)
		if err != nil {
			return err
		}
		if created := strings.HasSuffix(ev.Type, ".create"); created == held {
			wake, outcome = false, "echo"
		}
	}
	if wake { // only what wakes needs recording: a repeat must not wake again
		first, err := h.w.Deliver(ctx, org, key, true, true)
		if err != nil {
			return err
		}
		if !first {
			outcome = "duplicate"
		}
	}
	h.w.metrics.Webhooks.WithLabelValues(outcome).Inc()
	h.log.InfoContext(ctx, "kisi webhook", "organization", org, "uuid", ev.UUID, "type", ev.Type, "outcome", outcome)
	return nil
}

// heldKinds are the Store's record kinds of the Kisi objects whose events
// may be the echo of the reconciler's own writes.
var heldKinds = map[string]state.RecordKind{"role_assignment": state.KindRole, "group_link": state.KindLink}

// holds reports whether org's Store holds a record of kind for the Kisi
// object id.
func (h *Handler) holds(ctx context.Context, org string, kind state.RecordKind, id int64) (bool, error) {
	if id == 0 {
		return false, nil
	}
	recs, err := h.w.store.Load(ctx, org)
	if err != nil {
		return false, err
	}
	for _, r := range recs {
		if r.Kind == kind && r.KisiID == id {
			return true, nil
		}
	}
	return false, nil
}

// status handles GET /status/{org}: the organization's [Status] as JSON,
// 404 for an unknown organization.
func (h *Handler) status(rw http.ResponseWriter, r *http.Request) {
	st, err := h.w.Status(r.Context(), r.PathValue("org"))
	switch {
	case errors.Is(err, ErrUnknownOrganization):
		fail(rw, http.StatusNotFound, "unknown organization %q", r.PathValue("org"))
		return
	case err != nil:
		h.log.ErrorContext(r.Context(), "status unreadable", "organization", r.PathValue("org"), "error", err)
		fail(rw, http.StatusServiceUnavailable, "status unreadable")
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(st)
}

// ready handles GET /readyz: 200 when the worker runs and the database
// answers within two seconds, 503 otherwise.
func (h *Handler) ready(rw http.ResponseWriter, r *http.Request) {
	if !h.w.running.Load() {
		fail(rw, http.StatusServiceUnavailable, "worker not running")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.w.pool.Ping(ctx); err != nil {
		fail(rw, http.StatusServiceUnavailable, "database unreachable")
		return
	}
	answer(rw, http.StatusOK, map[string]string{"status": "ready"})
}
