// Package jsonshape checks JSON the host stores for a caller or a plugin
// (args, results, log fields) beyond what json.Valid checks: nesting depth,
// UTF-8 and NUL. The first two matter because the host embeds that JSON in its own
// records: a value nested close to encoding/json's 10,000-level limit
// makes the enclosing record unreadable, and invalid UTF-8 comes back
// changed (or as invalid JSON on a CLI's stdout). A string holding \u0000
// is refused on both backends because PostgreSQL's jsonb cannot hold it.
package jsonshape

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects accepted: far more
// than real arguments use, far below what would break a record holding it.
const MaxDepth = 512

// Check reports why raw, which must already be valid JSON, cannot be
// stored: invalid UTF-8, arrays and objects nested deeper than MaxDepth,
// or a string holding \u0000. The message follows "args are" or "a result
// that is".
func Check(raw []byte) error {
	if !utf8.Valid(raw) {
		return fmt.Errorf("not valid UTF-8")
	}
	d, nul := scan(raw)
	if d > MaxDepth {
		return fmt.Errorf("nested deeper than %d levels", MaxDepth)
	}
	if nul {
		return fmt.Errorf("not storable: a string holds \\u0000 (NUL)")
	}
	return nil
}

// Depth returns the deepest nesting of arrays and objects in raw, which
// must be valid JSON; brackets inside strings do not count.
func Depth(raw []byte) int {
	d, _ := scan(raw)
	return d
}

// scan returns raw's deepest nesting and whether a string in it holds the
// escape \u0000 (raw NUL bytes are not valid JSON).
func scan(raw []byte) (deepest int, nul bool) {
	depth := 0
	inString, escaped := false, false
	for i, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
				if c == 'u' && string(raw[i+1:min(i+5, len(raw))]) == "0000" {
					nul = true
				}
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
	return deepest, nul
}

// Text is text a plugin sent (a message, a log line, its stderr) as the
// host can store it: valid UTF-8 without NUL, each offending byte shown as
// U+FFFD. An outcome the store refused would hold up every outcome
// written with it, so plugin text is made storable rather than refused.
func Text(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
