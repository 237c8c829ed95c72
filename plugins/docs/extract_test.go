package docs_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/plugins/docs"
)

func TestExtractFormats(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		file    string
		content []byte
		format  string
		text    string
	}{
		{"txt", "a.txt", []byte("Hello world.\r\nSecond line\n"), "txt", "Hello world.\nSecond line\n"},
		{"unicode", "u.txt", []byte("Grüße aus Köln — 日本語のテキスト 🎉\n"), "txt", "Grüße aus Köln — 日本語のテキスト 🎉\n"},
		{"utf8 bom", "bom.txt", []byte("\xef\xbb\xbfcafé"), "txt", "café"},
		{"utf16le bom", "w.txt", []byte("\xff\xfeh\x00\xe9\x00!\x00"), "txt", "hé!"},
		{"windows-1252", "old.txt", []byte("caf\xe9 \x93quoted\x94 \x80 5"), "txt", "café “quoted” € 5"},
		{"log", "server.log", []byte("started\n"), "txt", "started\n"},
		{"empty", "empty.txt", nil, "txt", ""},
		{"no extension", "README", []byte("plain text file"), "txt", "plain text file"},
		{"markdown", "n.md", []byte("# Title\n\n*kept* as written\n"), "md", "# Title\n\n*kept* as written\n"},
		{"html", "p.html", []byte(`<!DOCTYPE html><html><head><title>The  Title</title>
<style>body { color: red }</style><script>var x = "<p>not text</p>";</script></head>
<body><h1>Heading &amp; more</h1><p>First   paragraph,
 <b>bold</b> and <a href="#">link</a>.</p><!-- comment --><ul><li>one</li><li>two</li></ul>
<table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td> 1 </td></tr></table>
<pre>  keep
    this</pre><noscript>enable js</noscript><p>caf&eacute; &lt;tag&gt; &#x263A;</p></body></html>`), "html",
			"The Title\nHeading & more\nFirst paragraph, bold and link.\none\ntwo\nk\tv\na\t1\n  keep\n    this\ncafé <tag> ☺"},
		{"htm fragment", "f.htm", []byte("just <i>text</i> and a<br>break"), "html", "just text and a\nbreak"},
		{"csv", "t.csv", []byte("name,city\n\"Doe, Jane\",Zürich\nBob,\"multi\nline\"\n"), "csv", "name\tcity\nDoe, Jane\tZürich\nBob\tmulti\nline"},
		{"csv semicolons", "eu.csv", []byte("a;b;c\n1,5;2;3\n"), "csv", "a\tb\tc\n1,5\t2\t3"},
		{"csv ragged", "r.csv", []byte("a,b\n1\n2,3,4\n"), "csv", "a\tb\n1\n2\t3\t4"},
		{"json", "d.json", []byte(`{"title":"Report","n":3,"ok":true,"tags":["alpha","beta"],"nested":{"note":"deep \u00e9","x":null},"empty":{}}`), "json", "Report\nalpha\nbeta\ndeep é"},
		{"json lines", "l.json", []byte("{\"a\":\"one\"}\n{\"a\":\"two\"}\n"), "json", "one\ntwo"},
		{"json keys are not text", "k.json", []byte(`{"key":{"inner":["v"]},"k2":"v2"}`), "json", "v\nv2"},
		{"docx", "w.docx", makeDOCX(t,
			wp("Hello ", "Word"),
			`<w:p><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t><w:br/><w:t>c</w:t></w:r><w:r><w:instrText>PAGE</w:instrText></w:r></w:p>`,
			wp("Ünïcödé ✓"),
		), "docx", "Hello Word\na\tb\nc\nÜnïcödé ✓"},
		{"odt", "o.odt", makeODT(t,
			`<text:h text:outline-level="1">Heading</text:h><text:p>one<text:s text:c="3"/>two<text:tab/>three<text:line-break/>four</text:p><text:p>élan</text:p>`,
		), "odt", "Heading\none   two\tthree\nfour\nélan"},
		{"pdf", "p.pdf", makePDF(t, []string{"Hello PDF world", "caf\\351 na\\357ve"}, []string{"Page two"}), "pdf", "Hello PDF world\ncafé naïve\n\nPage two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.file, tt.content)
			res := run(t, "extract", docs.ExtractArgs{Path: p})
			var out docs.ExtractResult
			res.Decode(&out)
			want := docs.ExtractResult{Text: tt.text, Format: tt.format, Chars: len([]rune(tt.text))}
			if diff := cmp.Diff(want, out); diff != "" {
				t.Errorf("extract %s (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestExtractMaxChars(t *testing.T) {
	p := writeFile(t, t.TempDir(), "long.txt", []byte(strings.Repeat("äb", 10)))
	res := run(t, "extract", docs.ExtractArgs{Path: p, MaxChars: 5})
	var out docs.ExtractResult
	res.Decode(&out)
	if diff := cmp.Diff(docs.ExtractResult{Text: "äbäbä", Format: "txt", Chars: 20, Truncated: true}, out); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	res = run(t, "extract", docs.ExtractArgs{Path: p, MaxChars: 20})
	res.Decode(&out)
	if out.Truncated || out.Chars != 20 || len([]rune(out.Text)) != 20 {
		t.Errorf("at exactly max_chars: %+v", out)
	}
}

func TestExtractRefusals(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		file    string
		content []byte
		kind    string
		parts   []string
	}{
		{"unknown extension", "a.rtf", []byte(`{\rtf1 hello}`), "unsupported_format", []string{".rtf", "a.rtf", ".docx"}},
		{"image", "pic.png", pngBytes, "unsupported_format", []string{".png"}},
		{"binary named txt", "bin.txt", binaryBytes, "unsupported_format", []string{"bin.txt", "not text", "application/octet-stream"}},
		{"binary without extension", "blob", binaryBytes, "unsupported_format", []string{"blob", "no extension"}},
		{"text named docx", "fake.docx", []byte("not a zip"), "unsupported_format", []string{"fake.docx", "text/plain"}},
		{"zip named docx", "z.docx", makeZip(t, zipEntry{name: "a.txt", body: "x"}), "unsupported_format", []string{"z.docx", "application/zip"}},
		{"odt named docx", "o.docx", makeODT(t, "<text:p>x</text:p>"), "unsupported_format", []string{"o.docx", "opendocument"}},
		{"text named pdf", "fake.pdf", []byte("hello"), "unsupported_format", []string{"fake.pdf"}},
		{"broken pdf", "broken.pdf", []byte("%PDF-1.4\n1 0 obj << >> endobj\ngarbage"), "unsupported_format", []string{"broken.pdf", "cannot read this PDF"}},
		// This one makes the PDF reader panic; the panic is recovered.
		{"pdf that panics the reader", "panic.pdf", bytes.Replace(makePDF(t, []string{"x"}), []byte("/Resources << /Font"), []byte("/Resources << 5Font"), 1), "unsupported_format", []string{"panic.pdf", "cannot read this PDF"}},
		{"broken docx xml", "bad.docx", makeZip(t, zipEntry{name: "word/document.xml", body: "<w:document><w:body><unclosed></w:document>"}), "unsupported_format", []string{"bad.docx", "broken word/document.xml"}},
		{"broken json", "bad.json", []byte(`{"a": [1, 2}`), "unsupported_format", []string{"bad.json", "invalid JSON at byte"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.file, tt.content)
			res := run(t, "extract", docs.ExtractArgs{Path: p})
			wantErr(t, res, tt.kind, tt.parts...)
			if res.Err.Retryable {
				t.Error("marked retryable")
			}
		})
	}
}

// TestBadPaths covers every task: a missing file, a directory and a
// non-regular file are invalid_args naming the path, before anything is
// read.
func TestBadPaths(t *testing.T) {
	dir := t.TempDir()
	missing := dir + "/nope.txt"
	fifo := mkfifo(t, dir)
	notDir := writeFile(t, dir, "file.txt", []byte("x")) + "/below.txt"
	rules := &docs.Rules{Categories: []docs.Category{{Name: "a", Keywords: []string{"x"}}}}
	for _, task := range []string{"inspect", "extract", "analyze", "categorize", "organize"} {
		for _, c := range []struct{ path, want string }{
			{missing, "does not exist"},
			{dir, "is a directory"},
			{fifo, "not a regular file"},
			{notDir, "not a directory"},
		} {
			t.Run(task+"/"+c.want, func(t *testing.T) {
				args := map[string]any{"path": c.path}
				if task == "categorize" || task == "organize" {
					args["rules"] = rules
				}
				if task == "organize" {
					args["dest"] = t.TempDir()
				}
				wantErr(t, run(t, task, args), "invalid_args", c.path, c.want)
			})
		}
		t.Run(task+"/empty path", func(t *testing.T) {
			wantErr(t, run(t, task, json.RawMessage(`{"path":""}`)), "invalid_args", "path is empty")
		})
	}
}

// TestUnreadableFile needs a user the permission bits apply to; root
// reads anything (TestOpenErrorPermission covers the message then).
func TestUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	p := writeFile(t, t.TempDir(), "secret.txt", []byte("x"))
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, run(t, "extract", docs.ExtractArgs{Path: p}), "invalid_args", p, "not readable")
}

// TestNonUTF8ErrorText: an error quoting bytes of a broken document that
// are not UTF-8 still reaches the host with its kind, instead of breaking
// the stream (the protocol's strings must be UTF-8).
func TestNonUTF8ErrorText(t *testing.T) {
	pdf := bytes.Replace(makePDF(t, []string{"x"}), []byte("/Resources << /Font"), []byte("/Resources << 5\xfeont"), 1)
	p := writeFile(t, t.TempDir(), "bytes.pdf", pdf)
	wantErr(t, run(t, "extract", docs.ExtractArgs{Path: p}), "unsupported_format", "bytes.pdf", "\uFFFD")
}
