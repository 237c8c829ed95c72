package docs

import (
	"context"
	"fmt"
	"strings"

	"github.com/ledongthuc/pdf"

	"github.com/batchhost/batchhost/sdk"
)

// pdfText returns the text of a PDF's pages, read with a pure-Go PDF
// reader, a page after the other with a blank line between pages. The
// reader knows text drawn with standard and embedded fonts; a scanned PDF
// (images only) has no text and gives "". The reader panics on some
// malformed files; that is recovered here and reported as
// unsupported_format, so one bad PDF does not crash the plugin process.
func pdfText(ctx context.Context, job *sdk.Job, src *source, lo, hi float64) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", unsupported(fmt.Errorf("%s: cannot read this PDF: %v", src.path, r))
		}
	}()
	r, err := pdf.NewReader(src.f, src.size())
	if err != nil {
		return "", unsupported(fmt.Errorf("%s: cannot read this PDF: %w", src.path, err))
	}
	pages := r.NumPage()
	var sb strings.Builder
	for i := 1; i <= pages; i++ {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		p := r.Page(i)
		if p.V.IsNull() {
			continue
		}
		s, err := p.GetPlainText(nil)
		if err != nil {
			return "", unsupported(fmt.Errorf("%s: page %d: %w", src.path, i, err))
		}
		if s = strings.TrimSpace(normalizeNewlines(s)); s != "" {
			if sb.Len() > 0 {
				sb.WriteString("\n\n")
			}
			sb.WriteString(s)
		}
		if pages >= 10 && i%(pages/10) == 0 {
			job.Progress(lo+(hi-lo)*float64(i)/float64(pages), fmt.Sprintf("reading page %d/%d", i, pages))
		}
	}
	return sb.String(), nil
}
