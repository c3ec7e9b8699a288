package kisi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

func ExampleNewClient() {
	srv := kisitest.NewServer() // a fake Kisi; use kisi.DefaultBaseURL in production
	defer srv.Close()

	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	me, _, err := c.Users.Current(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.ID == srv.OwnerID())
	// Formatting the client never shows the key.
	fmt.Println(strings.Replace(fmt.Sprintf("%+v", c), srv.URL, "<fake>", 1))
	// Output:
	// true
	// kisi.Client{BaseURL: <fake>/, APIKey: REDACTED}
}

func ExampleRoleAssignmentsService_Create() {
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	defer srv.Close()
	groupID, _ := srv.AddGroup("Meeting room", 0)
	userID, _ := srv.AddUser("ann@example.com", "Ann", false)
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	from := time.Date(2030, 3, 2, 13, 55, 0, 0, time.UTC)
	until := time.Date(2030, 3, 2, 15, 5, 0, 0, time.UTC)
	req := &kisi.RoleAssignmentCreateRequest{
		RoleID:        kisi.RoleGroupBasic,
		AppliesToType: kisi.ScopeGroup, AppliesToID: groupID,
		AssigneeType: kisi.AssigneeUser, AssigneeID: userID,
		ValidFrom: kisi.Ptr(from), ValidUntil: kisi.Ptr(until),
	}
	ra, _, err := c.RoleAssignments.Create(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ra.RoleID, ra.ValidFrom.Format(time.RFC3339), ra.ValidUntil.Format(time.RFC3339))

	// A user holds at most one role per group.
	_, _, err = c.RoleAssignments.Create(ctx, req)
	fmt.Println(errors.Is(err, kisi.ErrValidation))
	// Output:
	// group_basic 2030-03-02T13:55:00Z 2030-03-02T15:05:00Z
	// true
}

func ExampleGroupLinksService_Create() {
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	defer srv.Close()
	groupID, _ := srv.AddGroup("Hot desks", 0)
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))
	if err != nil {
		log.Fatal(err)
	}
	link, _, err := c.GroupLinks.Create(context.Background(), &kisi.GroupLinkCreateRequest{
		GroupID:               groupID,
		Name:                  "Day pass: Bob",
		Email:                 kisi.Ptr("bob@example.com"),
		QuickResponseCodeType: kisi.Ptr(kisi.QROnline),
	})
	if err != nil {
		log.Fatal(err)
	}
	png, _ := base64.StdEncoding.DecodeString(*link.QuickResponseCodeImage)
	fmt.Println(link.Secret != nil, strings.HasPrefix(string(png), "\x89PNG"))
	// Output: true true
}

func ExampleUsersService_ListIter() {
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	defer srv.Close()
	for i := range 120 {
		_, _ = srv.AddUser(fmt.Sprintf("member%03d@example.com", i), "", true)
	}
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	for u, err := range c.Users.ListIter(context.Background(), nil) {
		if err != nil {
			log.Fatal(err)
		}
		if strings.HasPrefix(u.Email, "member") {
			n++
		}
	}
	fmt.Println(n, srv.Count("GET", "/users"))
	// Output: 120 2
}

func ExampleErrorCode_Description() {
	code := kisi.ErrorCode("f358de") // the error_code of a failed unlock event
	fmt.Println(code.Description())
	fmt.Println(code.LikelyCause())
	// Output:
	// Access not yet valid, try later
	// the role assignment or link is not valid yet (valid_from is in the future)
}

func ExampleVerifySignature() {
	secret := "signature-key-of-the-integration"
	body := []byte(`{"uuid":"d7cf0237","type":"lock.unlock","success":true}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	header := "sha256=" + hex.EncodeToString(mac.Sum(nil)) // as sent in X-Signature

	fmt.Println(kisi.VerifySignature(secret, body, header))
	fmt.Println(kisi.VerifySignature(secret, body, header[:20]))
	// Output:
	// <nil>
	// kisi: invalid webhook signature: not hex or base64
}

func ExampleWebhookHandler() {
	h, err := kisi.NewWebhookHandler("signature-key", func(ctx context.Context, ev *kisi.Event) error {
		if ev.Type == kisi.EventLockUnlock && !ev.Success && ev.ErrorCode != nil {
			fmt.Println("unlock failed:", ev.ErrorCode.Description())
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	body := `{"uuid":"e1","type":"lock.unlock","success":false,"error_code":"f35ade"}`
	mac := hmac.New(sha256.New, []byte("signature-key"))
	mac.Write([]byte(body))
	for range 2 { // Kisi may deliver an event twice
		req := httptest.NewRequest(http.MethodPost, "/kisi/events", strings.NewReader(body))
		req.Header.Set(kisi.SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// unlock failed: Access no longer valid
	// 200
	// 200
}

// Two clients whose keys belong to one Kisi user share that user's budget
// of 5 requests per second through one limiter.
func ExampleWithLimiter() {
	srv := kisitest.NewServer()
	defer srv.Close()
	shared := rate.NewLimiter(kisi.DefaultRateLimit, kisi.DefaultBurst)
	syncer, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithLimiter(shared))
	if err != nil {
		log.Fatal(err)
	}
	reports, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithLimiter(shared),
		kisi.WithIntegration("acme-coworking", "ops@acme.example"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_, _, err1 := syncer.Organization.Get(ctx)
	_, _, err2 := reports.Organization.Get(ctx)
	fmt.Println(err1, err2)
	// Output:
	// <nil> <nil>
}

// A host catches up on events its webhook missed, from the cursor it
// stored after the previous catch-up.
func ExampleEventSetsService_CatchUp() {
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	defer srv.Close()
	placeID, _ := srv.AddPlace("HQ", "Europe/Berlin")
	lockID, _ := srv.AddLock(placeID, "Front door")
	userID, _ := srv.AddUser("ann@example.com", "Ann", true)
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for i := range 3 {
		_, _ = srv.RecordUnlock(kisitest.Unlock{UserID: userID, LockID: lockID, At: t0.Add(time.Duration(i) * time.Minute)})
	}
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))
	if err != nil {
		log.Fatal(err)
	}
	stored := kisi.EventCursor{After: t0} // the host's stored cursor
	filter := &kisi.EventSetCreateRequest{EventType: kisi.Ptr(kisi.EventLockUnlock)}
	next, err := c.EventSets.CatchUp(context.Background(), filter, stored, time.Now(), func(_ context.Context, page []*kisi.Event) error {
		for _, ev := range page { // newest first
			fmt.Println(ev.Type, ev.CreatedAt.Sub(t0))
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(next.After.Sub(t0), len(next.UUIDs))
	// Output:
	// lock.unlock 2m0s
	// lock.unlock 1m0s
	// lock.unlock 0s
	// 2m0s 1
}
