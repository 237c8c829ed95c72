package docs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batchhost/batchhost/plugins/docs"
)

// fuzzHang bounds one extraction in the fuzz tests. Extractors stop when
// their context ends; one that does not return within fuzzHang of that
// would hold a plugin process, which the host shares between jobs.
const (
	fuzzDeadline = 10 * time.Second
	fuzzHang     = 30 * time.Second
)

// fuzzExtract writes data to a file and runs the extractor of format on
// it: it must return, with text or an error, and not panic (a panic here
// fails the fuzz test; in the plugin it would kill the process).
func fuzzExtract(t *testing.T, format string, data []byte) {
	path := filepath.Join(t.TempDir(), "doc."+format)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fuzzDeadline)
	defer cancel()
	type result struct {
		text string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		text, err := docs.ExtractAs(ctx, format, path)
		done <- result{text, err}
	}()
	select {
	case r := <-done:
		if r.err != nil && r.err.Error() == "" {
			t.Fatal("an empty error")
		}
		if r.err != nil && errors.Is(r.err, context.DeadlineExceeded) {
			t.Logf("%s: stopped at the deadline", format)
		}
	case <-time.After(fuzzHang):
		t.Fatalf("%s extraction of %d bytes did not return %v after its deadline", format, len(data), fuzzHang-fuzzDeadline)
	}
}

func FuzzExtractHTML(f *testing.F) {
	for _, s := range []string{
		"<html><head><title>T</title><style>x{}</style><script>y()</script></head><body><h1>Head</h1><p>Para &amp; <b>bold</b></p><pre>  pre\n  formatted</pre><table><tr><td>a</td><td>b</td></tr></table><br><ul><li>one<li>two</ul></body></html>",
		"<p>unclosed <div><span>", "&#xFFFFFF; &#0; &nbsp;", "<!-- comment --><![CDATA[x]]>", "<textarea><p>x</textarea>", "\xff\xfe<\x00p\x00>\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, "html", data) })
}

func FuzzExtractCSV(f *testing.F) {
	for _, s := range []string{
		"name,age\nAda,36\nBob,\"4\"\"2\"\n", "a;b;c\n1;2;3\n", "a\tb\n\"unterminated\n", "\"\"\"\n,,,\n", "x", "\ufeffa,b\r\n1,2\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, "csv", data) })
}

func FuzzExtractJSON(f *testing.F) {
	for _, s := range []string{
		`{"title":"Report","n":3,"ok":true,"tags":["alpha","beta"],"nested":{"note":"deep \u00e9","x":null},"empty":{}}`,
		`[[[[[[[[[[]]]]]]]]]]`, `"just a string"`, `{"a":1}{"b":2}`, `{"a":`, `1e999`, `{"\ud800":"\udc00"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, "json", data) })
}

// The office and PDF seeds are whole documents, kept in testdata/fuzz
// (the seed files were written from makeDOCX, makeODT and makePDF).

func FuzzExtractDOCX(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, "docx", data) })
}

func FuzzExtractODT(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, "odt", data) })
}

func FuzzExtractPDF(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtract(t, "pdf", data) })
}
