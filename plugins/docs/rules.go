package docs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/batchhost/batchhost/sdk"
)

// Rules decide a document's category. A category scores its weight for
// every occurrence of one of its keywords (whole words, case-insensitive;
// a keyword of several words matches them in sequence) and every match of
// one of its patterns (Go regular expressions, case-sensitive unless they
// start with (?i)). The highest score wins; a tie goes to the category
// listed first; a document where nothing matches gets Default.
type Rules struct {
	Categories []Category `json:"categories"`
	// Default is the category of a document no rule matches. Defaults to
	// "uncategorized".
	Default string `json:"default,omitempty"`
}

// Category is one category of Rules.
type Category struct {
	// Name names the category, and its directory for docs.organize: it
	// must be a valid file name, not starting with a dot.
	Name     string   `json:"name"`
	Keywords []string `json:"keywords,omitempty"`
	Patterns []string `json:"patterns,omitempty"`
	// Weight multiplies the category's score. Defaults to 1.
	Weight float64 `json:"weight,omitempty"`
}

// defaultCategory is Rules.Default's default.
const defaultCategory = "uncategorized"

// maxRulesFile bounds a rules file; real rule sets are a few kilobytes.
const maxRulesFile = 1 << 20

// maxPatternMatches bounds how many matches of one pattern are counted, so
// that a pattern matching everywhere in a huge text stays cheap.
const maxPatternMatches = 10_000

// ruleSet is Rules checked and compiled.
type ruleSet struct {
	categories []compiledCategory
	fallback   string
}

type compiledCategory struct {
	name     string
	weight   float64
	keywords []keyword
	patterns []pattern
}

type keyword struct {
	source string   // as written in the rules
	words  []string // its tokens
}

type pattern struct {
	source string
	re     *regexp.Regexp
}

// loadRules returns the rules given inline or in a file; exactly one of
// the two must be given. Every problem is invalid_args naming the rule.
func loadRules(inline *Rules, file string) (*ruleSet, error) {
	switch {
	case inline != nil && file != "":
		return nil, sdk.InvalidArgs(errors.New("give rules or rules_file, not both"))
	case inline == nil && file == "":
		return nil, sdk.InvalidArgs(errors.New("no rules: give rules (inline) or rules_file (a JSON file)"))
	case inline != nil:
		rs, err := compileRules(*inline)
		if err != nil {
			return nil, sdk.InvalidArgs(fmt.Errorf("invalid rules: %w", err))
		}
		return rs, nil
	}
	r, err := readRulesFile(file)
	if err != nil {
		return nil, sdk.InvalidArgs(fmt.Errorf("rules file %s: %w", file, err))
	}
	rs, err := compileRules(r)
	if err != nil {
		return nil, sdk.InvalidArgs(fmt.Errorf("rules file %s: %w", file, err))
	}
	return rs, nil
}

func readRulesFile(file string) (Rules, error) {
	f, err := os.Open(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return Rules{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRulesFile+1))
	if err != nil {
		return Rules{}, err
	}
	if len(b) > maxRulesFile {
		return Rules{}, fmt.Errorf("larger than %d KiB", maxRulesFile>>10)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Rules
	if err := dec.Decode(&r); err != nil {
		return Rules{}, fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Rules{}, errors.New("invalid JSON: unexpected data after the rules object")
	}
	return r, nil
}

func compileRules(r Rules) (*ruleSet, error) {
	rs := &ruleSet{fallback: r.Default}
	if rs.fallback == "" {
		rs.fallback = defaultCategory
	}
	if err := checkCategoryName(rs.fallback); err != nil {
		return nil, fmt.Errorf("default: %w", err)
	}
	if len(r.Categories) == 0 {
		return nil, errors.New("no categories: give at least one")
	}
	seen := map[string]bool{}
	for i, c := range r.Categories {
		if err := checkCategoryName(c.Name); err != nil {
			return nil, fmt.Errorf("category %d: %w", i+1, err)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("category %q is listed twice", c.Name)
		}
		seen[c.Name] = true
		cc, err := compileCategory(c)
		if err != nil {
			return nil, fmt.Errorf("category %q: %w", c.Name, err)
		}
		rs.categories = append(rs.categories, cc)
	}
	return rs, nil
}

func compileCategory(c Category) (compiledCategory, error) {
	cc := compiledCategory{name: c.Name, weight: c.Weight}
	switch {
	case c.Weight < 0:
		return cc, fmt.Errorf("weight must not be negative, got %v", c.Weight)
	case c.Weight == 0:
		cc.weight = 1
	}
	if len(c.Keywords) == 0 && len(c.Patterns) == 0 {
		return cc, errors.New("no keywords and no patterns: it could never match")
	}
	for _, k := range c.Keywords {
		words := tokens(k)
		if len(words) == 0 {
			return cc, fmt.Errorf("keyword %q has no letters or digits", k)
		}
		cc.keywords = append(cc.keywords, keyword{source: k, words: words})
	}
	for _, p := range c.Patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return cc, fmt.Errorf("invalid pattern %q: %s", p, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		if re.MatchString("") {
			return cc, fmt.Errorf("pattern %q matches the empty string: it would match every document", p)
		}
		cc.patterns = append(cc.patterns, pattern{source: p, re: re})
	}
	return cc, nil
}

// checkCategoryName refuses names that cannot be one directory inside the
// destination of docs.organize. Names starting with a dot are refused so
// that no category collides with organize's own .batchhost directory.
func checkCategoryName(name string) error {
	switch {
	case name == "":
		return errors.New("the name is empty")
	case len(name) > 255:
		return fmt.Errorf("the name %.20q... is longer than 255 bytes", name)
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("the name %q contains a path separator or NUL", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("the name %q starts with a dot", name)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("the name %q starts or ends with white space", name)
	}
	return nil
}

// verdict is the outcome of applying rules to a text.
type verdict struct {
	category string
	score    float64
	matched  []string
}

// apply scores every category against text and returns the winner.
func (rs *ruleSet) apply(text string) verdict {
	counts, _ := countTokens(text)
	var seq []string // the tokens in order, made only for phrases
	toks := func() []string {
		if seq == nil {
			seq = tokens(text)
		}
		return seq
	}
	best := verdict{category: rs.fallback, matched: []string{}}
	for _, c := range rs.categories {
		hits := 0
		var matched []string
		for _, k := range c.keywords {
			if n := k.count(counts, toks); n > 0 {
				hits += n
				matched = append(matched, k.source)
			}
		}
		for _, p := range c.patterns {
			if n := len(p.re.FindAllStringIndex(text, maxPatternMatches)); n > 0 {
				hits += n
				matched = append(matched, p.source)
			}
		}
		if score := c.weight * float64(hits); score > best.score {
			best = verdict{category: c.name, score: score, matched: matched}
		}
	}
	return best
}

// count returns how often k occurs in the text: a one-word keyword from
// the token counts, a phrase by scanning the tokens in order.
func (k keyword) count(counts map[string]int, seq func() []string) int {
	if len(k.words) == 1 {
		return counts[k.words[0]]
	}
	for _, w := range k.words {
		if counts[w] == 0 {
			return 0
		}
	}
	toks := seq()
	n := 0
	for i := 0; i+len(k.words) <= len(toks); i++ {
		if toks[i] == k.words[0] && slices.Equal(toks[i:i+len(k.words)], k.words) {
			n++
			i += len(k.words) - 1
		}
	}
	return n
}
