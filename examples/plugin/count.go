package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"unicode"

	"github.com/batchhost/batchhost/sdk"
)

// CountArgs are the args of wordfreq.count: exactly one of Text and Path.
type CountArgs struct {
	Text string `json:"text"`
	Path string `json:"path"`
	// Top is how many of the most frequent words to return; default 10.
	Top int `json:"top"`
}

// maxTop bounds Top so that a typo cannot ask for a huge result.
const maxTop = 1000

// Validate is called by the SDK after decoding; an error here is an
// invalid_args failure, never retried.
func (a CountArgs) Validate() error {
	switch {
	case a.Text == "" && a.Path == "":
		return errors.New(`give "text" or "path"`)
	case a.Text != "" && a.Path != "":
		return errors.New(`give "text" or "path", not both`)
	case a.Top < 0 || a.Top > maxTop:
		return fmt.Errorf("top must be between 1 and %d, got %d", maxTop, a.Top)
	}
	return nil
}

// WordCount is one entry of the result's top list.
type WordCount struct {
	Word  string `json:"word"`
	Count int    `json:"count"`
}

// CountResult is the result of wordfreq.count.
type CountResult struct {
	Words  int         `json:"words"`
	Unique int         `json:"unique"`
	Top    []WordCount `json:"top"`
}

func count(ctx context.Context, job *sdk.Job, in CountArgs) (CountResult, error) {
	top := in.Top
	if top == 0 {
		top = 10
	}
	r, size, closeFn, err := open(in)
	if err != nil {
		return CountResult{}, err
	}
	defer closeFn()

	counts := map[string]int{}
	total := 0
	read := &countingReader{r: r}
	// Report progress about a hundred times however big the input, never
	// more often than every 64 KiB.
	step := max(size/100, 64<<10)
	next := step
	sc := bufio.NewScanner(read)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		for _, w := range strings.FieldsFunc(sc.Text(), notWordRune) {
			counts[strings.ToLower(w)]++
			total++
		}
		if read.n >= next {
			if err := ctx.Err(); err != nil {
				return CountResult{}, err
			}
			job.Progress(float64(read.n)/float64(size), fmt.Sprintf("%d words so far", total))
			next += step
		}
	}
	if err := sc.Err(); err != nil {
		// A read error may be passing (a network file system): retry.
		return CountResult{}, fmt.Errorf("read %s: %w", in.Path, err)
	}
	if total == 0 {
		// The same input would give the same nothing: do not retry.
		return CountResult{}, sdk.Permanent(errors.New("the input has no words"))
	}
	job.Progress(1, fmt.Sprintf("%d words", total))
	job.Log().Info("counted", "words", total, "unique", len(counts))
	return CountResult{Words: total, Unique: len(counts), Top: topN(counts, top)}, nil
}

// open returns the input as a reader with its size in bytes. A missing
// file or a directory is a permanent error naming the path: retrying
// cannot make the file appear.
func open(in CountArgs) (io.Reader, int64, func(), error) {
	if in.Path == "" {
		return strings.NewReader(in.Text), int64(len(in.Text)), func() {}, nil
	}
	f, err := os.Open(in.Path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return nil, 0, nil, sdk.Permanent(err)
	}
	if err != nil {
		return nil, 0, nil, err
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = sdk.Permanent(fmt.Errorf("%s is a directory, not a file", in.Path))
	}
	if err != nil {
		_ = f.Close()
		return nil, 0, nil, err
	}
	return f, st.Size(), func() { _ = f.Close() }, nil
}

func notWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' }

// topN returns the n most frequent words, ties broken alphabetically so the
// result is the same on every run.
func topN(counts map[string]int, n int) []WordCount {
	all := make([]WordCount, 0, len(counts))
	for w, c := range counts {
		all = append(all, WordCount{Word: w, Count: c})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Count != all[j].Count {
			return all[i].Count > all[j].Count
		}
		return all[i].Word < all[j].Word
	})
	return all[:min(n, len(all))]
}

// countingReader counts the bytes read through it, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
