package docs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"time"

	"github.com/batchhost/batchhost/sdk"
)

// InspectArgs are docs.inspect's arguments.
type InspectArgs struct {
	// Path is the file to inspect, an absolute path.
	Path string `json:"path"`
}

// Validate refuses an empty path before the task runs.
func (a InspectArgs) Validate() error {
	return checkPath("path", a.Path)
}

// InspectResult is docs.inspect's result.
type InspectResult struct {
	// Path is the absolute path of the file.
	Path string `json:"path"`
	// Size is in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex digest of the content.
	SHA256 string `json:"sha256"`
	// MediaType is detected from the content (see the package comment),
	// with its charset parameter for text.
	MediaType string `json:"media_type"`
	// Modified is the file's modification time.
	Modified time.Time `json:"modified"`
}

func inspect(ctx context.Context, job *sdk.Job, in InspectArgs) (InspectResult, error) {
	src, err := openSource(in.Path)
	if err != nil {
		return InspectResult{}, err
	}
	defer src.Close()
	mt, err := mediaType(src)
	if err != nil {
		return InspectResult{}, readError(ctx, src.path, err)
	}
	sum, err := hashFile(ctx, job, src, 0, 1)
	if err != nil {
		return InspectResult{}, err
	}
	return InspectResult{
		Path:      src.path,
		Size:      src.size(),
		SHA256:    sum,
		MediaType: mt,
		Modified:  src.info.ModTime(),
	}, nil
}

// hashFile returns the hex SHA-256 of src's content, reading it from the
// start in chunks and reporting progress in [lo, hi].
func hashFile(ctx context.Context, job *sdk.Job, src *source, lo, hi float64) (string, error) {
	h := sha256.New()
	r := newMeter(ctx, job, io.NewSectionReader(src.f, 0, 1<<62), src.size(), "hashing", lo, hi)
	if _, err := io.CopyBuffer(h, r, make([]byte, 1<<20)); err != nil {
		return "", readError(ctx, src.path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
