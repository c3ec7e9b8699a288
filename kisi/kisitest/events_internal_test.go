package kisitest

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseInterval(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	tests := []struct {
		in       string
		from, to string
		bad      bool
	}{
		{in: "2026-03-01T00:00:00Z/2026-03-02T00:00:00Z", from: "2026-03-01T00:00:00Z", to: "2026-03-02T00:00:00Z"},
		{in: "2026-03-01T00:00:00Z/P1DT2H", from: "2026-03-01T00:00:00Z", to: "2026-03-02T02:00:00Z"},
		{in: "P1W/2026-03-08T00:00:00Z", from: "2026-03-01T00:00:00Z", to: "2026-03-08T00:00:00Z"},
		{in: "2026-01-31T00:00:00Z/P1M", from: "2026-01-31T00:00:00Z", to: "2026-03-03T00:00:00Z"},
		{in: "2026-03-01T00:00:00+01:00/PT30M", from: "2026-02-28T23:00:00Z", to: "2026-02-28T23:30:00Z"},
		{in: "P1D", bad: true},
		{in: "P/2026-03-01T00:00:00Z", bad: true},
		{in: "2026-03-01T00:00:00Z/PT", bad: true},
		{in: "2026-03-01T00:00:00Z/P1X", bad: true},
		{in: "yesterday/today", bad: true},
		{in: "2026-03-01T00:00:00Z/PT9999999999999H", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			from, to, msg := parseInterval(tc.in)
			if tc.bad {
				require.NotEmpty(t, msg)
				return
			}
			require.Empty(t, msg)
			require.True(t, at(tc.from).Equal(from), "from %s", from)
			require.True(t, at(tc.to).Equal(to), "to %s", to)
		})
	}
}

func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{
		"2026-03-01T00:00:00Z/2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z/P1DT2H3M4S",
		"P1Y2M3W4D/2026-03-08T00:00:00Z", "P1D", "/", "P/", "PT/2026-03-01T00:00:00Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, msg := parseInterval(s)
		if msg != "" {
			return
		}
		// Durations are never negative, so an accepted start/duration or
		// duration/end interval never ends before it starts.
		_, b, _ := strings.Cut(s, "/")
		a, _, _ := strings.Cut(s, "/")
		if (strings.HasPrefix(a, "P") || strings.HasPrefix(b, "P")) && to.Before(from) {
			t.Fatalf("parseInterval(%q) = %s, %s: ends before it starts", s, from, to)
		}
	})
}

func FuzzQREncode(f *testing.F) {
	f.Add([]byte("KISI:42"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := qrEncode(data)
		if len(data) > 106 {
			if err == nil {
				t.Fatalf("%d bytes accepted", len(data))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if n := len(m); n < 21 || n > 37 || (n-17)%4 != 0 {
			t.Fatalf("bad size %d", n)
		}
	})
}
