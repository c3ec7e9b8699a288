package kisi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
)

const webhookSecret = "whsec-test"

func sign(secret, body string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return m.Sum(nil)
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := `{"uuid":"u1","type":"lock.unlock"}`
	mac := sign(webhookSecret, body)
	good := hex.EncodeToString(mac)
	tests := []struct {
		name   string
		secret string
		body   string
		header string
		valid  bool
	}{
		{name: "hex", secret: webhookSecret, body: body, header: good, valid: true},
		{name: "upper hex", secret: webhookSecret, body: body, header: strings.ToUpper(good), valid: true},
		{name: "prefixed", secret: webhookSecret, body: body, header: "sha256=" + good, valid: true},
		{name: "prefix any case and spaces", secret: webhookSecret, body: body, header: " SHA256=" + good + " ", valid: true},
		{name: "base64", secret: webhookSecret, body: body, header: base64.StdEncoding.EncodeToString(mac), valid: true},
		{name: "wrong secret", secret: "other", body: body, header: good},
		{name: "tampered body", secret: webhookSecret, body: body + " ", header: good},
		{name: "truncated", secret: webhookSecret, body: body, header: good[:len(good)-2]},
		{name: "truncated prefixed", secret: webhookSecret, body: body, header: "sha256=" + good[:32]},
		{name: "empty header", secret: webhookSecret, body: body, header: ""},
		{name: "prefix only", secret: webhookSecret, body: body, header: "sha256="},
		{name: "not hex", secret: webhookSecret, body: body, header: strings.Repeat("zz", 32)},
		{name: "empty secret", secret: "", body: body, header: hex.EncodeToString(sign("", body))},
		{name: "other algorithm prefix", secret: webhookSecret, body: body, header: "sha1=" + good},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := kisi.VerifySignature(tc.secret, []byte(tc.body), tc.header)
			if tc.valid {
				require.NoError(t, err)
				return
			}
			if !errors.Is(err, kisi.ErrInvalidSignature) {
				t.Errorf("err = %v, want ErrInvalidSignature", err)
			}
		})
	}
}

func TestDecodeEvent(t *testing.T) {
	t.Parallel()
	created := time.Date(2022, 10, 6, 13, 49, 35, 0, time.UTC)
	tests := []struct {
		name    string
		body    string
		want    *kisi.Event
		wantErr bool
	}{
		{
			name: "docs sample with unknown keys",
			body: `{"uuid":"d7cf0237","actor_type":"User","actor_id":5,"actor_name":"Ann","object_type":"Lock","object_id":3,"object_name":"Front","organization_id":1,"place_id":2,"success":false,"type":"lock.unlock","error_code":"f358de","error_message":"not yet valid","created_at":"2022-10-06T13:49:35Z","brand_new":{"x":1}}`,
			want: &kisi.Event{UUID: "d7cf0237", ActorType: kisi.Ptr("User"), ActorID: kisi.Ptr[int64](5), ActorName: kisi.Ptr("Ann"), ObjectType: "Lock", ObjectID: 3, ObjectName: "Front", OrganizationID: 1, PlaceID: kisi.Ptr[int64](2), Type: "lock.unlock", ErrorCode: kisi.Ptr(kisi.CodeAccessNotYetValid), ErrorMessage: kisi.Ptr("not yet valid"), CreatedAt: created},
		},
		{name: "missing keys and nulls", body: `{"uuid":"u2","actor_id":null}`, want: &kisi.Event{UUID: "u2"}},
		{name: "wrapped", body: `{"event":{"uuid":"u3","type":"group.create"}}`, want: &kisi.Event{UUID: "u3", Type: "group.create"}},
		{name: "array", body: `[1]`, wantErr: true},
		{name: "empty", body: ``, wantErr: true},
		{name: "wrong type", body: `{"uuid":7}`, wantErr: true},
		{name: "broken", body: `{"uuid":`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := kisi.DecodeEvent([]byte(tc.body))
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func deliver(t *testing.T, h http.Handler, body, sig string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/hooks/kisi", strings.NewReader(body))
	if sig != "" {
		req.Header.Set(kisi.SignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func signed(body string) string { return "sha256=" + hex.EncodeToString(sign(webhookSecret, body)) }

func TestWebhookHandler(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got, failed []string
	failNext := true
	h, err := kisi.NewWebhookHandler(webhookSecret, func(ctx context.Context, ev *kisi.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if ev.UUID == "flaky" && failNext {
			failNext = false
			return errors.New("database down")
		}
		got = append(got, ev.UUID)
		return nil
	}, kisi.WithDedupeSize(2), kisi.WithMaxBodySize(512), kisi.WithWebhookErrorHandler(func(_ context.Context, ev *kisi.Event, err error) {
		mu.Lock()
		defer mu.Unlock()
		failed = append(failed, ev.UUID+": "+err.Error())
	}))
	require.NoError(t, err)

	ev := func(id string) string { return fmt.Sprintf(`{"uuid":%q,"type":"lock.unlock"}`, id) }
	steps := []struct {
		name string
		body string
		sig  string
		want int
	}{
		{"first delivery", ev("a"), signed(ev("a")), 200},
		{"repeat is dropped", ev("a"), signed(ev("a")), 200},
		{"bad signature", ev("b"), "sha256=" + strings.Repeat("0", 64), 401},
		{"missing signature", ev("b"), "", 401},
		{"undecodable", `[1,2]`, signed(`[1,2]`), 400},
		{"too large", ev(strings.Repeat("x", 600)), signed(ev(strings.Repeat("x", 600))), 413},
		// Acknowledged although the callback failed: Kisi does not
		// redeliver, and failing answers get the webhook disabled.
		{"callback fails", ev("flaky"), signed(ev("flaky")), 200},
		{"a repeated delivery after a failure is handled", ev("flaky"), signed(ev("flaky")), 200},
		{"b", ev("b"), signed(ev("b")), 200},
		{"c evicts a", ev("c"), signed(ev("c")), 200},
		{"a is handled again after eviction", ev("a"), signed(ev("a")), 200},
		{"c still remembered", ev("c"), signed(ev("c")), 200},
	}
	for _, s := range steps {
		if code := deliver(t, h, s.body, s.sig); code != s.want {
			t.Errorf("%s: status %d, want %d", s.name, code, s.want)
		}
	}
	if diff := cmp.Diff([]string{"a", "flaky", "b", "c", "a"}, got); diff != "" {
		t.Errorf("handled events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"flaky: database down"}, failed); diff != "" {
		t.Errorf("failed events (-want +got):\n%s", diff)
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hooks/kisi", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET status %d, want 405", rec.Code)
	}
	if s := fmt.Sprintf("%+v %#v", h, h); strings.Contains(s, webhookSecret) {
		t.Errorf("formatted handler shows the secret: %s", s)
	}
}

func TestNewWebhookHandlerErrors(t *testing.T) {
	t.Parallel()
	fn := func(context.Context, *kisi.Event) error { return nil }
	tests := []struct {
		name   string
		secret string
		fn     func(context.Context, *kisi.Event) error
		opts   []kisi.WebhookOption
	}{
		{name: "empty secret", fn: fn},
		{name: "nil callback", secret: "s"},
		{name: "zero dedupe size", secret: "s", fn: fn, opts: []kisi.WebhookOption{kisi.WithDedupeSize(0)}},
		{name: "zero body size", secret: "s", fn: fn, opts: []kisi.WebhookOption{kisi.WithMaxBodySize(0)}},
		{name: "nil error handler", secret: "s", fn: fn, opts: []kisi.WebhookOption{kisi.WithWebhookErrorHandler(nil)}},
		{name: "nil unsigned hint", fn: fn, opts: []kisi.WebhookOption{kisi.WithUnsignedDeliveries(nil)}},
		{name: "secret and unsigned deliveries", secret: "s", fn: fn, opts: []kisi.WebhookOption{kisi.WithUnsignedDeliveries(func(context.Context) {})}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := kisi.NewWebhookHandler(tc.secret, tc.fn, tc.opts...)
			require.Error(t, err)
		})
	}
}

// TestWebhookHandlerUnsigned (issue 31): Kisi makes the signature key of an
// integration optional. With WithUnsignedDeliveries a handler without a key
// answers 200 to unsigned deliveries and only prompts a catch-up: the event
// callback never sees a body nobody vouches for. Without the option an
// empty key is refused (the safe default); a handler with a key still
// answers 401 to an unsigned delivery.
func TestWebhookHandlerUnsigned(t *testing.T) {
	t.Parallel()
	body := `{"uuid":"forged","type":"lock.unlock"}`
	tests := []struct {
		name      string
		secret    string
		unsigned  bool
		sig       string
		wantNew   bool // constructor succeeds
		wantCode  int
		wantHints int
		wantCalls int
	}{
		{name: "no key, default refused"},
		{name: "no key, unsigned allowed", unsigned: true, wantNew: true, wantCode: 200, wantHints: 1},
		{name: "no key, a signature is ignored", unsigned: true, sig: "sha256=" + strings.Repeat("0", 64), wantNew: true, wantCode: 200, wantHints: 1},
		{name: "key, unsigned delivery", secret: webhookSecret, wantNew: true, wantCode: 401},
		{name: "key, signed delivery", secret: webhookSecret, sig: "signed", wantNew: true, wantCode: 200, wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hints, calls := 0, 0
			var opts []kisi.WebhookOption
			if tc.unsigned {
				opts = append(opts, kisi.WithUnsignedDeliveries(func(context.Context) { hints++ }))
			}
			h, err := kisi.NewWebhookHandler(tc.secret, func(context.Context, *kisi.Event) error { calls++; return nil }, opts...)
			if !tc.wantNew {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			sig := tc.sig
			if sig == "signed" {
				sig = signed(body)
			}
			require.Equal(t, tc.wantCode, deliver(t, h, body, sig))
			require.Equal(t, tc.wantHints, hints, "catch-up prompts")
			require.Equal(t, tc.wantCalls, calls, "events passed to the callback")
		})
	}
}

// FuzzDecodeEvent: any body decodes or fails cleanly; a decoded event
// re-encodes; and a signature check of it never panics.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		`{"uuid":"d7cf0237","actor_type":"User","actor_id":0,"object_type":"Lock","success":true,"type":"lock.unlock","error_code":null,"created_at":"2022-10-06T13:49:35Z"}`,
		`{"event":{"uuid":"u3"}}`,
		`{"uuid":7}`,
		`[]`, ``, `{`,
	} {
		f.Add([]byte(s), "sha256=00")
	}
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		ev, err := kisi.DecodeEvent(body)
		if err == nil && ev == nil {
			t.Fatal("nil event without error")
		}
		_ = kisi.VerifySignature(webhookSecret, body, header)
	})
}
