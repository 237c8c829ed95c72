package docs

import (
	"cmp"
	"context"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/batchhost/batchhost/sdk"
)

// wordsPerMinute is the reading speed reading_time_seconds assumes, an
// average adult's for running text.
const wordsPerMinute = 230

// topKeywords is how many keywords analyze returns.
const topKeywords = 10

// AnalyzeArgs are docs.analyze's arguments.
type AnalyzeArgs struct {
	// Path is the document; it is read as docs.extract reads it.
	Path string `json:"path"`
}

// Validate refuses an empty path before the task runs.
func (a AnalyzeArgs) Validate() error {
	return checkPath("path", a.Path)
}

// Keyword is a word and how often it occurs.
type Keyword struct {
	Word  string `json:"word"`
	Count int    `json:"count"`
}

// AnalyzeResult is docs.analyze's result.
type AnalyzeResult struct {
	// Format is the format the text was extracted as.
	Format string `json:"format"`
	// Words counts white-space separated words with a letter or digit.
	Words int `json:"words"`
	// Lines counts lines of the extracted text.
	Lines int `json:"lines"`
	// Characters counts Unicode code points of the extracted text.
	Characters int `json:"characters"`
	// TopKeywords are the most frequent words (lowercased, at least three
	// letters, stop words of every known language removed), most frequent
	// first, ties in alphabetical order; at most 10.
	TopKeywords []Keyword `json:"top_keywords"`
	// Language is "en", "de", "fr" or "es", or "unknown" when the text is
	// too short or no language clearly leads.
	Language string `json:"language"`
	// ReadingTimeSeconds is the time to read Words at 230 words a minute,
	// rounded up.
	ReadingTimeSeconds int `json:"reading_time_seconds"`
}

func analyze(ctx context.Context, job *sdk.Job, in AnalyzeArgs) (AnalyzeResult, error) {
	doc, err := extractText(ctx, job, in.Path, 0, 0.8)
	if err != nil {
		return AnalyzeResult{}, err
	}
	words := countWords(doc.text)
	counts, total := countTokens(doc.text)
	if err := ctx.Err(); err != nil {
		return AnalyzeResult{}, err
	}
	return AnalyzeResult{
		Format:             doc.format,
		Words:              words,
		Lines:              countLines(doc.text),
		Characters:         utf8.RuneCountInString(doc.text),
		TopKeywords:        keywords(counts, topKeywords),
		Language:           guessLanguage(counts, total),
		ReadingTimeSeconds: (words*60 + wordsPerMinute - 1) / wordsPerMinute,
	}, nil
}

// keywords returns the n most frequent tokens that are not stop words,
// have at least three characters and hold a letter.
func keywords(counts map[string]int, n int) []Keyword {
	out := make([]Keyword, 0, min(len(counts), 1024))
	for w, c := range counts {
		if utf8.RuneCountInString(w) >= 3 && stopwordLangs[w] == 0 && hasLetter(w) {
			out = append(out, Keyword{Word: w, Count: c})
		}
	}
	slices.SortFunc(out, func(a, b Keyword) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Word, b.Word)
	})
	return out[:min(n, len(out))]
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

// Thresholds of guessLanguage: below them the answer is "unknown".
const (
	minLanguageHits  = 3    // stop words of the leading language
	minLanguageShare = 0.10 // of all tokens; running text has 30-50 %
	minLanguageLead  = 1.25 // over the runner-up
)

// guessLanguage names the language whose stop words make up most of the
// tokens (counts of each, total of all), or "unknown" when too few tokens
// are stop words (a list, code, a language it does not know) or two
// languages are too close to call.
func guessLanguage(counts map[string]int, total int) string {
	hits := make(map[string]int, len(languages))
	for w, c := range counts {
		langs := stopwordLangs[w]
		for i, lang := range languages {
			if langs&(1<<i) != 0 {
				hits[lang] += c
			}
		}
	}
	best, second := "", 0
	for _, lang := range languages {
		switch h := hits[lang]; {
		case best == "" || h > hits[best]:
			if best != "" {
				second = hits[best]
			}
			best = lang
		case h > second:
			second = h
		}
	}
	top := hits[best]
	if top < minLanguageHits || float64(top) < minLanguageShare*float64(total) || float64(top) < minLanguageLead*float64(second) {
		return "unknown"
	}
	return best
}
