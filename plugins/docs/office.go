package docs

import (
	"archive/zip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/batchhost/batchhost/sdk"
)

// maxXMLBytes bounds the uncompressed XML read from an office document, so
// that a zip bomb cannot exhaust the plugin's memory.
const maxXMLBytes = 256 << 20

// XML namespaces of the elements the office readers look at. OOXML has a
// transitional and a strict namespace; both are read.
const (
	nsWordML       = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsWordMLStrict = "http://purl.oclc.org/ooxml/wordprocessingml/main"
	nsODFText      = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
	nsODFOffice    = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
)

// docxText returns the text of a Word document's main part
// (word/document.xml): runs' text, tabs and breaks, a paragraph a line.
// Headers, footers, comments and footnotes are left out.
func docxText(ctx context.Context, job *sdk.Job, src *source, lo, hi float64) (string, error) {
	return officeText(ctx, job, src, "word/document.xml", lo, hi, func(d *xml.Decoder, w *strings.Builder) error {
		inText := false
		for {
			tok, err := d.Token()
			if err != nil {
				return err
			}
			switch t := tok.(type) {
			case xml.StartElement:
				if !isWordML(t.Name.Space) {
					continue
				}
				switch t.Name.Local {
				case "t":
					inText = true
				case "tab":
					w.WriteByte('\t')
				case "br", "cr":
					w.WriteByte('\n')
				}
			case xml.EndElement:
				if !isWordML(t.Name.Space) {
					continue
				}
				switch t.Name.Local {
				case "t":
					inText = false
				case "p":
					w.WriteByte('\n')
				}
			case xml.CharData:
				if inText {
					w.Write(t)
				}
			}
		}
	})
}

func isWordML(ns string) bool { return ns == nsWordML || ns == nsWordMLStrict }

// odtText returns the text of an OpenDocument text's body (content.xml):
// paragraphs and headings a line each, with its encoded spaces, tabs and
// line breaks. Styles and metadata are left out.
func odtText(ctx context.Context, job *sdk.Job, src *source, lo, hi float64) (string, error) {
	return officeText(ctx, job, src, "content.xml", lo, hi, func(d *xml.Decoder, w *strings.Builder) error {
		inBody := 0
		for {
			tok, err := d.Token()
			if err != nil {
				return err
			}
			switch t := tok.(type) {
			case xml.StartElement:
				if t.Name.Space == nsODFOffice && t.Name.Local == "body" {
					inBody++
				}
				if inBody == 0 || t.Name.Space != nsODFText {
					continue
				}
				switch t.Name.Local {
				case "s": // c spaces, one by default
					n := 1
					for _, a := range t.Attr {
						if a.Name.Space == nsODFText && a.Name.Local == "c" {
							if c, err := strconv.Atoi(a.Value); err == nil && c > 0 && c < 1<<16 {
								n = c
							}
						}
					}
					w.WriteString(strings.Repeat(" ", n))
				case "tab":
					w.WriteByte('\t')
				case "line-break":
					w.WriteByte('\n')
				}
			case xml.EndElement:
				if t.Name.Space == nsODFOffice && t.Name.Local == "body" {
					inBody--
				}
				if inBody > 0 && t.Name.Space == nsODFText && (t.Name.Local == "p" || t.Name.Local == "h") {
					w.WriteByte('\n')
				}
			case xml.CharData:
				if inBody > 0 {
					w.Write(t)
				}
			}
		}
	})
}

// officeText opens the zip entry part of src and runs read over its XML,
// which returns io.EOF when the document is read. A file that is not a
// readable archive with that part, or whose XML is broken, is
// unsupported_format.
func officeText(ctx context.Context, job *sdk.Job, src *source, part string, lo, hi float64, read func(*xml.Decoder, *strings.Builder) error) (string, error) {
	zr, err := zip.NewReader(src.f, src.size())
	if err != nil {
		return "", unsupported(fmt.Errorf("%s is not a readable zip archive: %w", src.path, err))
	}
	var entry *zip.File
	for _, f := range zr.File {
		if f.Name == part {
			entry = f
			break
		}
	}
	if entry == nil {
		return "", unsupported(fmt.Errorf("%s has no %s: not a valid document", src.path, part))
	}
	rc, err := entry.Open()
	if err != nil {
		return "", unsupported(fmt.Errorf("%s: open %s: %w", src.path, part, err))
	}
	defer rc.Close()
	total := min(int64(entry.UncompressedSize64), maxXMLBytes)
	limited := &limitedReader{r: rc, left: maxXMLBytes}
	d := xml.NewDecoder(newMeter(ctx, job, limited, total, "reading", lo, hi))
	var sb strings.Builder
	err = read(d, &sb)
	switch {
	case errors.Is(err, io.EOF):
		return strings.TrimRight(sb.String(), "\n"), nil
	case ctx.Err() != nil:
		return "", ctx.Err()
	case errors.Is(err, errTooLarge):
		return "", sdk.Permanent(fmt.Errorf("%s: %s is larger than %d MiB uncompressed", src.path, part, maxXMLBytes>>20))
	}
	return "", unsupported(fmt.Errorf("%s: broken %s: %w", src.path, part, err))
}

var errTooLarge = errors.New("too large")

// limitedReader is io.LimitReader that fails with errTooLarge instead of
// ending quietly, so that a cut document is not mistaken for a whole one.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
