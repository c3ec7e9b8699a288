package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// The JSON Schemas of the snapshot and mapping files are made from the Go
// types, field by field, so that they cannot drift from what the CLI reads;
// schema/*.schema.json publishes them for exporters written in other
// languages (TestSchemaFiles keeps the files equal to these). A file the
// schema accepts is one the CLI reads without a problem of form.

// schemaBase is the $id prefix of the published schemas.
const schemaBase = "https://github.com/kisisync/kisisync/examples/kisisync/schema/"

// obj is a JSON Schema object.
type obj = map[string]any

// snapshotSchema is the JSON Schema of a snapshot file.
func snapshotSchema() obj {
	props := obj{}
	st := reflect.TypeFor[access.Snapshot]()
	for i := range st.NumField() {
		f := st.Field(i)
		props[jsonName(f)] = obj{
			"type":     []string{"array", "null"},
			"maxItems": maxRecords,
			"items":    recordSchema(f.Type.Elem()),
		}
	}
	return obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  schemaBase + "snapshot.schema.json",
		"title":                "kisisync snapshot",
		"description":          "Everything a platform knows that bears on door access, at one moment (access.Snapshot). Times are RFC 3339 with an offset.",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           props,
	}
}

// recordSchema is the schema of a record of struct type t.
func recordSchema(t reflect.Type) obj {
	props := obj{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || jsonName(f) == "-" {
			continue
		}
		props[jsonName(f)] = valueSchema(f)
	}
	return obj{"type": "object", "additionalProperties": false, "properties": props}
}

// valueSchema is the schema of the field f of a record.
func valueSchema(f reflect.StructField) obj {
	t := f.Type
	text := obj{"type": "string", "maxLength": maxText}
	switch {
	case t == reflect.TypeFor[time.Time]():
		s := obj{"type": "string", "format": "date-time"}
		if strings.Contains(f.Tag.Get("json"), "omitzero") {
			s["type"] = []string{"string", "null"} // an optional end: left out or null
		}
		return s
	case t == reflect.TypeFor[access.PlanStatus]():
		return obj{"enum": []string{"pending", "active", "cancelled", "canceled"}}
	case t == reflect.TypeFor[[]schedule.Rule]():
		days := []string{}
		for d := time.Sunday; d <= time.Saturday; d++ {
			days = append(days, strings.ToLower(d.String()[:3]), strings.ToLower(d.String()))
		}
		clock := obj{"type": "string", "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$"}
		return obj{"type": "array", "items": obj{
			"type": "object", "additionalProperties": false,
			"properties": obj{
				"days": obj{"type": "array", "items": obj{"enum": days}},
				"from": clock,
				"to":   clock,
			},
		}}
	case t.Kind() == reflect.Pointer:
		s := recordSchema(t.Elem())
		s["type"] = []string{"object", "null"}
		return s
	case t.Kind() == reflect.String:
		return text
	case t.Kind() == reflect.Bool:
		return obj{"type": "boolean"}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return obj{"type": "array", "items": text}
	}
	panic(fmt.Sprintf("kisisync: no schema for field %s of type %s", f.Name, t)) // a new field type: teach valueSchema
}

// mappingSchema is the JSON Schema of a mapping file.
func mappingSchema() obj {
	groups := obj{"type": "array", "items": obj{"type": "integer", "minimum": 1}}
	table := obj{"type": []string{"object", "null"}, "additionalProperties": groups}
	props := obj{}
	mt := reflect.TypeFor[mapping.Mapping]()
	for i := range mt.NumField() {
		f := mt.Field(i)
		switch f.Type {
		case reflect.TypeFor[map[string][]int64]():
			props[jsonName(f)] = table
		case reflect.TypeFor[[]int64]():
			props[jsonName(f)] = obj{"type": []string{"array", "null"}, "items": groups["items"]}
		case reflect.TypeFor[mapping.DropIn]():
			s := obj{}
			dt := f.Type
			for j := range dt.NumField() {
				s[jsonName(dt.Field(j))] = obj{"type": "boolean"}
			}
			props[jsonName(f)] = obj{"type": []string{"object", "null"}, "additionalProperties": false, "properties": s}
		default:
			panic(fmt.Sprintf("kisisync: no schema for mapping field %s", f.Name)) // a new field: teach mappingSchema
		}
	}
	return obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  schemaBase + "mapping.schema.json",
		"title":                "kisisync mapping",
		"description":          "Which Kisi groups each plan, allowance, resource and location grants (mapping.Mapping): platform ids to Kisi group ids.",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           props,
	}
}

// schemaJSON renders a schema as the published file: indented, keys sorted.
func schemaJSON(s obj) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // maps of strings, numbers and slices always encode
	}
	return b.Bytes()
}

// compiled are the two schemas, compiled once.
var compiled = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for name, s := range map[string]obj{"snapshot": snapshotSchema(), "mapping": mappingSchema()} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON(s)))
		if err != nil {
			return nil, err
		}
		url := s["$id"].(string)
		if err := c.AddResource(url, doc); err != nil {
			return nil, err
		}
		if out[name], err = c.Compile(url); err != nil {
			return nil, err
		}
	}
	return out, nil
})

// checkSchema validates the JSON b against the schema name ("snapshot" or
// "mapping") and adds each violation to ie, named by its place in the file.
func checkSchema(ie *inputError, name string, b []byte) error {
	schemas, err := compiled()
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil // a syntax error: reported by the decoder
	}
	err = schemas[name].Validate(doc)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	p := message.NewPrinter(language.English)
	for _, leaf := range leaves(ve) {
		where := "/" + strings.Join(leaf.InstanceLocation, "/")
		ie.add("%s: does not match the %s schema: %s", where, name, leaf.ErrorKind.LocalizedString(p))
	}
	return nil
}

// leaves are the innermost causes of a validation error: the ones that say
// what is wrong where.
func leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return []*jsonschema.ValidationError{ve}
	}
	var out []*jsonschema.ValidationError
	for _, c := range ve.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}
