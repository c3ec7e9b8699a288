package kisitest

import (
	"math/rand"
	"net/http"
	"sync"
	"time"
)

// Faults makes the server misbehave at random, for reliability tests. The
// zero value injects nothing. Each request the faults apply to draws from a
// math/rand source seeded with Seed, so a client that sends its requests one
// at a time sees the same sequence of faults for the same seed.
type Faults struct {
	// Seed seeds the random source; SetFaults resets the source.
	Seed int64
	// ErrorRate is the share of requests (0 to 1) answered with 500 or 503
	// without being applied.
	ErrorRate float64
	// LostRate is the share of requests (0 to 1) that are applied and whose
	// response is then lost: answered with 500, or with a dropped connection
	// when DropConnection is set. The client cannot tell whether its request
	// happened, as when a real network fails after the server committed.
	LostRate float64
	// DropConnection makes lost responses close the connection without an
	// answer instead of answering 500.
	DropConnection bool
	// Latency delays every response by this long, measured on the server's
	// clock (see [WithClock]); a request whose context ends stops waiting.
	Latency time.Duration
	// Methods limits ErrorRate and LostRate to these HTTP methods; empty
	// means every method.
	Methods []string
}

// Fault is what an interceptor (see [Server.Intercept]) decides for one
// request. The zero value means "no fault": the request is handled normally
// and the random [Faults] still apply.
type Fault struct {
	// Status, when non-zero, answers the request with this status and an
	// error body without applying it (e.g. 500, 503 or 429).
	Status int
	// Lost applies the request and then fails the response with 500, or by
	// dropping the connection when Drop is also set.
	Lost bool
	// Drop, with Lost, closes the connection instead of answering 500.
	Drop bool
	// Latency delays the response by this long on the server's clock.
	Latency time.Duration
}

func (f Fault) isZero() bool { return f == Fault{} }

// Interceptor decides a [Fault] for a request before the server handles it.
// The request's body can be read; the server keeps its own copy. Path is the
// path below the server's prefix, e.g. "/role_assignments".
type Interceptor func(r *http.Request) Fault

type faultState struct {
	mu          sync.Mutex
	f           Faults
	rng         *rand.Rand
	intercept   Interceptor
	methodsOnly map[string]bool
}

func (fs *faultState) set(f Faults) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.f = f
	fs.rng = rand.New(rand.NewSource(f.Seed))
	fs.methodsOnly = nil
	if len(f.Methods) > 0 {
		fs.methodsOnly = make(map[string]bool, len(f.Methods))
		for _, m := range f.Methods {
			fs.methodsOnly[m] = true
		}
	}
}

func (fs *faultState) setInterceptor(i Interceptor) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.intercept = i
}

func (fs *faultState) interceptor() Interceptor {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.intercept
}

// draw decides the random fault for one request. Every request the faults
// apply to consumes exactly three numbers, so the sequence for a seed does
// not depend on which faults fired.
func (fs *faultState) draw(method string) Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := Fault{Latency: fs.f.Latency}
	if fs.rng == nil || (fs.f.ErrorRate <= 0 && fs.f.LostRate <= 0) {
		return out
	}
	if fs.methodsOnly != nil && !fs.methodsOnly[method] {
		return out
	}
	e, l, pick := fs.rng.Float64(), fs.rng.Float64(), fs.rng.Intn(2)
	switch {
	case e < fs.f.ErrorRate:
		out.Status = http.StatusInternalServerError
		if pick == 1 {
			out.Status = http.StatusServiceUnavailable
		}
	case l < fs.f.LostRate:
		out.Lost = true
		out.Drop = fs.f.DropConnection
	}
	return out
}
