package docs

import (
	"strings"
	"unicode"
)

// eachToken calls fn with each lowercase word of text, the unit of
// keyword counting and matching: runs of letters, digits and combining
// marks. Apostrophes split words ("l'homme" gives "l" and "homme", "don't"
// gives "don" and "t"), so that elided articles count as the stop words
// they are. The tokens are substrings of one lowercased copy of text.
func eachToken(text string, fn func(tok string)) {
	lower := strings.ToLower(text)
	start := -1
	for i, r := range lower {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			fn(lower[start:i])
			start = -1
		}
	}
	if start >= 0 {
		fn(lower[start:])
	}
}

// tokens returns the tokens of text in order (see eachToken).
func tokens(text string) []string {
	out := make([]string, 0, len(text)/6)
	eachToken(text, func(tok string) { out = append(out, tok) })
	return out
}

// countTokens returns how often each token of text occurs, and how many
// tokens there are in all.
func countTokens(text string) (counts map[string]int, total int) {
	counts = map[string]int{}
	eachToken(text, func(tok string) {
		counts[tok]++
		total++
	})
	return counts, total
}

func isWordRune(r rune) bool {
	if r < 0x80 { // the common case, without table lookups
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// countWords counts the white-space separated words of text that hold at
// least one letter or digit, as a reader would count them: a lone dash or
// bullet is not a word, "e-mail" and "don't" are one word each.
func countWords(text string) int {
	n := 0
	inWord, hasLetter := false, false
	for _, r := range text {
		if unicode.IsSpace(r) {
			if inWord && hasLetter {
				n++
			}
			inWord, hasLetter = false, false
			continue
		}
		inWord = true
		if !hasLetter && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			hasLetter = true
		}
	}
	if inWord && hasLetter {
		n++
	}
	return n
}

// countLines counts lines as an editor shows them: "" has none, "a" and
// "a\n" have one, "a\nb" has two.
func countLines(text string) int {
	if text == "" {
		return 0
	}
	n := strings.Count(text, "\n")
	if !strings.HasSuffix(text, "\n") {
		n++
	}
	return n
}
