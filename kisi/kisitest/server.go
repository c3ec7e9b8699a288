package kisitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// maxBody bounds the request bodies the server reads.
const maxBody = 1 << 20

// Server is a running fake Kisi API. Create it with [NewServer] (the zero
// value is not usable) and stop it with [Server.Close]. All methods are safe
// for concurrent use.
type Server struct {
	// URL is the base URL of the API, with a path prefix and no trailing
	// slash, e.g. "http://127.0.0.1:41234/kisi".
	URL string
	// APIKey is the secret of the organization owner's API key, sent as
	// "Authorization: KISI-LOGIN <APIKey>".
	APIKey string

	ts     *httptest.Server
	cfg    config
	clock  clockwork.Clock
	faults faultState
	done   chan struct{}
	close  sync.Once

	mu sync.Mutex // guards st
	st *state

	reqMu sync.Mutex
	reqs  []Request
}

// Request is one entry of the server's request log (see [Server.Requests]).
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the path below the server's prefix, e.g. "/role_assignments/7".
	Path string
	// Query is the raw query string without "?".
	Query string
	// Status is the status the client received; 0 when the connection was
	// dropped.
	Status int
	// Lost reports that the request was applied but its response was lost
	// by an injected fault.
	Lost bool
}

// NewServer starts a fake Kisi API server with one organization, its owner
// and the owner's API key. Like httptest.NewServer it listens on a loopback
// port and serves from its own goroutines until [Server.Close], which the
// caller must call, typically with t.Cleanup(srv.Close).
func NewServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		cfg:   cfg,
		clock: cfg.clock,
		done:  make(chan struct{}),
	}
	s.faults.set(Faults{})
	s.st = newState(cfg, cfg.clock.Now())
	s.APIKey = s.st.ownerKey
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.ts.URL + cfg.prefix
	return s
}

// Close shuts the server down and waits for outstanding requests; requests
// waiting for injected latency end at once.
func (s *Server) Close() {
	s.close.Do(func() { close(s.done) })
	s.ts.Close()
}

// Client returns an *http.Client configured for the server (see
// httptest.Server.Client).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Handler returns the server's HTTP handler, for a transport that serves
// requests in process (a deterministic simulation) instead of over the
// loopback listener. A lost response whose fault asks to drop the
// connection is answered 500 when the handler's writer cannot be hijacked.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// SetFaults replaces the random faults and reseeds their source. The zero
// [Faults] turns them off.
func (s *Server) SetFaults(f Faults) { s.faults.set(f) }

// Intercept installs fn to decide a [Fault] for each request before the
// random [Faults] are drawn, in the style of controller-runtime's
// interceptors; a non-zero result replaces the random draw for that
// request. nil removes the interceptor.
func (s *Server) Intercept(fn Interceptor) { s.faults.setInterceptor(fn) }

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.reqs = nil
}

// Count returns how many logged requests have this method ("" for any) and
// a path starting with pathPrefix (e.g. "/role_assignments").
func (s *Server) Count(method, pathPrefix string) int {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	n := 0
	for _, r := range s.reqs {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// response is a handler's answer before it is written.
type response struct {
	status int
	body   []byte
	rng    string // X-Collection-Range
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, s.cfg.prefix)
	if !ok || (path != "" && path[0] != '/') {
		s.write(w, r, "", errorResponse(http.StatusNotFound, "Not found", codeNotFound), false)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		s.write(w, r, path, errorResponse(http.StatusBadRequest, "Unreadable body", codeBadRequest), false)
		return
	}

	fault := Fault{}
	if fn := s.faults.interceptor(); fn != nil {
		rc := r.Clone(r.Context())
		rc.URL.Path = path
		rc.Body = io.NopCloser(bytes.NewReader(body))
		fault = fn(rc)
	}
	if fault.isZero() {
		fault = s.faults.draw(r.Method)
	}
	if fault.Latency > 0 && !s.wait(r.Context(), fault.Latency) {
		s.write(w, r, path, errorResponse(http.StatusServiceUnavailable, "Server shutting down", codeUnavailable), false)
		return
	}
	if fault.Status != 0 {
		s.write(w, r, path, errorResponse(fault.Status, http.StatusText(fault.Status), codeForStatus(fault.Status)), false)
		return
	}

	resp := s.handle(r, path, body)

	if fault.Lost {
		if fault.Drop && s.drop(w, r, path) {
			return
		}
		s.write(w, r, path, errorResponse(http.StatusInternalServerError, "Internal server error", codeServerError), true)
		return
	}
	s.write(w, r, path, resp, false)
}

// wait blocks for d on the server clock; false when ctx ended or the server
// is closing.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	t := s.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// drop closes the client connection without an answer. The request is
// logged first, so that a client that sees the connection fail also finds
// its request in the log.
func (s *Server) drop(w http.ResponseWriter, r *http.Request, path string) bool {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	s.log(r, path, 0, true)
	_ = conn.Close()
	return true
}

// write answers with resp. The request is logged before the answer leaves,
// so that a client that has its answer also finds its request in the log.
func (s *Server) write(w http.ResponseWriter, r *http.Request, path string, resp response, lost bool) {
	s.log(r, path, resp.status, lost)
	h := w.Header()
	if resp.rng != "" {
		h.Set("X-Collection-Range", resp.rng)
	}
	if resp.body != nil {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(resp.status)
	if resp.body != nil {
		_, _ = w.Write(resp.body)
	}
}

func (s *Server) log(r *http.Request, path string, status int, lost bool) {
	s.reqMu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Status: status, Lost: lost})
	s.reqMu.Unlock()
	s.cfg.logger.Debug("kisitest request", "method", r.Method, "path", path, "status", status, "lost", lost)
}

// handle authenticates, rate-limits and routes one request under the state
// lock.
func (s *Server) handle(r *http.Request, path string, body []byte) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	st := s.st
	u := st.authenticate(r.Header.Get("Authorization"))
	if u == nil {
		return errorResponse(http.StatusUnauthorized, "You need to sign in or sign up before continuing.", codeUnauthorized)
	}
	if !st.allow(u, now, r.Method == http.MethodPost && path == "/event_sets") {
		return errorResponse(http.StatusTooManyRequests, "Too many requests", codeRateLimited)
	}
	c := &call{
		method: r.Method,
		segs:   strings.Split(strings.Trim(path, "/"), "/"),
		query:  r.URL.Query(),
		body:   body,
		user:   u,
		now:    now,
		st:     st,
	}
	return st.route(c)
}

// call is one authenticated request being routed.
type call struct {
	method string
	segs   []string
	query  url.Values
	body   []byte
	user   *user
	now    time.Time
	st     *state
}

// Error codes for statuses whose Kisi code is not documented. They are
// recognisable placeholders: clients should branch on the status.
const (
	codeBadRequest   = "000400"
	codeUnauthorized = "000401"
	codeForbidden    = "000403"
	codeNotFound     = "000404"
	codeRateLimited  = "000429"
	codeServerError  = "000500"
	codeUnavailable  = "000503"
)

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return codeBadRequest
	case http.StatusUnauthorized:
		return codeUnauthorized
	case http.StatusForbidden:
		return codeForbidden
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusTooManyRequests:
		return codeRateLimited
	case http.StatusServiceUnavailable:
		return codeUnavailable
	default:
		return codeServerError
	}
}

func errorResponse(status int, msg, code string) response {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{msg, code})
	return response{status: status, body: b}
}

// validationResponse is Kisi's 422 body {"errors":{"field":["msg"]}}.
func validationResponse(errs map[string][]string) response {
	b, _ := json.Marshal(struct {
		Errors map[string][]string `json:"errors"`
	}{errs})
	return response{status: http.StatusUnprocessableEntity, body: b}
}

func invalid(field, msg string) response {
	return validationResponse(map[string][]string{field: {msg}})
}

func jsonResponse(v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		return errorResponse(http.StatusInternalServerError, "Internal server error", codeServerError)
	}
	return response{status: http.StatusOK, body: b}
}

func noContent() response { return response{status: http.StatusNoContent} }

func notFound() response {
	return errorResponse(http.StatusNotFound, "Not found", codeNotFound)
}

func forbidden() response {
	return errorResponse(http.StatusForbidden, "You are not authorized to perform this action.", codeForbidden)
}

func badRequest(msg string) response {
	return errorResponse(http.StatusBadRequest, msg, codeBadRequest)
}
