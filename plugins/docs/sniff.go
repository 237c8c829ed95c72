package docs

import (
	"archive/zip"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
)

// Media types that content sniffing alone does not name: office documents
// are zip archives, told apart by the entries inside.
const (
	mediaDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	mediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	mediaPPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	mediaODT  = "application/vnd.oasis.opendocument.text"
	mediaPDF  = "application/pdf"
	mediaZip  = "application/zip"
)

// textByExt refines text/plain by the file's extension. It is consulted
// only when the content sniffs as plain text, so a misnamed binary is
// never called markdown.
var textByExt = map[string]string{
	".md":       "text/markdown",
	".markdown": "text/markdown",
	".csv":      "text/csv",
	".tsv":      "text/tab-separated-values",
	".json":     "application/json",
	".html":     "text/html",
	".htm":      "text/html",
	".xml":      "text/xml",
	".yaml":     "application/yaml",
	".yml":      "application/yaml",
}

// sniffLen is how much of a file http.DetectContentType looks at.
const sniffLen = 512

// mediaType detects src's media type from its content: net/http's
// sniffing (the WHATWG algorithm), zip archives looked into for office
// documents, and plain text refined by extension.
func mediaType(src *source) (string, error) {
	head := make([]byte, sniffLen)
	n, err := src.f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return "", err
	}
	sniffed := http.DetectContentType(head[:n])
	mt, params, err := mime.ParseMediaType(sniffed)
	if err != nil {
		return sniffed, nil
	}
	switch mt {
	case mediaZip:
		if office := zipMediaType(src); office != "" {
			return office, nil
		}
	case "text/plain":
		if refined, ok := textByExt[strings.ToLower(filepath.Ext(src.path))]; ok {
			return mime.FormatMediaType(refined, params), nil
		}
	}
	return sniffed, nil
}

// zipMediaType names the office format of a zip archive, or "" if it is
// none it knows (or not a readable archive).
func zipMediaType(src *source) string {
	zr, err := zip.NewReader(src.f, src.size())
	if err != nil {
		return ""
	}
	for _, f := range zr.File {
		switch f.Name {
		case "word/document.xml":
			return mediaDOCX
		case "xl/workbook.xml":
			return mediaXLSX
		case "ppt/presentation.xml":
			return mediaPPTX
		case "mimetype":
			// OpenDocument stores its media type as the first, uncompressed
			// entry; take it when it is an OpenDocument type.
			if mt := readSmall(f, 128); strings.HasPrefix(mt, "application/vnd.oasis.opendocument.") {
				return mt
			}
		}
	}
	return ""
}

// readSmall returns up to n bytes of a zip entry as a trimmed string, or ""
// if it cannot be read.
func readSmall(f *zip.File, n int64) string {
	rc, err := f.Open()
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, n))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
