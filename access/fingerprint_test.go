package access

import (
	"reflect"
	"testing"
	"time"

	"github.com/kisisync/kisisync/access/state"
)

// TestFingerprintCoversEveryField: a change to any field of any record
// makes a plan stale, fields added later included.
func TestFingerprintCoversEveryField(t *testing.T) {
	t.Parallel()
	base := []state.Record{{Key: "role/1/a@example.com", Kind: state.KindRole}}
	want := fingerprint("org", base)
	typ := reflect.TypeFor[state.Record]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			recs := []state.Record{base[0]}
			v := reflect.ValueOf(&recs[0]).Elem().Field(i)
			switch v.Kind() {
			case reflect.String:
				v.SetString(v.String() + "x")
			case reflect.Int, reflect.Int64:
				v.SetInt(v.Int() + 7)
			case reflect.Bool:
				v.SetBool(!v.Bool())
			case reflect.Slice:
				v.Set(reflect.Append(v, reflect.New(v.Type().Elem()).Elem()))
			case reflect.Pointer:
				v.Set(reflect.New(v.Type().Elem()))
			case reflect.Struct:
				switch x := v.Addr().Interface().(type) {
				case *time.Time:
					*x = time.Unix(1e9, 0)
				default:
					v.Field(0).Set(reflect.ValueOf(time.Unix(1e9, 0)))
				}
			default:
				t.Fatalf("field %s of kind %s: extend the test", f.Name, v.Kind())
			}
			if fingerprint("org", recs) == want {
				t.Errorf("changing %s leaves the fingerprint unchanged", f.Name)
			}
		})
	}
}
