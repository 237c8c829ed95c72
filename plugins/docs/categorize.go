package docs

import (
	"context"

	"github.com/batchhost/batchhost/sdk"
)

// CategorizeArgs are docs.categorize's arguments.
type CategorizeArgs struct {
	// Path is the document; it is read as docs.extract reads it.
	Path string `json:"path"`
	// Rules are the rules inline; give them or RulesFile.
	Rules *Rules `json:"rules,omitempty"`
	// RulesFile is a JSON file holding Rules.
	RulesFile string `json:"rules_file,omitempty"`
}

// Validate refuses an empty path before the task runs; the rules are
// checked when they are compiled.
func (a CategorizeArgs) Validate() error {
	if err := checkPath("path", a.Path); err != nil {
		return err
	}
	return checkOptionalPath("rules_file", a.RulesFile)
}

// CategorizeResult is docs.categorize's result.
type CategorizeResult struct {
	// Category is the winning category, or the rules' default.
	Category string `json:"category"`
	// Score is the winner's score: its weight times its matches; 0 for
	// the default.
	Score float64 `json:"score"`
	// Matched are the winner's keywords and patterns that matched, as
	// written in the rules and in their order.
	Matched []string `json:"matched"`
}

func categorize(ctx context.Context, job *sdk.Job, in CategorizeArgs) (CategorizeResult, error) {
	rules, err := loadRules(in.Rules, in.RulesFile)
	if err != nil {
		return CategorizeResult{}, err
	}
	v, _, err := classify(ctx, job, in.Path, rules, 0, 0.9)
	if err != nil {
		return CategorizeResult{}, err
	}
	return CategorizeResult{Category: v.category, Score: v.score, Matched: v.matched}, nil
}

// classify extracts path's text and applies rules to it.
func classify(ctx context.Context, job *sdk.Job, path string, rules *ruleSet, lo, hi float64) (verdict, document, error) {
	doc, err := extractText(ctx, job, path, lo, hi)
	if err != nil {
		return verdict{}, document{}, err
	}
	v := rules.apply(doc.text)
	if err := ctx.Err(); err != nil {
		return verdict{}, document{}, err
	}
	return v, doc, nil
}
