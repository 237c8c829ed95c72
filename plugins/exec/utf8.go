package exec

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/batchhost/batchhost/sdk"
)

// utf8Safe makes fn's errors safe to send: the protocol's strings must be
// UTF-8, and an error naming a file whose name is not (Linux allows any
// bytes) would otherwise break the attempt's stream. The error's kind is
// kept: the wrapper only rewrites the text.
func utf8Safe[In, Out any](fn func(context.Context, *sdk.Job, In) (Out, error)) func(context.Context, *sdk.Job, In) (Out, error) {
	return func(ctx context.Context, job *sdk.Job, in In) (Out, error) {
		out, err := fn(ctx, job, in)
		if err != nil && !utf8.ValidString(err.Error()) {
			err = validUTF8Error{err}
		}
		return out, err
	}
}

// validUTF8Error is an error whose text has its invalid bytes replaced.
type validUTF8Error struct{ err error }

func (e validUTF8Error) Error() string { return strings.ToValidUTF8(e.err.Error(), "\uFFFD") }
func (e validUTF8Error) Unwrap() error { return e.err }
