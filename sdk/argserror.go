package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// argsMessage says what is wrong with args that did not decode, in words
// a submitter reads: the field, what it expected and what it got, rather
// than encoding/json's Go types ("cannot unmarshal string into Go struct
// field RunArgs.argv of type []string").
func argsMessage(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Type == nil {
		return jsonMessage(err)
	}
	msg := fmt.Sprintf("expected %s, got %s", typeWords(te.Type, false), valueWords(te.Value))
	if te.Field != "" {
		msg = fmt.Sprintf("field %q: %s", te.Field, msg)
	}
	return msg
}

// typeWords names the JSON a Go type takes, with an article or, when
// plural, as a plural ("an array of strings").
func typeWords(t reflect.Type, plural bool) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	one, many := "any JSON value", "JSON values"
	switch t.Kind() {
	case reflect.Bool:
		one, many = "true or false", "true or false values"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		one, many = "an integer", "integers"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		one, many = "a non-negative integer", "non-negative integers"
	case reflect.Float32, reflect.Float64:
		one, many = "a number", "numbers"
	case reflect.String:
		one, many = "a string", "strings"
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			one, many = "a base64 string", "base64 strings"
		} else {
			one, many = "an array of "+typeWords(t.Elem(), true), "arrays"
		}
	case reflect.Map, reflect.Struct:
		one, many = "an object", "objects"
	}
	if plural {
		return many
	}
	return one
}

// valueWords names the JSON value encoding/json found ("string",
// "number -1", "array").
func valueWords(v string) string {
	switch {
	case v == "bool":
		return "true or false"
	case v == "array", v == "object":
		return "an " + v
	case strings.HasPrefix(v, "number "):
		return "the number " + strings.TrimPrefix(v, "number ")
	case v == "":
		return "another kind of value"
	}
	return "a " + v
}
