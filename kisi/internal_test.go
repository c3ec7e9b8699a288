package kisi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
)

func TestParseCollectionRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   int
		wantOK bool
	}{
		{"0-9/200", 200, true},
		{"10-19/15", 15, true},
		{"0-0/0", 0, true},
		{"", 0, false},
		{"0-9", 0, false},
		{"a-9/200", 0, false},
		{"0-9/x", 0, false},
		{"-9/200", 0, false},
		{"0-9/-1", 0, false},
		{"0-9/+1", 0, false},
		{"*/0", 0, true},
		{"*/12", 12, true},
		{"*/", 0, false},
		{"*/-1", 0, false},
		{"*-1/0", 0, false},
		{"**/0", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, ok := parseCollectionRange(tc.in)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("parseCollectionRange(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func newTestClient(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient("k", opts...)
	require.NoError(t, err)
	return c
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := newTestClient(t, WithClock(clock), WithRetry(10, 100*time.Millisecond, time.Second))
	var got []time.Duration
	for attempt := range 6 {
		d := c.backoff(attempt, nil)
		step := min(100*time.Millisecond<<attempt, time.Second)
		if d < step/2 || d > step {
			t.Errorf("attempt %d: wait %v outside [%v, %v]", attempt, d, step/2, step)
		}
		got = append(got, d)
	}
	// The same clock gives the same jitter.
	c2 := newTestClient(t, WithClock(clock), WithRetry(10, 100*time.Millisecond, time.Second))
	var again []time.Duration
	for attempt := range 6 {
		again = append(again, c2.backoff(attempt, nil))
	}
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("jitter not deterministic for a fixed clock (-first +second):\n%s", diff)
	}
	resp := &http.Response{Header: http.Header{"Retry-After": {"120"}}}
	if d := c.backoff(0, resp); d != time.Second {
		t.Errorf("Retry-After 120s gives %v, want the cap 1s", d)
	}
	resp.Header.Set("Retry-After", "0")
	if d := c.backoff(3, resp); d != 0 {
		t.Errorf("Retry-After 0 gives %v, want 0", d)
	}
}

func TestCredentialFormatting(t *testing.T) {
	t.Parallel()
	cred := newCredential("KISI-LOGIN topsecret")
	holder := struct {
		Cred  *credential
		inner *credential
		val   credential
	}{cred, cred, *cred}
	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		fmt.Fprintf(&out, verb+" "+verb+" "+verb+"\n", cred, holder, *cred)
	}
	b, _ := json.Marshal(holder)
	out.Write(b)
	if strings.Contains(out.String(), "topsecret") {
		t.Errorf("credential leaked:\n%s", out.String())
	}
	if cred.secret() != "KISI-LOGIN topsecret" {
		t.Errorf("secret() lost the value")
	}
}

func TestNextOffset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		lo                      ListOptions
		def, n, total, wantNext int
	}{
		{"full page known total", ListOptions{Limit: 10}, 10, 10, 25, 10},
		{"last page", ListOptions{Limit: 10, Offset: 20}, 10, 5, 25, 0},
		{"empty", ListOptions{}, 10, 0, -1, 0},
		{"unknown total full page default limit", ListOptions{}, 50, 50, -1, 50},
		{"unknown total short page", ListOptions{}, 50, 49, -1, 0},
		{"server clamped limit with total", ListOptions{Limit: 500}, 10, 250, 600, 250},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := nextOffset(tc.lo, tc.def, tc.n, tc.total); got != tc.wantNext {
				t.Errorf("nextOffset = %d, want %d", got, tc.wantNext)
			}
		})
	}
}

// FuzzParseErrorBody: any body yields an *Error without panicking, and
// its text never holds a newline from a field name.
func FuzzParseErrorBody(f *testing.F) {
	for _, s := range []string{
		`{"error":"Wrong email address or password.","code":"afc516"}`,
		`{"errors":{"email":["can't be blank or invalid"],"password":["can't be blank"]}}`,
		`{"errors":{"user":"taken"}}`,
		`{"errors":["a","b"]}`,
		`{"errors":null}`,
		`<html></html>`,
		``,
	} {
		f.Add([]byte(s), 422)
	}
	f.Fuzz(func(t *testing.T, data []byte, status int) {
		e := &Error{StatusCode: status, Method: "GET", Endpoint: "/x"}
		parseErrorBody(data, e)
		_ = e.Error()
		_ = e.Is(ErrValidation)
	})
}

// FuzzDecodeResponses: decoding any body into the response types does not
// panic, and what decodes re-encodes.
func FuzzDecodeResponses(f *testing.F) {
	for _, s := range []string{
		`[{"id":1,"role_id":"group_basic","applies_to_type":"Group","applies_to_id":2,"valid_from":"2026-03-02T09:00:00Z","valid_until":null}]`,
		`{"id":2,"name":"Ann","secret":"s","quick_response_code_image":"iVBORw0KGgo="}`,
		`{"id":11,"status":"finished","events":[{"uuid":"u","error_code":"f358de"}],"cursor":"c"}`,
		`{"id":7,"email":"a@b.c","metadata":{"k":1.5,"n":null}}`,
		`[]`, `null`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := []any{new([]*RoleAssignment), new(GroupLink), new(EventSet), new(User), new(Group), new([]*Place), new(Lock)}
		for _, v := range targets {
			if json.Unmarshal(data, v) == nil {
				if _, err := json.Marshal(v); err != nil {
					t.Errorf("re-encode %T: %v", v, err)
				}
			}
		}
		_, _ = parseCollectionRange(string(data))
	})
}
