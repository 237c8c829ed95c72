package sdk

import "unicode/utf8"

// truncate cuts s to at most n bytes on a rune boundary and marks the cut,
// so that oversized texts from a task never break a gRPC message limit.
func truncate(s string, n int) string {
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
