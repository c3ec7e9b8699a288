package kisi

//go:generate go run ./internal/forwardgen/cmd/forwardgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/jonboulle/clockwork"
)

const (
	// DefaultBaseURL is the address of the production Kisi API.
	DefaultBaseURL = "https://api.kisi.io"

	// MaxOffset is the largest offset Kisi accepts on a paginated list.
	MaxOffset = 20000

	defaultUserAgent = "kisisync-go"
	maxResponseBody  = 32 << 20 // bytes decoded from a successful response
	maxErrorBody     = 64 << 10 // bytes read from an error response
)

// Client talks to the Kisi REST API. Create one with [NewClient]; the zero
// value is not usable. A Client is immutable after construction and safe for
// concurrent use by multiple goroutines. All requests of one Client share one
// rate limiter, so one Client per Kisi user (API key) is the intended use.
//
// Resources are reached through the service fields, e.g.
// c.RoleAssignments.List(ctx, opts). The flat methods (such as
// [Client.ListRoleAssignments]) forward to the services for callers that
// declare narrow interfaces, like access.KisiAPI.
//
// Methods return a response of 400 or above as an *[Error], which matches
// sentinels such as [ErrNotFound] and [ErrRateLimited] with errors.Is (see
// the package documentation), and otherwise the context's or the
// transport's error, wrapped. Times in requests and responses are instants
// (time.Time), whatever their location.
type Client struct {
	baseURL   *url.URL
	auth      *credential
	userAgent string
	// integration headers; empty: not sent
	integrationID, integrationContact string
	logger                            *slog.Logger
	clock                             clockwork.Clock
	http                              *retryablehttp.Client
	retry                             retryConfig
	jitter                            *lockedRand

	deprecated sync.Map // endpoint (method + path template) → struct{}

	common service

	// RoleAssignments manages role assignments (access rights).
	RoleAssignments *RoleAssignmentsService
	// Roles reads the roles that can be assigned.
	Roles *RolesService
	// Groups manages groups.
	Groups *GroupsService
	// GroupLocks manages which locks a group opens.
	GroupLocks *GroupLocksService
	// GroupLinks manages group (access) links.
	GroupLinks *GroupLinksService
	// Users manages users, including the caller's own user.
	Users *UsersService
	// Places manages places.
	Places *PlacesService
	// Locks manages locks (doors).
	Locks *LocksService
	// Organization reads the caller's organization.
	Organization *OrganizationService
	// Teams manages teams.
	Teams *TeamsService
	// TeamMemberships manages the members of teams.
	TeamMemberships *TeamMembershipsService
	// EventSets queries the event stream through server-side event sets.
	EventSets *EventSetsService
	// Events reads event metadata such as the list of event types.
	Events *EventsService
	// Integrations manages integrations such as the event webhook.
	Integrations *IntegrationsService
	// Schedules reads time restrictions (opening hours).
	Schedules *SchedulesService
}

// service is the common state of every service: the client it belongs to.
type service struct {
	client *Client
}

// credential holds a secret (the API key's Authorization header value, or a
// webhook signature key). The secret lives in a closure, which fmt and
// reflection cannot look into, so formatting a struct that contains a
// credential, with any verb, never prints it; the methods of the type print
// REDACTED.
type credential struct {
	secret func() string
}

func newCredential(secret string) *credential {
	return &credential{secret: func() string { return secret }}
}

const redacted = "REDACTED"

// String returns REDACTED.
func (*credential) String() string { return redacted }

// GoString returns REDACTED.
func (*credential) GoString() string { return redacted }

// LogValue returns REDACTED.
func (*credential) LogValue() slog.Value { return slog.StringValue(redacted) }

// Format prints REDACTED for every verb.
func (*credential) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// NewClient returns a client that authenticates with apiKey (sent as
// "Authorization: KISI-LOGIN <apiKey>"). Without options it talks to
// [DefaultBaseURL], paces requests to 5 per second with a burst of 1 (Kisi's
// per-user limit), retries as described in the package documentation and logs
// nothing. It starts no goroutines.
//
// NewClient returns an error if apiKey is empty or contains spaces or
// control characters (such as the newline that ends a key read from a file),
// or if an option is invalid.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("kisi: new client: empty api key")
	}
	if strings.ContainsFunc(apiKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		// net/http would refuse the header on every request.
		return nil, errors.New("kisi: new client: api key contains spaces or control characters")
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("kisi: new client: %w", err)
		}
	}
	base, err := parseBaseURL(o.baseURL)
	if err != nil {
		return nil, fmt.Errorf("kisi: new client: %w", err)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.clock == nil {
		o.clock = clockwork.NewRealClock()
	}
	c := &Client{
		baseURL:            base,
		auth:               newCredential("KISI-LOGIN " + apiKey),
		userAgent:          o.userAgent,
		integrationID:      o.integrationID,
		integrationContact: o.integrationContact,
		logger:             o.logger,
		clock:              o.clock,
		retry:              o.retry,
		jitter:             newLockedRand(uint64(o.clock.Now().UnixNano())),
	}
	c.http = c.newRetryClient(o)
	c.common.client = c
	c.RoleAssignments = (*RoleAssignmentsService)(&c.common)
	c.Roles = (*RolesService)(&c.common)
	c.Groups = (*GroupsService)(&c.common)
	c.GroupLocks = (*GroupLocksService)(&c.common)
	c.GroupLinks = (*GroupLinksService)(&c.common)
	c.Users = (*UsersService)(&c.common)
	c.Places = (*PlacesService)(&c.common)
	c.Locks = (*LocksService)(&c.common)
	c.Organization = (*OrganizationService)(&c.common)
	c.Teams = (*TeamsService)(&c.common)
	c.TeamMemberships = (*TeamMembershipsService)(&c.common)
	c.EventSets = (*EventSetsService)(&c.common)
	c.Events = (*EventsService)(&c.common)
	c.Integrations = (*IntegrationsService)(&c.common)
	c.Schedules = (*SchedulesService)(&c.common)
	return c, nil
}

// BaseURL returns the base URL requests are sent to, with a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL.String() }

// String describes the client without its credentials.
func (c *Client) String() string {
	return fmt.Sprintf("kisi.Client{BaseURL: %s, APIKey: %s}", sanitizeURL(c.baseURL), redacted)
}

// GoString is like String.
func (c *Client) GoString() string { return c.String() }

// Format prints the result of String for every verb, so that %+v and %#v
// never reveal the API key.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue describes the client without its credentials.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", sanitizeURL(c.baseURL)), slog.String("api_key", redacted))
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// A *url.Error quotes the whole URL, user info included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid base url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid base url %q: scheme must be http or https", sanitizeURL(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("invalid base url %q: no host", sanitizeURL(u))
	}
	u.User = nil
	u.RawQuery, u.Fragment = "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawPath = ""
	return u, nil
}

// Ptr returns a pointer to v, for the optional fields of request structs.
func Ptr[T any](v T) *T { return &v }

// Ref is the small embedded object Kisi uses to point at another resource.
type Ref struct {
	ID int64 `json:"id"`
	// ResourceType names the kind of resource, e.g. "User", "Group" or
	// "Place".
	ResourceType string `json:"resource_type"`
	// Name and Email are empty when Kisi leaves them out (Email is sent
	// for users only).
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// ListOptions are the offset pagination parameters every list endpoint takes.
// Zero values use Kisi's defaults (limit 10, 50 for users, places and locks;
// offset 0). Offset may not exceed [MaxOffset].
type ListOptions struct {
	Limit  int
	Offset int
}

// paging returns o itself, so that generic code can read and set the
// ListOptions embedded in every list options type.
func (o *ListOptions) paging() *ListOptions { return o }

// maxLimit is the endpoint's largest page; [UserListOptions] overrides it.
func (*ListOptions) maxLimit() int { return MaxLimit }

func (o ListOptions) encode(v url.Values) {
	if o.Limit > 0 {
		v.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Offset > 0 {
		v.Set("offset", strconv.Itoa(o.Offset))
	}
}

// Response describes the HTTP response of one call with what Kisi reports in
// its headers. It never holds the request (and so never the API key).
type Response struct {
	// StatusCode is the HTTP status of the final attempt.
	StatusCode int
	// Header holds the response headers.
	Header http.Header
	// Total is the collection size from X-Collection-Range, or -1 if absent.
	Total int
	// NextOffset is the offset of the next page, or 0 when this was the last.
	// It may exceed MaxOffset, in which case the next page cannot be read
	// with the same filter.
	NextOffset int
	// RequestID is the server's request identifier, if it sent one.
	RequestID string
	// Deprecation and Sunset are the raw values of the headers Kisi sends
	// when an endpoint is deprecated; empty otherwise.
	Deprecation, Sunset string
}

func newResponse(r *http.Response) *Response {
	resp := &Response{
		StatusCode:  r.StatusCode,
		Header:      r.Header,
		Total:       -1,
		RequestID:   requestID(r.Header),
		Deprecation: r.Header.Get("Deprecation"),
		Sunset:      r.Header.Get("Sunset"),
	}
	if total, ok := parseCollectionRange(r.Header.Get("X-Collection-Range")); ok {
		resp.Total = total
	}
	return resp
}

func requestID(h http.Header) string { return h.Get("X-Request-Id") }

// callState is the per-call bookkeeping shared by the retry policy, the
// backoff wait and the connection trace.
type callState struct {
	method       string
	endpoint     string
	attempt      int
	wait         time.Duration // before the next attempt
	wrote        atomic.Bool
	maybeApplied bool
}

type callStateKey struct{}

func stateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	return st
}

// request describes one API call.
type request struct {
	method   string
	path     string // relative to the base URL, without a leading slash
	endpoint string // the path template, for logs and errors ("/role_assignments/{id}")
	query    url.Values
	body     any // marshalled to JSON when non-nil
}

// do performs r, decodes a successful body into out (if non-nil) and returns
// the Response (non-nil whenever the server answered).
func (c *Client) do(ctx context.Context, r request, out any) (*Response, error) {
	if ctx == nil {
		return nil, fmt.Errorf("kisi: %s %s: nil context", r.method, r.endpoint)
	}
	u := *c.baseURL
	u.Path += r.path
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	var body []byte
	if r.body != nil {
		var err error
		body, err = json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("kisi: %s %s: encode body: %w", r.method, r.endpoint, err)
		}
	}
	st := &callState{method: r.method, endpoint: r.endpoint}
	ctx = context.WithValue(ctx, callStateKey{}, st)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() { st.wrote.Store(true) },
	})
	var rawBody any
	if body != nil {
		rawBody = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u.String(), rawBody)
	if err != nil {
		return nil, fmt.Errorf("kisi: %s %s: %w", r.method, r.endpoint, err)
	}
	req.Header.Set("Authorization", c.auth.secret())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.integrationID != "" {
		req.Header.Set(IntegrationIdentifierHeader, c.integrationID)
		req.Header.Set(IntegrationContactHeader, c.integrationContact)
	}

	hresp, err := c.http.Do(req)
	if err != nil {
		if hresp != nil {
			_ = hresp.Body.Close()
		}
		return nil, c.transportError(ctx, st, r, err)
	}
	defer func() { _ = hresp.Body.Close() }()
	resp := newResponse(hresp)
	c.noteDeprecation(r, resp)
	if err := checkResponse(hresp, r.method, r.endpoint); err != nil {
		var apiErr *Error
		if r.method == http.MethodPost && errors.As(err, &apiErr) && mayHaveApplied(apiErr.StatusCode) {
			apiErr.MaybeApplied = true
		}
		return resp, err
	}
	if out != nil && hresp.StatusCode != http.StatusNoContent {
		dec := json.NewDecoder(io.LimitReader(hresp.Body, maxResponseBody))
		if err := dec.Decode(out); err != nil {
			return resp, fmt.Errorf("kisi: %s %s: decode response: %w", r.method, r.endpoint, err)
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(hresp.Body, maxErrorBody))
	return resp, nil
}

// mayHaveApplied reports whether a POST answered with status could have been
// applied by Kisi although it failed: a gateway or server error may come
// after the work was done.
func mayHaveApplied(status int) bool {
	return status >= 500 && status != http.StatusNotImplemented
}

func (c *Client) transportError(ctx context.Context, st *callState, r request, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("kisi: %s %s: %w", r.method, r.endpoint, ctxErr)
	}
	err = scrubURLError(err)
	if st.maybeApplied {
		return fmt.Errorf("kisi: %s %s: %w: %w", r.method, r.endpoint, ErrMaybeApplied, err)
	}
	return fmt.Errorf("kisi: %s %s: %w", r.method, r.endpoint, err)
}

// scrubURLError replaces the URL inside a *url.Error, which may carry query
// values such as an email address, by its sanitized form.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		clean := &url.Error{Op: ue.Op, URL: redacted, Err: ue.Err}
		if u, perr := url.Parse(ue.URL); perr == nil {
			clean.URL = sanitizeURL(u)
		}
		return clean
	}
	return err
}

// sanitizeURL returns u without user info and with every query value
// replaced, so that it can appear in logs and errors.
func sanitizeURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			q[k] = []string{redacted}
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}

func (c *Client) noteDeprecation(r request, resp *Response) {
	if resp.Deprecation == "" && resp.Sunset == "" {
		return
	}
	key := r.method + " " + r.endpoint
	if _, seen := c.deprecated.LoadOrStore(key, struct{}{}); seen {
		return
	}
	c.logger.Warn("kisi: endpoint is deprecated",
		slog.String("endpoint", key),
		slog.String("deprecation", resp.Deprecation),
		slog.String("sunset", resp.Sunset))
}

// lockedRand is a random source safe for concurrent use. It is seeded from
// the client's clock, so a fake clock makes the jitter deterministic.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// int64N returns a value in [0, n); 0 when n <= 0.
func (l *lockedRand) int64N(n int64) int64 {
	if n <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Int64N(n)
}

// wrap wraps v in its singular resource key, as Kisi expects.
func wrap(key string, v any) any {
	return map[string]any{key: v}
}
