package kisi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Sentinel errors. An *Error matches the one for its status code with
// errors.Is; ErrMaybeApplied also wraps transport errors of POST requests.
var (
	// ErrNotFound matches a 404 response.
	ErrNotFound = errors.New("kisi: not found")
	// ErrUnauthorized matches a 401 response: the API key is missing, wrong
	// or revoked.
	ErrUnauthorized = errors.New("kisi: unauthorized")
	// ErrForbidden matches a 403 response: the key's user lacks the
	// permission.
	ErrForbidden = errors.New("kisi: forbidden")
	// ErrRateLimited matches a 429 response that persisted through every
	// retry.
	ErrRateLimited = errors.New("kisi: rate limited")
	// ErrValidation matches a 422 response; Error.Fields says which fields
	// were rejected.
	ErrValidation = errors.New("kisi: validation failed")
	// ErrConflict matches a 409 response.
	ErrConflict = errors.New("kisi: conflict")
	// ErrRejected matches every client-error response (400 to 499) except
	// 429: Kisi refused the request as sent, and repeating it unchanged will
	// not help. Callers that try an undocumented request (such as a PATCH of
	// a role's validity) fall back on a documented one when they see it.
	ErrRejected = errors.New("kisi: request rejected")
	// ErrMaybeApplied marks a create (POST) that failed in a way that does
	// not tell whether Kisi applied it: the connection broke after the
	// request was sent, or Kisi answered with a server error. The caller
	// should list and reconcile rather than blindly create again.
	ErrMaybeApplied = errors.New("kisi: request may have been applied")
	// ErrOffsetCap is returned by the …Iter methods when the next page lies
	// beyond Kisi's offset cap (MaxOffset): narrow the filter (per group,
	// place or assignee) to read the rest.
	ErrOffsetCap = errors.New("kisi: offset cap of 20000 reached, narrow the filter")
	// ErrEmailTaken matches the answer to a user create whose email
	// already belongs to a Kisi user: a 422 on "email", or a 200 that
	// returns the existing user ([EmailTakenError]; see
	// [UsersService.Create]). Kisi does not document which of the two it
	// sends.
	ErrEmailTaken = errors.New("kisi: email already taken")
)

// Error is a response from Kisi with a status of 400 or above.
//
// Kisi sends one of two bodies: {"code": "...", "error": "..."} (Code and
// Message) or, for 422, {"errors": {"field": ["message", ...]}} (Fields).
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is Kisi's error code, if the body had one; see ErrorCode.
	Code ErrorCode
	// Message is Kisi's human-readable message, if any.
	Message string
	// Fields maps a rejected field to its messages (422 responses).
	Fields map[string][]string
	// RequestID is the server's request identifier, if it sent one.
	RequestID string
	// Method and Endpoint name the call, e.g. "POST" and "/role_assignments".
	// Endpoint is a path template without query values.
	Method, Endpoint string
	// MaybeApplied is true for a failed POST whose effect is unknown (a 5xx
	// answer); errors.Is(err, ErrMaybeApplied) reports it.
	MaybeApplied bool
}

// Error implements error. The text holds no URL query values and no
// credentials.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kisi: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteString(" ")
		b.WriteString(e.Endpoint)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%d %s", e.StatusCode, strings.ToLower(http.StatusText(e.StatusCode)))
	if e.Code != "" {
		fmt.Fprintf(&b, " (code %s)", string(e.Code))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(strings.TrimRight(e.Message, ". "))
	}
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i == 0 {
				b.WriteString(": ")
			} else {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s %s", k, strings.Join(e.Fields[k], ", "))
		}
	}
	if e.MaybeApplied {
		b.WriteString(" (the request may have been applied)")
	}
	return b.String()
}

// Is reports whether target is the sentinel for e's status code, or
// ErrMaybeApplied when e.MaybeApplied is set.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrValidation:
		return e.StatusCode == http.StatusUnprocessableEntity
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrRejected:
		return e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != http.StatusTooManyRequests
	case ErrMaybeApplied:
		return e.MaybeApplied
	case ErrEmailTaken:
		return e.StatusCode == http.StatusUnprocessableEntity && len(e.Fields["email"]) > 0
	}
	return false
}

// EmailTakenError is a user create that Kisi answered with 200 and a user
// that the request did not create: the existing user with that email (its
// metadata lacks what the request sent). It matches [ErrEmailTaken].
type EmailTakenError struct {
	// Existing is the user Kisi returned.
	Existing *User
}

// Error implements error; the text names the user by id only.
func (e *EmailTakenError) Error() string {
	return fmt.Sprintf("kisi: POST /users: 200 with the existing user %d: email already taken", e.Existing.ID)
}

// Is reports whether target is ErrEmailTaken.
func (e *EmailTakenError) Is(target error) bool { return target == ErrEmailTaken }

// errorBody is the union of Kisi's error shapes.
type errorBody struct {
	Code   string          `json:"code"`
	Error  string          `json:"error"`
	Errors json.RawMessage `json:"errors"`
}

// CheckResponse returns nil for a status below 400 and an *Error otherwise,
// filled from the body (read through a size limit and left unclosed).
func CheckResponse(r *http.Response) error {
	if r == nil {
		return errors.New("kisi: check response: nil response")
	}
	method, endpoint := "", ""
	if r.Request != nil {
		method = r.Request.Method
		if r.Request.URL != nil {
			endpoint = r.Request.URL.Path
		}
	}
	return checkResponse(r, method, endpoint)
}

func checkResponse(r *http.Response, method, endpoint string) error {
	if r.StatusCode < 400 {
		return nil
	}
	e := &Error{
		StatusCode: r.StatusCode,
		RequestID:  requestID(r.Header),
		Method:     method,
		Endpoint:   endpoint,
	}
	if r.Body != nil {
		data, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBody))
		parseErrorBody(data, e)
	}
	return e
}

// parseErrorBody fills e from any of Kisi's error bodies; an unparsable body
// leaves e as it is.
func parseErrorBody(data []byte, e *Error) {
	var body errorBody
	if len(data) == 0 || json.Unmarshal(data, &body) != nil {
		return
	}
	e.Code = ErrorCode(body.Code)
	e.Message = body.Error
	if len(body.Errors) == 0 {
		return
	}
	// {"errors": {"field": ["msg", ...]}} is the documented shape; accept a
	// single string per field and a bare list of messages too.
	var fields map[string]json.RawMessage
	if json.Unmarshal(body.Errors, &fields) == nil {
		e.Fields = make(map[string][]string, len(fields))
		for k, raw := range fields {
			var msgs []string
			if json.Unmarshal(raw, &msgs) == nil {
				e.Fields[k] = msgs
				continue
			}
			var msg string
			if json.Unmarshal(raw, &msg) == nil {
				e.Fields[k] = []string{msg}
			}
		}
		return
	}
	var msgs []string
	if json.Unmarshal(body.Errors, &msgs) == nil && e.Message == "" {
		e.Message = strings.Join(msgs, "; ")
	}
}
