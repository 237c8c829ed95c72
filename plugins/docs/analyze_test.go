package docs_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/plugins/docs"
)

// Samples of running text, as a document in each language would have.
var samples = map[string]string{
	"en": `The committee met on Tuesday to review the budget for the coming year. After a long discussion,
the members agreed that the library should receive more money, because the number of visitors has grown
and the old building needs repairs. They will vote on the final plan when the report is ready.`,
	"de": `Der Ausschuss hat sich am Dienstag getroffen, um den Haushalt für das kommende Jahr zu prüfen. Nach
einer langen Diskussion waren sich die Mitglieder einig, dass die Bibliothek mehr Geld bekommen soll, weil
die Zahl der Besucher gewachsen ist und das alte Gebäude repariert werden muss.`,
	"fr": `Le comité s'est réuni mardi pour examiner le budget de l'année prochaine. Après une longue
discussion, les membres ont convenu que la bibliothèque devrait recevoir plus d'argent, car le nombre de
visiteurs a augmenté et le vieux bâtiment a besoin de réparations. Ils voteront sur le plan final quand le
rapport sera prêt.`,
	"es": `El comité se reunió el martes para revisar el presupuesto del próximo año. Después de una larga
discusión, los miembros acordaron que la biblioteca debe recibir más dinero, porque el número de
visitantes ha crecido y el edificio antiguo necesita reparaciones. Votarán sobre el plan final cuando el
informe esté listo.`,
}

func TestAnalyzeLanguage(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"unknown-cjk":     "日本語の文章は、空白で単語を区切らないので、この方法では言語を判定できません。",
		"unknown-numbers": "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
		"unknown-short":   "the end",
		"unknown-code":    "func main() { fmt.Println(x) } // x := y + z; return err",
		"unknown-empty":   "",
	}
	for lang, s := range samples {
		cases[lang] = s
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, dir, name+".txt", []byte(text))
			var out docs.AnalyzeResult
			run(t, "analyze", docs.AnalyzeArgs{Path: p}).Decode(&out)
			want, _, _ := strings.Cut(name, "-")
			if out.Language != want {
				t.Errorf("language %q, want %q", out.Language, want)
			}
		})
	}
}

func TestAnalyzeCounts(t *testing.T) {
	text := "Invoice invoice INVOICE — total: 42 EUR.\nThe invoice's total is due; e-mail the office.\n\nPayment payment Zürich zürich 😀 ok\n"
	p := writeFile(t, t.TempDir(), "c.txt", []byte(text))
	var out docs.AnalyzeResult
	run(t, "analyze", docs.AnalyzeArgs{Path: p}).Decode(&out)
	want := docs.AnalyzeResult{
		Format:     "txt",
		Words:      19, // the dash and the emoji are not words
		Lines:      4,
		Characters: len([]rune(text)),
		TopKeywords: []docs.Keyword{
			{Word: "invoice", Count: 4}, // "invoice's" splits at the apostrophe
			{Word: "payment", Count: 2},
			{Word: "total", Count: 2},
			{Word: "zürich", Count: 2},
			{Word: "due", Count: 1},
			{Word: "eur", Count: 1},
			{Word: "mail", Count: 1},
			{Word: "office", Count: 1},
		},
		Language:           "en",
		ReadingTimeSeconds: 5, // 19 words at 230 a minute is 4.96 s, rounded up
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAnalyzeEmptyAndTopTen(t *testing.T) {
	dir := t.TempDir()
	var out docs.AnalyzeResult
	run(t, "analyze", docs.AnalyzeArgs{Path: writeFile(t, dir, "e.txt", nil)}).Decode(&out)
	if diff := cmp.Diff(docs.AnalyzeResult{Format: "txt", TopKeywords: []docs.Keyword{}, Language: "unknown"}, out); diff != "" {
		t.Errorf("empty file (-want +got):\n%s", diff)
	}

	var sb strings.Builder
	for i, w := range strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima") {
		sb.WriteString(strings.Repeat(w+" ", 20-i))
	}
	run(t, "analyze", docs.AnalyzeArgs{Path: writeFile(t, dir, "many.txt", []byte(sb.String()))}).Decode(&out)
	if len(out.TopKeywords) != 10 || out.TopKeywords[0] != (docs.Keyword{Word: "alpha", Count: 20}) || out.TopKeywords[9] != (docs.Keyword{Word: "juliet", Count: 11}) {
		t.Errorf("top keywords %+v, want alpha×20 ... juliet×11", out.TopKeywords)
	}
	if out.ReadingTimeSeconds != (out.Words*60+229)/230 {
		t.Errorf("reading time %d s for %d words", out.ReadingTimeSeconds, out.Words)
	}
}

// TestAnalyzeUsesExtraction: analyze counts the text, not the markup.
func TestAnalyzeUsesExtraction(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"h.html": []byte(`<html><head><script>var secret = "hidden hidden hidden";</script></head><body><p>visible words here</p></body></html>`),
		"w.docx": makeDOCX(t, wp("visible words"), wp("here")),
		"p.pdf":  makePDF(t, []string{"visible words here"}),
	}
	for name, content := range files {
		var out docs.AnalyzeResult
		run(t, "analyze", docs.AnalyzeArgs{Path: writeFile(t, dir, name, content)}).Decode(&out)
		if out.Words != 3 || len(out.TopKeywords) != 3 || out.TopKeywords[0].Word == "hidden" {
			t.Errorf("%s: %+v, want 3 words and no script text", name, out)
		}
	}
}

func TestAnalyzeBinary(t *testing.T) {
	p := writeFile(t, t.TempDir(), "blob.dat", binaryBytes)
	wantErr(t, run(t, "analyze", docs.AnalyzeArgs{Path: p}), "unsupported_format", ".dat")
}
