package docs_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/plugins/docs"
)

// testRules are the rules the categorize and organize tests share.
var testRules = &docs.Rules{
	Categories: []docs.Category{
		{Name: "invoices", Keywords: []string{"invoice", "amount due"}, Patterns: []string{`INV-\d{4}`}},
		{Name: "letters", Keywords: []string{"dear", "sincerely"}, Weight: 0.5},
		{Name: "Rechnungen", Keywords: []string{"rechnung", "betrag"}},
	},
	Default: "misc",
}

func TestCategorize(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, text string
		want             docs.CategorizeResult
	}{
		{"keywords and pattern", "i.txt", "INVOICE INV-2024\nThe amount  due is 40. Invoice attached.",
			docs.CategorizeResult{Category: "invoices", Score: 4, Matched: []string{"invoice", "amount due", `INV-\d{4}`}}},
		{"weight", "l.txt", "Dear Sir, ... Sincerely, dear me, with one invoice",
			docs.CategorizeResult{Category: "letters", Score: 1.5, Matched: []string{"dear", "sincerely"}}},
		{"unicode keyword", "r.txt", "Ihre RECHNUNG über den Betrag",
			docs.CategorizeResult{Category: "Rechnungen", Score: 2, Matched: []string{"rechnung", "betrag"}}},
		{"whole words only", "w.txt", "invoices invoicing amount-due",
			docs.CategorizeResult{Category: "invoices", Score: 1, Matched: []string{"amount due"}}},
		{"tie goes to the first", "t.txt", "invoice dear sincerely",
			docs.CategorizeResult{Category: "invoices", Score: 1, Matched: []string{"invoice"}}},
		{"nothing matches", "n.txt", "a shopping list: eggs, milk",
			docs.CategorizeResult{Category: "misc", Score: 0, Matched: []string{}}},
		{"empty file", "e.txt", "",
			docs.CategorizeResult{Category: "misc", Score: 0, Matched: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.file, []byte(tt.text))
			var out docs.CategorizeResult
			run(t, "categorize", docs.CategorizeArgs{Path: p, Rules: testRules}).Decode(&out)
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCategorizeRulesFile(t *testing.T) {
	dir := t.TempDir()
	b, err := json.Marshal(testRules)
	if err != nil {
		t.Fatal(err)
	}
	rulesFile := writeFile(t, dir, "rules.json", b)
	doc := writeFile(t, dir, "d.html", []byte("<p>Dear friend</p>"))
	var out docs.CategorizeResult
	run(t, "categorize", docs.CategorizeArgs{Path: doc, RulesFile: rulesFile}).Decode(&out)
	if diff := cmp.Diff(docs.CategorizeResult{Category: "letters", Score: 0.5, Matched: []string{"dear"}}, out); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// Without a default, the default is "uncategorized".
	noDefault := writeFile(t, dir, "nodefault.json", []byte(`{"categories":[{"name":"x","keywords":["zebra"]}]}`))
	run(t, "categorize", docs.CategorizeArgs{Path: doc, RulesFile: noDefault}).Decode(&out)
	if out.Category != "uncategorized" {
		t.Errorf("category %q, want uncategorized", out.Category)
	}
}

func TestCategorizeBadRules(t *testing.T) {
	dir := t.TempDir()
	doc := writeFile(t, dir, "d.txt", []byte("text"))
	file := func(name, content string) string { return writeFile(t, dir, name, []byte(content)) }
	tests := []struct {
		name  string
		args  string
		parts []string
	}{
		{"no rules", `{"path":"` + doc + `"}`, []string{"no rules"}},
		{"both", `{"path":"` + doc + `","rules":{"categories":[{"name":"a","keywords":["x"]}]},"rules_file":"/x"}`, []string{"not both"}},
		{"bad regex", `{"path":"` + doc + `","rules":{"categories":[{"name":"a","patterns":["INV-(\\d+"]}]}}`, []string{`category "a"`, `invalid pattern "INV-(\\d+"`, "missing closing )"}},
		{"empty pattern match", `{"path":"` + doc + `","rules":{"categories":[{"name":"a","patterns":["x*"]}]}}`, []string{`"x*"`, "empty string"}},
		{"no categories", `{"path":"` + doc + `","rules":{"categories":[]}}`, []string{"no categories"}},
		{"nothing to match", `{"path":"` + doc + `","rules":{"categories":[{"name":"a"}]}}`, []string{`category "a"`, "no keywords and no patterns"}},
		{"punctuation keyword", `{"path":"` + doc + `","rules":{"categories":[{"name":"a","keywords":["--"]}]}}`, []string{`keyword "--"`}},
		{"duplicate", `{"path":"` + doc + `","rules":{"categories":[{"name":"a","keywords":["x"]},{"name":"a","keywords":["y"]}]}}`, []string{`"a" is listed twice`}},
		{"path in name", `{"path":"` + doc + `","rules":{"categories":[{"name":"../up","keywords":["x"]}]}}`, []string{"category 1", "path separator"}},
		{"bad default", `{"path":"` + doc + `","rules":{"categories":[{"name":"a","keywords":["x"]}],"default":".."}}`, []string{"default", "starts with a dot"}},
		{"negative weight", `{"path":"` + doc + `","rules":{"categories":[{"name":"a","keywords":["x"],"weight":-1}]}}`, []string{"weight must not be negative"}},
		{"unknown field", `{"path":"` + doc + `","rules":{"categories":[{"name":"a","keywords":["x"],"keyword":["y"]}]}}`, []string{`unknown field "keyword"`}},
		{"missing file", `{"path":"` + doc + `","rules_file":"` + dir + `/none.json"}`, []string{dir + "/none.json", "no such file"}},
		{"file not json", `{"path":"` + doc + `","rules_file":"` + file("bad.json", "{nope") + `"}`, []string{"bad.json", "invalid JSON"}},
		{"file unknown field", `{"path":"` + doc + `","rules_file":"` + file("typo.json", `{"categories":[],"defualt":"x"}`) + `"}`, []string{"typo.json", `unknown field "defualt"`}},
		{"file bad regex", `{"path":"` + doc + `","rules_file":"` + file("re.json", `{"categories":[{"name":"a","patterns":["[z-a]"]}]}`) + `"}`, []string{"re.json", `"[z-a]"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, task := range []string{"categorize", "organize"} {
				args := tt.args
				if task == "organize" {
					args = args[:len(args)-1] + `,"dest":"` + dir + `"}`
				}
				wantErr(t, run(t, task, json.RawMessage(args)), "invalid_args", tt.parts...)
			}
		})
	}
}
