package docs

import (
	"context"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGuessLanguageShortSentences(t *testing.T) {
	tests := map[string]string{
		"I think that we should leave now, before it gets dark and the roads are closed.":                   "en",
		"Ich glaube, dass wir jetzt gehen sollten, bevor es dunkel wird und die Straßen gesperrt sind.":     "de",
		"Je pense que nous devons partir maintenant, avant la nuit et avant que les routes soient fermées.": "fr",
		"Creo que debemos irnos ahora, antes de que se haga de noche y las carreteras estén cerradas.":      "es",
		"the der le el": "unknown", // one stop word of each: no lead
		"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.": "unknown",
	}
	for text, want := range tests {
		if got := guessLanguage(countTokens(text)); got != want {
			t.Errorf("guessLanguage(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestTokens(t *testing.T) {
	got := tokens("L'homme DON'T e-mail Straße 42x naïve ÉCOLE; x")
	want := []string{"l", "homme", "don", "t", "e", "mail", "straße", "42x", "naïve", "école", "x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCountLinesAndWords(t *testing.T) {
	for _, tt := range []struct {
		text         string
		lines, words int
	}{
		{"", 0, 0},
		{"a", 1, 1},
		{"a\n", 1, 1},
		{"a\nb", 2, 2},
		{"\n\n", 2, 0},
		{" - * • 12 x-y ", 1, 2},
	} {
		if l, w := countLines(tt.text), countWords(tt.text); l != tt.lines || w != tt.words {
			t.Errorf("%q: %d lines %d words, want %d %d", tt.text, l, w, tt.lines, tt.words)
		}
	}
}

func TestCutChars(t *testing.T) {
	for _, tt := range []struct {
		s     string
		n     int
		want  string
		chars int
	}{
		{"", 3, "", 0},
		{"abc", 3, "abc", 3},
		{"abcd", 3, "abc", 4},
		{"日本語です", 2, "日本", 5},
	} {
		got, chars := cutChars(tt.s, tt.n)
		if got != tt.want || chars != tt.chars {
			t.Errorf("cutChars(%q, %d) = %q, %d; want %q, %d", tt.s, tt.n, got, chars, tt.want, tt.chars)
		}
	}
}

func TestSuffixed(t *testing.T) {
	for _, tt := range []struct {
		name string
		i    int
		want string
	}{
		{"a.txt", 0, "a.txt"},
		{"a.txt", 1, "a-1.txt"},
		{"report.final.pdf", 12, "report.final-12.pdf"},
		{"README", 2, "README-2"},
		{".profile", 1, ".profile-1"},
	} {
		if got := suffixed(tt.name, tt.i); got != tt.want {
			t.Errorf("suffixed(%q, %d) = %q, want %q", tt.name, tt.i, got, tt.want)
		}
	}
}

func TestCSVSeparator(t *testing.T) {
	for src, want := range map[string]rune{
		"a,b,c\n":             ',',
		"a;b;c\n1,5;2;3":      ';',
		"a\tb\tc":             '\t',
		`"x;y;z",b` + "\n":    ',',
		"single column\n1\n2": ',',
	} {
		if got := csvSeparator(src); got != want {
			t.Errorf("csvSeparator(%q) = %q, want %q", src, got, want)
		}
	}
}

func TestHTMLTextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := htmlText(ctx, strings.Repeat("<p>x</p>", 10)); err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestCheckCategoryName(t *testing.T) {
	for _, name := range []string{"", ".", "..", ".hidden", "a/b", `a\b`, "a\x00b", " padded", strings.Repeat("x", 256)} {
		if checkCategoryName(name) == nil {
			t.Errorf("checkCategoryName(%q) accepted it", name)
		}
	}
	for _, name := range []string{"invoices", "Rechnungen 2024", "日本", "a.b"} {
		if err := checkCategoryName(name); err != nil {
			t.Errorf("checkCategoryName(%q): %v", name, err)
		}
	}
}

func TestOpenErrorPermission(t *testing.T) {
	err := openError("/x/y.txt", &fs.PathError{Op: "open", Path: "/x/y.txt", Err: syscall.EACCES})
	if got, want := err.Error(), "file /x/y.txt is not readable: permission denied"; got != want {
		t.Errorf("openError = %q, want %q", got, want)
	}
}

func TestMeterStopsAtCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := newMeter(ctx, nil, strings.NewReader(strings.Repeat("x", 10<<20)), 10<<20, "reading", 0, 1)
	buf := make([]byte, 4<<20)
	if n, err := m.Read(buf); err != nil || n != meterChunk {
		t.Fatalf("first read: %d, %v; want %d bytes", n, err, meterChunk)
	}
	cancel()
	if _, err := m.Read(buf); err != context.Canceled {
		t.Errorf("read after cancel: %v, want context.Canceled", err)
	}
}
