package kisi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/internal/forwardgen"
)

func TestForwardsGenerated(t *testing.T) {
	t.Parallel()
	want, err := forwardgen.Generate(".")
	require.NoError(t, err)
	got, err := os.ReadFile(forwardgen.OutputFile)
	require.NoError(t, err)
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is not what %s generates; run go generate ./kisi (-want +got):\n%s", forwardgen.OutputFile, forwardgen.TableFile, diff)
	}
}

// recorder answers every request with a 404 (never retried) and records
// what was sent.
type recorder struct {
	mu   sync.Mutex
	sent []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.sent = append(rc.sent, r.Method+" "+r.URL.RequestURI()+" "+string(body))
	rc.mu.Unlock()
	writeJSON(w, http.StatusNotFound, map[string]string{"code": "000404", "error": "not found"})
}

func (rc *recorder) take() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.sent
	rc.sent = nil
	return out
}

// argument returns a value of type t with its numbers and strings set, so
// that the requests a call sends depend on its arguments.
func argument(ctx context.Context, t reflect.Type) reflect.Value {
	if t == reflect.TypeFor[context.Context]() {
		return reflect.ValueOf(ctx)
	}
	v := reflect.New(t).Elem()
	fill(v)
	return v
}

func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.String:
		v.SetString("ann@example.com")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct {
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && v.Type().Field(i).Name != "ListOptions" {
				fill(v.Field(i))
			}
		}
	}
}

// call calls m with args and returns what it sent and what it returned; a
// function result (an iterator) is ranged over to its first value.
func call(rc *recorder, m reflect.Value, args []reflect.Value) (sent []string, returned string) {
	out := m.Call(args)
	var parts []any
	for _, r := range out {
		if r.Kind() == reflect.Func {
			stop := reflect.MakeFunc(r.Type().In(0), func(in []reflect.Value) []reflect.Value {
				parts = append(parts, in[len(in)-1].Interface())
				return []reflect.Value{reflect.ValueOf(false)}
			})
			r.Call([]reflect.Value{stop})
			continue
		}
		if e, ok := r.Interface().(error); ok {
			parts = append(parts, e.Error())
			continue
		}
		if r.Kind() == reflect.Pointer && !r.IsNil() {
			if _, ok := r.Interface().(*kisi.Response); ok {
				parts = append(parts, r.Elem().FieldByName("StatusCode").Interface())
				continue
			}
		}
		parts = append(parts, r.Interface())
	}
	return rc.take(), fmt.Sprint(parts...)
}

// TestForwardsForward calls every flat method of the table and the service
// method it names with the same arguments: each must send the same
// requests and return the same.
func TestForwardsForward(t *testing.T) {
	t.Parallel()
	table, err := forwardgen.ReadTable(".")
	require.NoError(t, err)
	require.NotEmpty(t, table)
	c, mux, _ := setup(t)
	rc := &recorder{}
	mux.Handle("/", rc)
	client := reflect.ValueOf(c)
	for _, fw := range table {
		t.Run(fw.Method, func(t *testing.T) {
			flat := client.MethodByName(fw.Method)
			require.True(t, flat.IsValid(), "kisi.Client has no method %s", fw.Method)
			svc := client.Elem().FieldByName(fw.Service).MethodByName(fw.ServiceMethod)
			require.True(t, svc.IsValid(), "no %s.%s", fw.Service, fw.ServiceMethod)
			require.Equal(t, svc.Type(), flat.Type(), "signatures")
			args := make([]reflect.Value, flat.Type().NumIn())
			for i := range args {
				args[i] = argument(t.Context(), flat.Type().In(i))
			}
			wantSent, wantRet := call(rc, svc, args)
			gotSent, gotRet := call(rc, flat, args)
			require.NotEmpty(t, wantSent, "the arguments make %s.%s send a request", fw.Service, fw.ServiceMethod)
			if diff := cmp.Diff(wantSent, gotSent); diff != "" {
				t.Errorf("requests (-%s.%s +%s):\n%s", fw.Service, fw.ServiceMethod, fw.Method, diff)
			}
			require.Equal(t, wantRet, gotRet, "results")
		})
	}
}
