package sdk

import (
	"strings"
	"unicode/utf8"
)

// truncate makes a task's text safe to send: invalid UTF-8 is replaced
// (protobuf refuses such strings, which would break the channel and lose
// the attempt's result), and the text is cut to at most n bytes on a rune
// boundary with the cut marked, so that an oversized text never breaks the
// protocol's message limit.
func truncate(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	const mark = "…(truncated)"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
