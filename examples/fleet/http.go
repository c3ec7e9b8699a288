package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

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
//   - POST /events: a platform change event ([Event]); 202 once the
//     organization's run is queued, 400 for a malformed event, 404 for an
//     unknown organization;
//   - POST /webhooks/kisi/{org}: a Kisi webhook delivery for org, signed
//     with org's webhook secret; 200 once recorded (and, except for lock
//     events, the organization woken with a Verify), 401 when unsigned or
//     wrongly signed, 409 for a replayed uuid (refused by every process),
//     400 for an undecodable body;
//   - GET /metrics: the Prometheus metrics;
//   - GET /healthz: 200.
//
// Every answer is acknowledged as soon as the job is queued; no sync runs
// inside a request.
type Handler struct {
	w   *Worker
	log *slog.Logger
	mux *http.ServeMux
}

// NewHandler returns the HTTP endpoints of w.
func NewHandler(w *Worker) *Handler {
	h := &Handler{w: w, log: w.log, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /events", h.event)
	h.mux.HandleFunc("POST /webhooks/kisi/{org}", h.webhook)
	h.mux.Handle("GET /metrics", promhttp.HandlerFor(w.metrics.Registry, promhttp.HandlerOpts{}))
	h.mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusOK) })
	return h
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
	ev, err := decodeEvent(body)
	if err != nil {
		fail(rw, http.StatusBadRequest, "malformed event: %v", err)
		return
	}
	if h.w.orgs[ev.Organization] == nil {
		fail(rw, http.StatusNotFound, "unknown organization %q", ev.Organization)
		return
	}
	if err := h.w.Wake(r.Context(), ev.Organization, ev.Verify); err != nil {
		h.log.ErrorContext(r.Context(), "event not queued", "organization", ev.Organization, "error", err)
		fail(rw, http.StatusServiceUnavailable, "event not queued; send it again")
		return
	}
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

// webhook handles POST /webhooks/kisi/{org}.
func (h *Handler) webhook(rw http.ResponseWriter, r *http.Request) {
	orgID := r.PathValue("org")
	org := h.w.orgs[orgID]
	if org == nil {
		fail(rw, http.StatusNotFound, "unknown organization %q", orgID)
		return
	}
	body, ok := readBody(rw, r, maxWebhookBody)
	if !ok {
		return
	}
	if org.WebhookSecret == "" {
		fail(rw, http.StatusUnauthorized, "organization %q accepts no webhooks: no webhook secret configured", orgID)
		return
	}
	if err := kisi.VerifySignature(org.WebhookSecret, body, r.Header.Get(kisi.SignatureHeader)); err != nil {
		fail(rw, http.StatusUnauthorized, "%v (header %s: HMAC-SHA256 of the body)", err, kisi.SignatureHeader)
		return
	}
	ev, err := kisi.DecodeEvent(body)
	if err != nil {
		fail(rw, http.StatusBadRequest, "malformed webhook: %v", err)
		return
	}
	// Unlock events change nothing this SDK manages; anything else may be
	// a change made in Kisi, which a Verify finds.
	wake := !strings.HasPrefix(ev.Type, "lock.")
	if ev.UUID == "" {
		if wake {
			if err := h.w.Wake(r.Context(), orgID, true); err != nil {
				h.log.ErrorContext(r.Context(), "webhook not queued", "organization", orgID, "error", err)
				fail(rw, http.StatusServiceUnavailable, "webhook not queued; deliver it again")
				return
			}
		}
		answer(rw, http.StatusOK, map[string]string{"status": "accepted"})
		return
	}
	first, err := h.w.Deliver(r.Context(), orgID, ev.UUID, wake, true)
	if err != nil {
		h.log.ErrorContext(r.Context(), "webhook not recorded", "organization", orgID, "uuid", ev.UUID, "error", err)
		fail(rw, http.StatusServiceUnavailable, "webhook not recorded; deliver it again")
		return
	}
	if !first {
		fail(rw, http.StatusConflict, "delivery %s was already received: replay refused", ev.UUID)
		return
	}
	h.log.InfoContext(r.Context(), "kisi webhook", "organization", orgID, "uuid", ev.UUID, "type", ev.Type, "woken", wake)
	answer(rw, http.StatusOK, map[string]string{"organization": orgID, "status": "accepted"})
}
