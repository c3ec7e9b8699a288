package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// inputError is bad input: it names the file, the record and the field, and
// is printed as it is (no wrapping, no stack trace).
type inputError struct {
	file string
	msgs []string
}

func (e *inputError) Error() string {
	var b strings.Builder
	for i, m := range e.msgs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.file + ": " + m)
	}
	return b.String()
}

// maxInputErrors bounds how many problems of one file are listed.
const maxInputErrors = 20

func (e *inputError) add(format string, args ...any) {
	switch {
	case len(e.msgs) < maxInputErrors:
		e.msgs = append(e.msgs, fmt.Sprintf(format, args...))
	case len(e.msgs) == maxInputErrors:
		e.msgs = append(e.msgs, "… (more problems not shown)")
	}
}

func (e *inputError) err() error {
	if len(e.msgs) == 0 {
		return nil
	}
	return e
}

// readFile reads path and reports errors with the file's base name.
func readFile(path string) ([]byte, string, error) {
	name := filepath.Base(path)
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxFileSize {
		return nil, name, &inputError{file: path, msgs: []string{fmt.Sprintf("%d MiB is over the limit of %d MiB for an input file", fi.Size()>>20, maxFileSize>>20)}}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, name, &inputError{file: path, msgs: []string{err.Error()}}
	}
	return b, name, nil
}

// snapshotFields names the lists of a snapshot file, in file order.
var snapshotFields = []struct {
	key  string
	kind string // access.RecordError.Kind of its records
}{
	{"locations", access.KindLocation},
	{"resources", access.KindResource},
	{"members", access.KindMember},
	{"teams", access.KindTeam},
	{"plans", access.KindPlan},
	{"allowances", access.KindAllowance},
	{"bookings", access.KindBooking},
	{"assignments", access.KindAssignment},
	{"check_ins", access.KindCheckIn},
}

// Input limits. Kisi documents no limits of its own on names and emails;
// these keep a broken export from exhausting the machine or becoming a
// Kisi user's name.
const (
	// maxFileSize bounds each input file.
	maxFileSize = 256 << 20
	// maxRecords bounds each list of a snapshot (the library is measured up
	// to a million bookings; see BENCHMARKS.md).
	maxRecords = 2_000_000
	// maxText bounds every string of a record, in characters: ids, emails,
	// names. An email is at most 254 characters (RFC 5321).
	maxText = 254
)

// recordProblem is a snapshot record the library rejects (or, for a shared
// email, merges): it is reported with its remedy, and the valid records are
// still synced, as [access.Reconciler.Sync] does.
type recordProblem struct {
	msg    string // `snapshot.json: members[7] (id "m-x"): email "x": invalid email`
	remedy string
	// warning is set for a problem that leaves the record served (a shared
	// email): it does not change the exit code.
	warning bool
}

func (p recordProblem) String() string {
	if p.warning {
		return p.msg + " (synced, merged: " + p.remedy + ")"
	}
	return p.msg + " (not synced: " + p.remedy + ")"
}

// loadSnapshot reads and checks a snapshot file. Every record is decoded
// field by field, so a problem is reported as
// `snapshot.json: bookings[3] (id "bk9"): end: cannot parse "2026-13-01" as RFC 3339`;
// any such problem of form fails the whole file (the error matches
// *inputError). Records the access package rejects (unknown member, end
// before start…) are not an error: they are returned as problems, named
// the same way, and the valid records are used.
func loadSnapshot(path string) (access.Snapshot, []recordProblem, error) {
	var s access.Snapshot
	b, name, err := readFile(path)
	if err != nil {
		return s, nil, err
	}
	ie := &inputError{file: name}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		ie.add("%s", syntaxMessage(b, err, "a JSON object with lists of locations, resources, members, …"))
		return s, nil, ie
	}
	dst := reflect.ValueOf(&s).Elem()
	known := map[string]bool{}
	for _, f := range snapshotFields {
		known[f.key] = true
	}
	for _, k := range sortedKeys(top) {
		if !known[k] {
			ie.add("unknown field %q (want one of %s)", k, fieldList())
		}
	}
	for _, f := range snapshotFields {
		raw, ok := top[f.key]
		if !ok || isNull(raw) {
			continue
		}
		field := fieldByTag(dst, f.key)
		decodeList(ie, f.key, raw, field)
	}
	if err := ie.err(); err != nil {
		return access.Snapshot{}, nil, err
	}
	// The published schema is checked too, so that what it accepts and what
	// the CLI reads stay one thing.
	if err := checkSchema(ie, "snapshot", b); err != nil {
		return access.Snapshot{}, nil, err
	}
	if err := ie.err(); err != nil {
		return access.Snapshot{}, nil, err
	}
	return s, recordProblems(s, name), nil
}

// recordProblems are the records of s that the access package rejects or
// merges, judged as Sync judges them, each named by its place in the file.
func recordProblems(s access.Snapshot, file string) []recordProblem {
	_, derr := access.Desired(s, mapping.Mapping{}, access.DefaultPolicy(), time.Time{})
	var out []recordProblem
	dups := map[[2]string]int{} // duplicates of a kind and id reported so far
	for _, re := range access.RecordErrors(derr) {
		p := recordProblem{remedy: re.Remedy(), warning: errors.Is(re.Err, access.ErrSharedEmail)}
		if errors.Is(re.Err, access.ErrDuplicateID) {
			// The duplicate is the later record: the n-th duplicate error of
			// an id is its (n+1)-th record.
			k := [2]string{re.Kind, re.ID}
			dups[k]++
			p.msg = fmt.Sprintf("%s: %s: %v (the first is %s)", file, recordName(s, re.Kind, re.ID, dups[k]), re.Err, recordName(s, re.Kind, re.ID, 0))
		} else {
			p.msg = fmt.Sprintf("%s: %s: %v", file, recordName(s, re.Kind, re.ID, 0), re.Err)
		}
		out = append(out, p)
	}
	if len(out) == 0 && derr != nil {
		out = append(out, recordProblem{msg: fmt.Sprintf("%s: %v", file, derr), remedy: "correct the record in the platform's data"})
	}
	return out
}

func fieldList() string {
	var ks []string
	for _, f := range snapshotFields {
		ks = append(ks, f.key)
	}
	return strings.Join(ks, ", ")
}

// recordName renders a record as `bookings[3] (id "bk9")` from its kind and
// id, finding its position in the snapshot: of the records with that id, the
// one at index nth (0 for the first).
func recordName(s access.Snapshot, kind, id string, nth int) string {
	v := reflect.ValueOf(s)
	for _, f := range snapshotFields {
		if f.kind != kind {
			continue
		}
		list := fieldByTag(v, f.key)
		for i := range list.Len() {
			if list.Index(i).FieldByName("ID").String() != id {
				continue
			}
			if nth == 0 {
				return fmt.Sprintf("%s[%d] (id %q)", f.key, i, id)
			}
			nth--
		}
		return fmt.Sprintf("%s (id %q)", f.key, id)
	}
	return fmt.Sprintf("%s %q", kind, id)
}

// decodeList decodes a JSON list of records into the slice field, one field
// at a time, adding a message to ie for every problem.
func decodeList(ie *inputError, key string, raw json.RawMessage, field reflect.Value) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		ie.add("%s: want a list of records, got %s", key, jsonKind(raw))
		return
	}
	if len(items) > maxRecords {
		ie.add("%s: %d records is over the limit of %d", key, len(items), maxRecords)
		return
	}
	elem := field.Type().Elem()
	out := reflect.MakeSlice(field.Type(), len(items), len(items))
	for i, item := range items {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(item, &obj); err != nil || obj == nil {
			ie.add("%s[%d]: want an object, got %s", key, i, jsonKind(item))
			continue
		}
		name := fmt.Sprintf("%s[%d]", key, i)
		if rawID, ok := obj["id"]; ok {
			var id string
			if json.Unmarshal(rawID, &id) == nil && id != "" {
				name += fmt.Sprintf(" (id %q)", id)
			}
		}
		rec := out.Index(i)
		for _, k := range sortedKeys(obj) {
			f := fieldByTag(rec, k)
			if !f.IsValid() {
				ie.add("%s: unknown field %q (want one of %s)", name, k, strings.Join(tags(elem), ", "))
				continue
			}
			if msg := decodeValue(obj[k], f); msg != "" {
				ie.add("%s: %s: %s", name, k, msg)
			}
		}
	}
	field.Set(out)
}

// decodeValue decodes raw into the field v and returns a problem, or "".
func decodeValue(raw json.RawMessage, v reflect.Value) string {
	if v.Type() == reflect.TypeFor[time.Time]() {
		if isNull(raw) {
			v.Set(reflect.Zero(v.Type()))
			return ""
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Sprintf("want an RFC 3339 time string such as \"2026-06-10T14:00:00+02:00\", got %s", jsonKind(raw))
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return fmt.Sprintf("cannot parse %q as RFC 3339 (e.g. \"2026-06-10T14:00:00+02:00\")", s)
		}
		v.Set(reflect.ValueOf(t))
		return ""
	}
	if v.Type() == reflect.TypeFor[[]schedule.Rule]() {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return "want a list of weekly rules such as {\"days\":[\"mon\"],\"from\":\"09:00\",\"to\":\"17:00\"}, got " + jsonKind(raw)
		}
		rules := make([]schedule.Rule, len(items))
		for i, it := range items {
			if err := json.Unmarshal(it, &rules[i]); err != nil {
				return fmt.Sprintf("[%d]: %s", i, errorMessage(err))
			}
		}
		v.Set(reflect.ValueOf(rules))
		return ""
	}
	p := reflect.New(v.Type())
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p.Interface()); err != nil {
		return errorMessage(err)
	}
	if n := longest(p.Elem()); n > maxText {
		return fmt.Sprintf("a text of %d characters is over the limit of %d", n, maxText)
	}
	v.Set(p.Elem())
	return ""
}

// longest is the length in characters of the longest string in v, its
// fields and elements included (JSON Schema's maxLength counts the same).
func longest(v reflect.Value) int {
	switch v.Kind() {
	case reflect.String:
		return utf8.RuneCountInString(v.String())
	case reflect.Pointer:
		if v.IsNil() {
			return 0
		}
		return longest(v.Elem())
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n = max(n, longest(v.Field(i)))
			}
		}
		return n
	case reflect.Slice:
		n := 0
		for i := range v.Len() {
			n = max(n, longest(v.Index(i)))
		}
		return n
	}
	return 0
}

// errorMessage turns a decoding error into a short sentence.
func errorMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		msg := fmt.Sprintf("want %s, got %s", typeName(te.Type), te.Value)
		if te.Field != "" {
			msg = te.Field + ": " + msg
		}
		return msg
	}
	msg := err.Error()
	for _, p := range []string{"json: ", "access: ", "schedule: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return t.String()
}

// jsonKind names the JSON type of raw for messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string " + string(raw)
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "the number " + string(raw)
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// syntaxMessage describes a JSON syntax error with its line and column.
func syntaxMessage(b []byte, err error, want string) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(b, se.Offset)
		return fmt.Sprintf("line %d, column %d: %s", line, col, strings.TrimPrefix(se.Error(), "json: "))
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return fmt.Sprintf("want %s, got %s", want, te.Value)
	}
	return errorMessage(err)
}

// lineCol returns the line and column (from 1) of the byte a JSON syntax
// error reports: its Offset counts the bytes read, the bad one included.
func lineCol(b []byte, off int64) (line, col int) {
	off = min(max(off-1, 0), int64(len(b)))
	before := b[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// fieldByTag returns the field of struct v whose JSON name is key.
func fieldByTag(v reflect.Value, key string) reflect.Value {
	t := v.Type()
	for i := range t.NumField() {
		if jsonName(t.Field(i)) == key {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}

func tags(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if n := jsonName(t.Field(i)); n != "-" {
			out = append(out, n)
		}
	}
	return out
}

// loadMapping reads a mapping file: which Kisi groups each plan, allowance,
// resource and location grants. Problems are reported as
// `mapping.json: plans["flex"][1]: want a Kisi group id (a number), got a string "102"`.
func loadMapping(path string) (mapping.Mapping, error) {
	var m mapping.Mapping
	b, name, err := readFile(path)
	if err != nil {
		return m, err
	}
	ie := &inputError{file: name}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		ie.add("%s", syntaxMessage(b, err, "a JSON object with plans, allowances, resources, locations, default and drop_in"))
		return m, ie
	}
	groups := func(field string, raw json.RawMessage) []int64 {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			ie.add("%s: want a list of Kisi group ids, got %s", field, jsonKind(raw))
			return nil
		}
		out := make([]int64, 0, len(items))
		for i, it := range items {
			var g int64
			if err := json.Unmarshal(it, &g); err != nil {
				ie.add("%s[%d]: want a Kisi group id (a number), got %s", field, i, jsonKind(it))
				continue
			}
			out = append(out, g)
		}
		return out
	}
	table := func(key string, raw json.RawMessage) map[string][]int64 {
		var t map[string]json.RawMessage
		if err := json.Unmarshal(raw, &t); err != nil {
			ie.add("%s: want an object from platform ids to lists of Kisi group ids, got %s", key, jsonKind(raw))
			return nil
		}
		out := make(map[string][]int64, len(t))
		for _, id := range sortedKeys(t) {
			out[id] = groups(fmt.Sprintf("%s[%q]", key, id), t[id])
		}
		return out
	}
	for _, k := range sortedKeys(top) {
		raw := top[k]
		if isNull(raw) {
			continue
		}
		switch k {
		case "plans":
			m.Plans = table(k, raw)
		case "allowances":
			m.Allowances = table(k, raw)
		case "resources":
			m.Resources = table(k, raw)
		case "locations":
			m.Locations = table(k, raw)
		case "default":
			m.Default = groups(k, raw)
		case "drop_in":
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&m.DropIn); err != nil {
				ie.add("drop_in: %s (want {\"link\": true, \"qr\": false, \"add_to_group\": false})", errorMessage(err))
			}
		default:
			ie.add("unknown field %q (want plans, allowances, resources, locations, default, drop_in)", k)
		}
	}
	if err := ie.err(); err != nil {
		return mapping.Mapping{}, err
	}
	if err := checkSchema(ie, "mapping", b); err != nil {
		return mapping.Mapping{}, err
	}
	if err := ie.err(); err != nil {
		return mapping.Mapping{}, err
	}
	if err := m.Validate(nil); err != nil {
		for _, e := range splitJoined(err) {
			ie.add("%s", strings.TrimPrefix(e.Error(), "mapping: "))
		}
		return mapping.Mapping{}, ie
	}
	if len(m.Groups()) == 0 {
		ie.add("maps nothing to a group: set plans, allowances, resources, locations or default")
		return mapping.Mapping{}, ie
	}
	return m, nil
}

func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// loadPolicy reads a policy file: the JSON form of access.Policy, durations
// written as Go durations ("5m", "1h30m"). Fields left out keep the default
// policy's values; an empty path means the default policy.
func loadPolicy(path string) (access.Policy, error) {
	p := access.DefaultPolicy()
	if path == "" {
		return p, nil
	}
	b, name, err := readFile(path)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		var se *json.SyntaxError
		msg := policyMessage.Replace(err.Error())
		if errors.As(err, &se) {
			msg = syntaxMessage(b, err, "a JSON object with buffer, resource_buffers, check_in_for and lead")
		}
		return access.Policy{}, &inputError{file: name, msgs: []string{msg}}
	}
	return p, nil
}

// policyMessage shortens the access package's policy errors, which name the
// field, for a reader who knows the file is a policy.
var policyMessage = strings.NewReplacer("access: invalid policy: ", "", "schedule: ", "")
