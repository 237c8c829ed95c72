package docs

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/batchhost/batchhost/sdk"
)

// The formats docs reads, as reported in results.
const (
	formatTXT  = "txt"
	formatMD   = "md"
	formatHTML = "html"
	formatCSV  = "csv"
	formatJSON = "json"
	formatDOCX = "docx"
	formatODT  = "odt"
	formatPDF  = "pdf"
)

// formatByExt maps a lowercase extension to the format that reads it.
var formatByExt = map[string]string{
	".txt": formatTXT, ".text": formatTXT, ".log": formatTXT,
	".md": formatMD, ".markdown": formatMD,
	".html": formatHTML, ".htm": formatHTML,
	".csv":  formatCSV,
	".json": formatJSON,
	".docx": formatDOCX,
	".odt":  formatODT,
	".pdf":  formatPDF,
}

// supportedExts is the list error messages give.
const supportedExts = ".txt, .md, .html, .htm, .csv, .json, .docx, .odt, .pdf"

// chooseFormat picks the reader for a file from its extension, and checks
// that the content agrees: a binary named .txt or a text named .docx is
// refused as unsupported_format rather than read as garbage. A file
// without an extension is read by its content alone.
func chooseFormat(path, media string) (string, error) {
	mt, _, _ := mime.ParseMediaType(media)
	isText := strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/yaml"
	ext := strings.ToLower(filepath.Ext(path))
	if ext == "" {
		switch {
		case mt == "text/html":
			return formatHTML, nil
		case isText:
			return formatTXT, nil
		case mt == mediaPDF:
			return formatPDF, nil
		case mt == mediaDOCX:
			return formatDOCX, nil
		case mt == mediaODT:
			return formatODT, nil
		}
		return "", unsupported(fmt.Errorf("%s has no extension and its content (%s) is not a format docs reads (%s)", path, media, supportedExts))
	}
	format, ok := formatByExt[ext]
	if !ok {
		return "", unsupported(fmt.Errorf("unsupported format %s of %s: docs reads %s", ext, path, supportedExts))
	}
	var want string
	switch format {
	case formatDOCX:
		want = mediaDOCX
	case formatODT:
		want = mediaODT
	case formatPDF:
		want = mediaPDF
	default:
		if !isText {
			return "", unsupported(fmt.Errorf("%s is named %s but its content is not text (%s)", path, ext, media))
		}
		return format, nil
	}
	if mt != want {
		return "", unsupported(fmt.Errorf("%s is named %s but its content is %s, not %s", path, ext, media, want))
	}
	return format, nil
}

// extractor reads one format's text from src, reporting progress in
// [lo, hi].
type extractor func(ctx context.Context, job *sdk.Job, src *source, lo, hi float64) (string, error)

var extractors = map[string]extractor{
	formatTXT:  plainText,
	formatMD:   plainText,
	formatHTML: textThen(htmlText),
	formatCSV:  textThen(csvText),
	formatJSON: textThen(jsonText),
	formatDOCX: docxText,
	formatODT:  odtText,
	formatPDF:  pdfText,
}

// document is a file's extracted text.
type document struct {
	path   string // absolute
	format string
	text   string
}

// extractText opens path, picks its format and extracts its text; every
// task that looks at a document's words goes through it.
func extractText(ctx context.Context, job *sdk.Job, path string, lo, hi float64) (document, error) {
	src, err := openSource(path)
	if err != nil {
		return document{}, err
	}
	defer src.Close()
	media, err := mediaType(src)
	if err != nil {
		return document{}, readError(ctx, src.path, err)
	}
	format, err := chooseFormat(src.path, media)
	if err != nil {
		return document{}, err
	}
	text, err := extractors[format](ctx, job, src, lo, hi)
	if err != nil {
		return document{}, err
	}
	return document{path: src.path, format: format, text: text}, nil
}

// plainText reads a text file as it is (markdown keeps its markup).
func plainText(ctx context.Context, job *sdk.Job, src *source, lo, hi float64) (string, error) {
	b, err := readAll(ctx, job, src, lo, hi)
	if err != nil {
		return "", err
	}
	return decodeText(b), nil
}

// textThen reads a text file and hands its decoded text to parse.
func textThen(parse func(ctx context.Context, text string) (string, error)) extractor {
	return func(ctx context.Context, job *sdk.Job, src *source, lo, hi float64) (string, error) {
		text, err := plainText(ctx, job, src, lo, hi)
		if err != nil {
			return "", err
		}
		out, err := parse(ctx, text)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return "", ctxErr
			}
			return "", unsupported(fmt.Errorf("%s: %w", src.path, err))
		}
		return out, nil
	}
}

// Bounds of ExtractArgs.MaxChars.
const (
	defaultMaxChars = 200_000
	maxMaxChars     = 50_000_000
)

// ExtractArgs are docs.extract's arguments.
type ExtractArgs struct {
	// Path is the document. Its extension picks the format, and its
	// content must agree (see the package comment).
	Path string `json:"path"`
	// MaxChars caps the text returned, in characters (default 200000, at
	// most 50000000). The host caps a job's result (1 MiB by default), so
	// raise it only with the host's cap.
	MaxChars int `json:"max_chars,omitempty"`
}

// Validate refuses an empty path and an out-of-range MaxChars.
func (a ExtractArgs) Validate() error {
	if err := checkPath("path", a.Path); err != nil {
		return err
	}
	if a.MaxChars < 0 || a.MaxChars > maxMaxChars {
		return fmt.Errorf("max_chars must be between 0 (the default, %d) and %d, got %d", defaultMaxChars, maxMaxChars, a.MaxChars)
	}
	return nil
}

// ExtractResult is docs.extract's result.
type ExtractResult struct {
	// Text is the document's plain text, up to MaxChars characters.
	Text string `json:"text"`
	// Format is the format it was read as: txt, md, html, csv, json, docx,
	// odt or pdf.
	Format string `json:"format"`
	// Chars is the length of the whole text in characters, even when Text
	// was cut.
	Chars int `json:"chars"`
	// Truncated is true when Text holds only the first MaxChars characters.
	Truncated bool `json:"truncated"`
}

func extract(ctx context.Context, job *sdk.Job, in ExtractArgs) (ExtractResult, error) {
	doc, err := extractText(ctx, job, in.Path, 0, 0.9)
	if err != nil {
		return ExtractResult{}, err
	}
	limit := in.MaxChars
	if limit == 0 {
		limit = defaultMaxChars
	}
	text, chars := cutChars(doc.text, limit)
	return ExtractResult{Text: text, Format: doc.format, Chars: chars, Truncated: len(text) < len(doc.text)}, nil
}

// cutChars returns s cut to at most n characters, and the number of
// characters in all of s.
func cutChars(s string, n int) (string, int) {
	chars := utf8.RuneCountInString(s)
	if chars <= n {
		return s, chars
	}
	cut := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	return s[:cut], chars
}

// errUnreadable marks the errors of documents whose text docs cannot
// read (an unsupported or broken format), so that organize can file them
// into the default category when asked to instead of failing.
var errUnreadable = errors.New("document text cannot be read")

type unreadableError struct{ error }

func (e unreadableError) Unwrap() error        { return e.error }
func (e unreadableError) Is(target error) bool { return target == errUnreadable }

// unsupported is an unsupported_format error that organize recognizes.
func unsupported(err error) error { return sdk.UnsupportedFormat(unreadableError{err}) }
