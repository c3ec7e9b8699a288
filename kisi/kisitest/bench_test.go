package kisitest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// BenchmarkServer measures the fake's throughput over loopback HTTP with
// the rate limit off, one request at a time and from parallel clients.
func BenchmarkServer(b *testing.B) {
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	b.Cleanup(srv.Close)
	var group int64
	for i := range 50 {
		id, err := srv.AddGroup(fmt.Sprintf("g%d", i), 0)
		require.NoError(b, err)
		group = id
	}
	for i := range 50 {
		_, err := srv.AddUser(fmt.Sprintf("u%d@example.com", i), "", false)
		require.NoError(b, err)
	}
	client := srv.Client()
	do := func(b *testing.B, method, path, body string) int {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "KISI-LOGIN "+srv.APIKey)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	report := func(b *testing.B, n int) {
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "req/s")
	}

	b.Run("GET-group", func(b *testing.B) {
		b.ReportAllocs()
		path := fmt.Sprintf("/groups/%d", group)
		n := 0
		for b.Loop() {
			if do(b, "GET", path, "") != 200 {
				b.Fatal("status")
			}
			n++
		}
		report(b, n)
	})
	b.Run("GET-users-page", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if do(b, "GET", "/users?limit=50&email=u7@example.com", "") != 200 {
				b.Fatal("status")
			}
			n++
		}
		report(b, n)
	})
	b.Run("POST-DELETE-group", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			req, _ := http.NewRequest("POST", srv.URL+"/groups", strings.NewReader(`{"group":{"name":"tmp"}}`))
			req.Header.Set("Authorization", "KISI-LOGIN "+srv.APIKey)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var id int64
			_, _ = fmt.Fscanf(resp.Body, `{"id":%d`, &id)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if do(b, "DELETE", fmt.Sprintf("/groups/%d", id), "") != 204 {
				b.Fatal("delete")
			}
			n += 2
		}
		report(b, n)
	})
	b.Run("GET-group-parallel", func(b *testing.B) {
		b.ReportAllocs()
		path := fmt.Sprintf("/groups/%d", group)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if do(b, "GET", path, "") != 200 {
					b.Error("status")
					return
				}
			}
		})
		report(b, b.N)
	})
}
