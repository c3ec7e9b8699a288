package kisi_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
)

// TestErrorShapes: every error body Kisi uses, and bodies it should not
// use, become an *Error matching the right sentinels.
func TestErrorShapes(t *testing.T) {
	t.Parallel()
	all := []error{kisi.ErrNotFound, kisi.ErrUnauthorized, kisi.ErrForbidden, kisi.ErrRateLimited, kisi.ErrValidation, kisi.ErrConflict, kisi.ErrMaybeApplied}
	tests := []struct {
		name    string
		method  string
		status  int
		body    string
		want    *kisi.Error
		wantIs  error // the one sentinel (of all) that must match; nil: none
		wantMsg string
	}{
		{
			name: "404 code and error", method: "GET", status: 404, body: `{"error":"Not found.","code":"ffffff"}`,
			want:   &kisi.Error{StatusCode: 404, Code: kisi.CodeUnexpected, Message: "Not found.", Method: "GET", Endpoint: "/groups/{id}"},
			wantIs: kisi.ErrNotFound, wantMsg: "kisi: GET /groups/{id}: 404 not found (code ffffff): Not found",
		},
		{
			name: "401", method: "GET", status: 401, body: `{"error":"Wrong email address or password.","code":"afc516"}`,
			want:   &kisi.Error{StatusCode: 401, Code: kisi.CodeWrongCredentials, Message: "Wrong email address or password.", Method: "GET", Endpoint: "/groups/{id}"},
			wantIs: kisi.ErrUnauthorized,
		},
		{
			name: "403", method: "GET", status: 403, body: `{"error":"Forbidden","code":"afc496"}`,
			want:   &kisi.Error{StatusCode: 403, Code: kisi.CodeAccessDenied, Message: "Forbidden", Method: "GET", Endpoint: "/groups/{id}"},
			wantIs: kisi.ErrForbidden,
		},
		{
			name: "409", method: "GET", status: 409, body: `{"error":"Conflict","code":"fad110"}`,
			want:   &kisi.Error{StatusCode: 409, Code: kisi.CodeDoorUnlockScheduled, Message: "Conflict", Method: "GET", Endpoint: "/groups/{id}"},
			wantIs: kisi.ErrConflict,
		},
		{
			name: "422 errors map", method: "POST", status: 422, body: `{"errors":{"email":["can't be blank or invalid"],"password":["can't be blank"]}}`,
			want:    &kisi.Error{StatusCode: 422, Method: "POST", Endpoint: "/groups", Fields: map[string][]string{"email": {"can't be blank or invalid"}, "password": {"can't be blank"}}},
			wantIs:  kisi.ErrValidation,
			wantMsg: "kisi: POST /groups: 422 unprocessable entity: email can't be blank or invalid; password can't be blank",
		},
		{
			name: "422 single string per field", method: "POST", status: 422, body: `{"errors":{"user":"has already a role"}}`,
			want:   &kisi.Error{StatusCode: 422, Method: "POST", Endpoint: "/groups", Fields: map[string][]string{"user": {"has already a role"}}},
			wantIs: kisi.ErrValidation,
		},
		{
			name: "422 list of messages", method: "POST", status: 422, body: `{"errors":["Name is taken"]}`,
			want:   &kisi.Error{StatusCode: 422, Method: "POST", Endpoint: "/groups", Message: "Name is taken"},
			wantIs: kisi.ErrValidation,
		},
		{
			name: "429 empty body", method: "GET", status: 429, body: ``,
			want:   &kisi.Error{StatusCode: 429, Method: "GET", Endpoint: "/groups/{id}"},
			wantIs: kisi.ErrRateLimited,
		},
		{
			name: "500 html body", method: "GET", status: 500, body: `<html>oops</html>`,
			want: &kisi.Error{StatusCode: 500, Method: "GET", Endpoint: "/groups/{id}"},
		},
		{
			name: "500 on create may be applied", method: "POST", status: 500, body: `{"error":"Unexpected issue","code":"ffffff"}`,
			want:   &kisi.Error{StatusCode: 500, Code: "ffffff", Message: "Unexpected issue", Method: "POST", Endpoint: "/groups", MaybeApplied: true},
			wantIs: kisi.ErrMaybeApplied,
		},
		{
			name: "400 with request id", method: "GET", status: 400, body: `{"error":"Bad request","code":"ffffff"}`,
			want: &kisi.Error{StatusCode: 400, Code: "ffffff", Message: "Bad request", Method: "GET", Endpoint: "/groups/{id}", RequestID: "req-1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			h := func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "req-1")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}
			mux.HandleFunc("/groups/1", h)
			mux.HandleFunc("/groups", h)
			var err error
			var resp *kisi.Response
			if tc.method == "POST" {
				_, resp, err = c.Groups.Create(t.Context(), &kisi.GroupCreateRequest{Name: "x"})
			} else {
				_, resp, err = c.Groups.Get(t.Context(), 1)
			}
			require.Error(t, err)
			require.NotNil(t, resp)
			if resp.StatusCode != tc.status {
				t.Errorf("response status = %d, want %d", resp.StatusCode, tc.status)
			}
			var apiErr *kisi.Error
			require.ErrorAs(t, err, &apiErr)
			if tc.want.RequestID == "" {
				tc.want.RequestID = "req-1"
			}
			if diff := cmp.Diff(tc.want, apiErr, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			for _, s := range all {
				if got, want := errors.Is(err, s), s == tc.wantIs; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, want)
				}
			}
			if tc.wantMsg != "" && err.Error() != tc.wantMsg {
				t.Errorf("Error() = %q, want %q", err.Error(), tc.wantMsg)
			}
		})
	}
}

// TestErrRejected: every 4xx answer but 429 matches ErrRejected, so that a
// caller trying an undocumented request can fall back on any refusal.
func TestErrRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		want   bool
	}{
		{400, true}, {401, true}, {403, true}, {404, true}, {405, true}, {409, true}, {422, true},
		{429, false}, {499, true}, {500, false}, {503, false}, {399, false},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			t.Parallel()
			err := error(&kisi.Error{StatusCode: tc.status})
			if got := errors.Is(err, kisi.ErrRejected); got != tc.want {
				t.Errorf("errors.Is(%d, ErrRejected) = %v, want %v", tc.status, got, tc.want)
			}
		})
	}
}

func TestCheckResponse(t *testing.T) {
	t.Parallel()
	req, err := http.NewRequest(http.MethodGet, "https://api.kisi.io/users?email=a%40b.c", nil)
	require.NoError(t, err)
	ok := &http.Response{StatusCode: 204, Request: req, Header: http.Header{}}
	require.NoError(t, kisi.CheckResponse(ok))
	bad := &http.Response{StatusCode: 404, Request: req, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"code":"ffffff","error":"gone"}`))}
	err = kisi.CheckResponse(bad)
	if !errors.Is(err, kisi.ErrNotFound) {
		t.Errorf("CheckResponse = %v, want ErrNotFound", err)
	}
	if got, want := err.Error(), "kisi: GET /users: 404 not found (code ffffff): gone"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	require.Error(t, kisi.CheckResponse(nil))
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code      kisi.ErrorCode
		wantDesc  string
		wantCause string
		wantStr   string
	}{
		{kisi.CodeAccessNotYetValid, "Access not yet valid, try later", "the role assignment or link is not valid yet (valid_from is in the future)", "f358de (Access not yet valid, try later)"},
		{kisi.CodeAccessNoLongerValid, "Access no longer valid", "the role assignment or link has expired (valid_until has passed)", "f35ade (Access no longer valid)"},
		{kisi.CodeAccessDisabled, "Access disabled", "the user has access_enabled=false", "fcd8ff (Access disabled)"},
		{kisi.CodePlaceLockedDown, "Place locked down", "a lockdown of the place", "fad002 (Place locked down)"},
		{kisi.CodeWrongCredentials, "Wrong email or password / 2FA pin invalid", "", "afc516 (Wrong email or password / 2FA pin invalid)"},
		{"zzz999", "", "", "zzz999"},
	}
	for _, tc := range tests {
		t.Run(string(tc.code), func(t *testing.T) {
			t.Parallel()
			got := []string{tc.code.Description(), tc.code.LikelyCause(), tc.code.String()}
			want := []string{tc.wantDesc, tc.wantCause, tc.wantStr}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tc.code.Known() != (tc.wantDesc != "") {
				t.Errorf("Known() = %v", tc.code.Known())
			}
		})
	}
}
