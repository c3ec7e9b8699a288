package fleet

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
)

// TestSendLog: each request is logged once its connection is ready, after
// the hooks of the transports below (the shared limiter's, which may make
// it wait its turn again there); nothing is logged above DEBUG.
func TestSendLog(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		level slog.Level
		want  []time.Time
	}{
		{"debug", slog.LevelDebug, []time.Time{start.Add(time.Second)}},
		{"info", slog.LevelInfo, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(start)
			// waitAgain stands for the shared limiter's transport: its
			// hook takes a second when the connection comes.
			waitAgain := roundTripper(func(r *http.Request) (*http.Response, error) {
				return http.DefaultTransport.RoundTrip(r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{
					GotConn: func(httptrace.GotConnInfo) { clock.Advance(time.Second) },
				})))
			})
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tc.level}))
			c := &http.Client{Transport: sendLog{base: waitAgain, log: log, clock: clock, user: "u1"}}
			resp, err := c.Get(srv.URL + "/users")
			require.NoError(t, err)
			resp.Body.Close()
			var got []time.Time
			for line := range bytes.Lines(buf.Bytes()) {
				var l struct {
					Msg  string    `json:"msg"`
					User string    `json:"kisi_user"`
					Path string    `json:"path"`
					Sent time.Time `json:"sent"`
				}
				require.NoError(t, json.Unmarshal(line, &l))
				require.Equal(t, "kisi request sent", l.Msg)
				require.Equal(t, "u1", l.User)
				require.Equal(t, "/users", l.Path)
				got = append(got, l.Sent)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
