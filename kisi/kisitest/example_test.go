package kisitest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// send is a bare Kisi request with the key, as any HTTP client would make.
func send(srv *kisitest.Server, method, path, body string) (*http.Response, error) {
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "KISI-LOGIN "+srv.APIKey)
	req.Header.Set("Content-Type", "application/json")
	return srv.Client().Do(req)
}

func ExampleNewServer() {
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	defer srv.Close()

	resp, err := send(srv, http.MethodPost, "/groups", `{"group":{"name":"Members"}}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	var g struct {
		Name       string `json:"name"`
		UsersCount int    `json:"users_count"`
	}
	err = json.NewDecoder(resp.Body).Decode(&g)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, g.Name, g.UsersCount, err)

	resp, err = send(srv, http.MethodGet, "/groups", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("X-Collection-Range"))

	resp, err = send(srv, http.MethodPost, "/places", `{"place":{"name":"HQ"}}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	fmt.Println(srv.Count(http.MethodPost, "/"))
	// Output:
	// 200 Members 0 <nil>
	// 200 0-9/1
	// 422 {"errors":{"address":["can't be blank"]}}
	// 2
}

func ExampleServer_SetFaults() {
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	defer srv.Close()

	// Every POST is applied, but its answer is lost.
	srv.SetFaults(kisitest.Faults{Seed: 1, LostRate: 1, Methods: []string{http.MethodPost}})
	resp, err := send(srv, http.MethodPost, "/groups", `{"group":{"name":"Members"}}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("create:", resp.StatusCode)

	resp, err = send(srv, http.MethodGet, "/groups", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("groups:", resp.Header.Get("X-Collection-Range"))
	// Output:
	// create: 500
	// groups: 0-9/1
}
