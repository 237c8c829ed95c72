package model

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen bounds the names users give tasks, groups, schedules and
// labels: they are kept in memory, in indexes and in every event.
const MaxNameLen = 256

// CheckName checks a name users give: not empty, at most MaxNameLen
// bytes, valid UTF-8, no control characters (a name is printed in
// one-line messages and tables, and PostgreSQL text cannot hold NUL).
// what names it in the error ("task", "group name",
// "label name"...). Callers trim it first where surrounding space means
// nothing (task, group and schedule names; label names are kept as given).
func CheckName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is required", what)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%s %.40q... is longer than %d bytes", what, name, MaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%s is not valid UTF-8", what)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%s %.40q holds a control character", what, name)
	}
	return nil
}

// HasNUL reports whether s holds a NUL byte, which no text the queue
// stores may hold: PostgreSQL's text and jsonb refuse it, and one rule on
// both backends keeps a job the same wherever it is stored.
func HasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// IsID reports whether s is an id as the engine makes them: a canonical
// lower-case UUID (8-4-4-4-12 hex digits). Paging cursors must be one.
func IsID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// PluginOf is the plugin part of a task name: what comes before its first
// dot ("docs.ocr" → "docs"), which per-plugin limits and quotas count by.
func PluginOf(task string) string {
	p, _, _ := strings.Cut(task, ".")
	return p
}
