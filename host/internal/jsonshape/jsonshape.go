// Package jsonshape checks JSON the host stores for a caller or a plugin
// (args, results, log fields) beyond what json.Valid checks: nesting depth
// and UTF-8. Both matter because the host embeds that JSON in its own
// records: a value nested close to encoding/json's 10,000-level limit
// makes the enclosing record unreadable, and invalid UTF-8 comes back
// changed (or as invalid JSON on a CLI's stdout).
package jsonshape

import (
	"fmt"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects accepted: far more
// than real arguments use, far below what would break a record holding it.
const MaxDepth = 512

// Check reports why raw, which must already be valid JSON, cannot be
// stored: invalid UTF-8, or arrays and objects nested deeper than MaxDepth.
func Check(raw []byte) error {
	if !utf8.Valid(raw) {
		return fmt.Errorf("not valid UTF-8")
	}
	if d := Depth(raw); d > MaxDepth {
		return fmt.Errorf("nested deeper than %d levels", MaxDepth)
	}
	return nil
}

// Depth returns the deepest nesting of arrays and objects in raw, which
// must be valid JSON; brackets inside strings do not count.
func Depth(raw []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			if depth > deepest {
				deepest = depth
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}
