package docs_test

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/plugins/docs"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

// run runs a docs task through the real protocol.
func run(t *testing.T, task string, args any, opts ...sdktest.Option) *sdktest.Result {
	t.Helper()
	return sdktest.Run(t, docs.Plugin(), task, args, opts...)
}

// wantErr fails the test unless res failed with kind and a message
// containing every one of parts; retryable must match the kind's rule.
func wantErr(t *testing.T, res *sdktest.Result, kind string, parts ...string) {
	t.Helper()
	if res.Err == nil {
		t.Fatalf("succeeded with %s, want a %s error", res.Output, kind)
	}
	if res.Err.Kind != kind {
		t.Fatalf("error kind %s (%s), want %s", res.Err.Kind, res.Err.Message, kind)
	}
	for _, p := range parts {
		if !strings.Contains(res.Err.Message, p) {
			t.Errorf("error %q does not mention %q", res.Err.Message, p)
		}
	}
	if strings.Contains(res.Err.Message, "\n") {
		t.Errorf("error %q is not one line", res.Err.Message)
	}
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type zipEntry struct {
	name, body string
	store      bool // uncompressed, as ODF requires for "mimetype"
}

func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		method := zip.Deflate
		if e.store {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// makeDOCX builds a minimal Word document whose body is the given
// paragraph XML fragments (w:p elements), as Word writes them.
func makeDOCX(t testing.TB, paragraphs ...string) []byte {
	t.Helper()
	doc := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` +
		strings.Join(paragraphs, "") + `<w:sectPr/></w:body></w:document>`
	return makeZip(t,
		zipEntry{name: "[Content_Types].xml", body: `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		zipEntry{name: "_rels/.rels", body: `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>`},
		zipEntry{name: "word/document.xml", body: doc},
	)
}

// wp is a Word paragraph of plain runs.
func wp(runs ...string) string {
	var sb strings.Builder
	sb.WriteString("<w:p>")
	for _, r := range runs {
		fmt.Fprintf(&sb, `<w:r><w:t xml:space="preserve">%s</w:t></w:r>`, r)
	}
	sb.WriteString("</w:p>")
	return sb.String()
}

// makeODT builds a minimal OpenDocument text whose body is the given
// XML fragment.
func makeODT(t testing.TB, body string) []byte {
	t.Helper()
	content := `<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0">
<office:automatic-styles><style:style style:name="P1">not text</style:style></office:automatic-styles>
<office:body><office:text>` + body + `</office:text></office:body></office:document-content>`
	return makeZip(t,
		zipEntry{name: "mimetype", body: "application/vnd.oasis.opendocument.text", store: true},
		zipEntry{name: "META-INF/manifest.xml", body: `<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>`},
		zipEntry{name: "content.xml", body: content},
	)
}

// makePDF builds a PDF with one page per element of pages, each showing
// its lines in Helvetica (WinAnsiEncoding: octal escapes give accents),
// with Flate-compressed content streams as real writers produce.
func makePDF(t testing.TB, pages ...[]string) []byte {
	t.Helper()
	var b bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	var kids []string
	for i := range pages {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	for i, lines := range pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		var c bytes.Buffer
		c.WriteString("BT /F1 12 Tf 72 720 Td 14 TL\n")
		for _, l := range lines {
			fmt.Fprintf(&c, "(%s) Tj T*\n", l)
		}
		c.WriteString("ET\n")
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		_, _ = zw.Write(c.Bytes())
		_ = zw.Close()
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", len(offsets), z.Len())
		b.Write(z.Bytes())
		b.WriteString("\nendstream\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

// binaryBytes is content no sniffer takes for text or a known format.
var binaryBytes = bytes.Repeat([]byte{0x7f, 0, 1, 2, 3, 0xff, 'a'}, 300)

// pngBytes starts like a PNG image.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), bytes.Repeat([]byte{0, 1, 2, 3, 0xff}, 200)...)
