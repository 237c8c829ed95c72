package docs

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// csvText returns a CSV file's cells, a row a line and cells separated by
// tabs. The separator is guessed from the first line (comma, semicolon as
// spreadsheets in many European locales write, or tab); rows may have
// different lengths and stray quotes are tolerated.
func csvText(ctx context.Context, src string) (string, error) {
	r := csv.NewReader(strings.NewReader(src))
	r.Comma = csvSeparator(src)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = true
	var sb strings.Builder
	sb.Grow(len(src))
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return strings.TrimSuffix(sb.String(), "\n"), nil
		}
		if err != nil {
			return "", fmt.Errorf("invalid CSV: %w", err)
		}
		sb.WriteString(strings.Join(rec, "\t"))
		sb.WriteByte('\n')
	}
}

// csvSeparator guesses the separator from the first line: whichever of
// comma, semicolon and tab appears most often outside quotes.
func csvSeparator(src string) rune {
	line, _, _ := strings.Cut(src, "\n")
	counts := map[rune]int{}
	quoted := false
	for _, r := range line {
		switch r {
		case '"':
			quoted = !quoted
		case ',', ';', '\t':
			if !quoted {
				counts[r]++
			}
		}
	}
	best := ','
	for _, r := range []rune{';', '\t'} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

// jsonText returns the string values of a JSON document (or of a stream of
// documents, as in JSON Lines), a value a line, in document order. Object
// keys, numbers, booleans and nulls are structure, not text, and are left
// out.
func jsonText(ctx context.Context, src string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	// containers holds, for each open container, whether it is an object
	// expecting a key next (true) or a value (false); arrays are never
	// expecting keys.
	type container struct{ object, wantKey bool }
	var stack []container
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	var lines []string
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
		}
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("invalid JSON at byte %d: %s", dec.InputOffset(), strings.TrimPrefix(err.Error(), "json: "))
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, container{object: true, wantKey: true})
			case '[':
				stack = append(stack, container{})
			case '}', ']':
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				stack[n-1].wantKey = false
				continue
			}
			lines = append(lines, v)
			valueDone()
		default:
			valueDone()
		}
	}
	return strings.Join(lines, "\n"), nil
}
