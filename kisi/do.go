package kisi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Request is a call to a Kisi endpoint this package does not wrap (yet),
// made with [Client.Do].
type Request struct {
	// Method is GET, POST, PUT, PATCH or DELETE.
	Method string
	// Path is the endpoint's path below the base URL, e.g. "floors" or
	// "floors/12" (a leading slash is dropped). It holds no query, no
	// fragment, no scheme and no "." or ".." segment.
	Path string
	// Query holds the query parameters, limit and offset included; nil
	// for none.
	Query url.Values
	// Body, when non-nil, is sent as JSON. Kisi expects it wrapped in the
	// resource's singular key, e.g. map[string]any{"floor": floor}.
	Body any
}

// Do sends req through the same path as every other call of c: the API
// key's Authorization header, the rate limiter, the retry policy (a POST is
// retried on 429 only, and a POST that failed with a server error matches
// [ErrMaybeApplied]) and the typed errors ([*Error], [ErrNotFound], ...). It
// is for endpoints this package does not wrap; prefer a service's method
// where there is one.
//
// A successful body is decoded as JSON into v when v is non-nil (a
// pointer, as for json.Unmarshal); a 204 leaves v as it is. The returned
// [Response] carries the status, the headers and Total from
// X-Collection-Range; its NextOffset is 0 (page on with req.Query's
// "offset"). Errors and logs name the endpoint by its path with numeric
// segments written as {id} and never hold the API key or query values.
func (c *Client) Do(ctx context.Context, req *Request, v any) (*Response, error) {
	if req == nil {
		return nil, errors.New("kisi: do: nil request")
	}
	method := strings.ToUpper(req.Method)
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return nil, fmt.Errorf("kisi: do: unsupported method %q", req.Method)
	}
	path, endpoint, err := requestPath(req.Path)
	if err != nil {
		return nil, fmt.Errorf("kisi: %s: %w", method, err)
	}
	return c.do(ctx, request{method: method, path: path, endpoint: endpoint, query: req.Query, body: req.Body}, v)
}

// requestPath checks the path of a [Request] and returns it without a
// leading slash, and its template for logs and errors: "/floors/{id}".
func requestPath(p string) (path, endpoint string, err error) {
	path = strings.TrimPrefix(p, "/")
	if path == "" || strings.ContainsAny(path, "?#\\") || strings.Contains(path, "://") {
		return "", "", fmt.Errorf("invalid path %q: want a path below the base url, such as \"floors/12\"", p)
	}
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	for i, s := range segs {
		switch {
		case s == "" || s == "." || s == "..":
			return "", "", fmt.Errorf("invalid path %q: empty, \".\" or \"..\" segment", p)
		case digits(s):
			segs[i] = "{id}"
		default:
			segs[i] = s
		}
	}
	return path, "/" + strings.Join(segs, "/"), nil
}
