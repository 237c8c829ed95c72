package sdk

import (
	"testing"
)

// TestArgsMessage: args that do not fit the task's fields are described
// in words, naming the field, not as Go types.
func TestArgsMessage(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
	}
	type args struct {
		Argv    []string          `json:"argv"`
		Count   int               `json:"count"`
		Size    uint              `json:"size"`
		Ratio   float64           `json:"ratio"`
		On      bool              `json:"on"`
		Env     map[string]string `json:"env"`
		Inner   inner             `json:"inner"`
		Matrix  [][]int           `json:"matrix"`
		Pointer *string           `json:"pointer"`
	}
	tests := []struct{ in, want string }{
		{`{"argv":"ls"}`, `invalid args: field "argv": expected an array of strings, got a string`},
		{`{"count":"3"}`, `invalid args: field "count": expected an integer, got a string`},
		{`{"count":1.5}`, `invalid args: field "count": expected an integer, got the number 1.5`},
		{`{"size":-1}`, `invalid args: field "size": expected a non-negative integer, got the number -1`},
		{`{"ratio":true}`, `invalid args: field "ratio": expected a number, got true or false`},
		{`{"on":"yes"}`, `invalid args: field "on": expected true or false, got a string`},
		{`{"env":["A=B"]}`, `invalid args: field "env": expected an object, got an array`},
		{`{"inner":{"name":1}}`, `invalid args: field "inner.name": expected a string, got a number`},
		{`{"matrix":[1]}`, `invalid args: field "matrix": expected an array of integers, got a number`},
		{`{"pointer":{}}`, `invalid args: field "pointer": expected a string, got an object`},
		{`[1]`, `invalid args: expected an object, got an array`},
		{`{"nope":1}`, `invalid args: unknown field "nope"`},
	}
	for _, tt := range tests {
		_, err := decodeArgs[args]([]byte(tt.in))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.in, err, tt.want)
		}
	}
}
