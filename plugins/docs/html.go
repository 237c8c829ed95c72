package docs

import (
	"context"
	"errors"
	"io"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlDropped are elements whose content is not text for a reader:
// scripts, styles and the like. (The tokenizer already reads script and
// style as raw text; this drops it.)
var htmlDropped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Svg: true, atom.Math: true, atom.Iframe: true, atom.Object: true,
}

// htmlBlocks are elements that start a new line.
var htmlBlocks = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true, atom.Br: true,
	atom.Dd: true, atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Fieldset: true,
	atom.Figcaption: true, atom.Figure: true, atom.Footer: true, atom.Form: true, atom.H1: true,
	atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true, atom.Header: true,
	atom.Hr: true, atom.Li: true, atom.Main: true, atom.Nav: true, atom.Ol: true, atom.P: true,
	atom.Pre: true, atom.Section: true, atom.Table: true, atom.Title: true, atom.Tr: true,
	atom.Ul: true, atom.Caption: true, atom.Thead: true, atom.Tbody: true, atom.Tfoot: true,
	atom.Option: true, atom.Summary: true, atom.Details: true,
}

// htmlText returns the readable text of an HTML document: tags stripped,
// scripts and styles dropped, entities decoded, white space collapsed as a
// browser would, block elements on their own lines and table cells
// separated by tabs. Malformed HTML is read as leniently as browsers do.
func htmlText(ctx context.Context, src string) (string, error) {
	z := html.NewTokenizer(strings.NewReader(src))
	var w lineWriter
	dropped, pre := 0, 0
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return "", err
			}
			return w.String(), nil
		case html.TextToken:
			if dropped == 0 {
				w.text(string(z.Text()), pre > 0)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if htmlDropped[a] {
				if tt == html.StartTagToken {
					dropped++
				}
				continue
			}
			if dropped > 0 {
				continue
			}
			switch {
			case a == atom.Td || a == atom.Th:
				w.cell()
			case htmlBlocks[a]:
				w.newline()
			}
			if a == atom.Pre && tt == html.StartTagToken {
				pre++
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if htmlDropped[a] {
				dropped = max(dropped-1, 0)
				continue
			}
			if dropped > 0 {
				continue
			}
			if htmlBlocks[a] {
				w.newline()
			}
			if a == atom.Pre {
				pre = max(pre-1, 0)
			}
		}
	}
}

// lineWriter builds text a line at a time, collapsing runs of white space
// to one space and never writing empty lines or trailing spaces.
type lineWriter struct {
	sb          strings.Builder
	lineStart   bool // nothing written on the current line yet
	space       bool // white space seen since the last character
	wroteAny    bool
	cellsOnLine bool
	afterTab    bool // the last byte written is a cell's tab
}

func (w *lineWriter) text(s string, preformatted bool) {
	if preformatted {
		for _, line := range strings.SplitAfter(s, "\n") {
			body := strings.TrimRight(line, "\n")
			if body != "" {
				w.start()
				w.sb.WriteString(body)
			}
			if strings.HasSuffix(line, "\n") {
				w.newline()
			}
		}
		return
	}
	for _, r := range s {
		if unicode.IsSpace(r) {
			w.space = true
			continue
		}
		if w.space && !w.lineStart && w.wroteAny && !w.afterTab {
			w.sb.WriteByte(' ')
		}
		w.space = false
		w.start()
		w.sb.WriteRune(r)
	}
}

// start marks that the current line has content.
func (w *lineWriter) start() {
	if w.wroteAny && w.lineStart {
		w.sb.WriteByte('\n')
	}
	w.lineStart, w.wroteAny, w.space, w.afterTab = false, true, false, false
}

// newline ends the current line, if it has anything on it.
func (w *lineWriter) newline() {
	w.lineStart, w.space, w.cellsOnLine = true, false, false
}

// cell starts a table cell: a tab between cells of one row.
func (w *lineWriter) cell() {
	if w.cellsOnLine && !w.lineStart {
		w.sb.WriteByte('\t')
		w.afterTab = true
	}
	w.cellsOnLine, w.space = true, false
}

func (w *lineWriter) String() string { return w.sb.String() }
