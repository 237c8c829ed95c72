package web

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/hashicorp/go-hclog"
)

// MinTokenLength is the shortest Token New accepts: a dashboard reachable
// from other machines must not be guarded by a guessable word.
const MinTokenLength = 16

// Options configures a Server. The zero value serves a read-write
// dashboard to loopback clients only.
type Options struct {
	// Token, when set, is required on every request (see the package
	// documentation). At least MinTokenLength characters, no spaces.
	Token string
	// ReadOnly hides every action and refuses it with 403.
	ReadOnly bool
	// Prefix is the path the handler is mounted under ("/batchhost"),
	// for applications that serve it beside their own pages. Links and
	// cookies carry it; the handler strips it itself. Defaults to none.
	Prefix string
	// Sources supplies what the public host API does not offer yet
	// (plugin processes, store commits, ...). nil fields fall back to
	// what the host itself implements, if anything; see Sources.
	Sources Sources
	// Logger receives errors the handler could only log. Defaults to a
	// null logger.
	Logger hclog.Logger
	// MaxLiveStreams bounds the live pages (server-sent event streams)
	// open at once; one more is answered 503. Each costs a goroutine and
	// its bounded pending updates, and every host event is offered to
	// each. Defaults to 256.
	MaxLiveStreams int
}

func (o Options) withDefaults() (Options, error) {
	if o.Token != "" {
		if len(o.Token) < MinTokenLength {
			return o, fmt.Errorf("web: token is %d characters; use at least %d (e.g. 32 random hex digits)", len(o.Token), MinTokenLength)
		}
		if strings.IndexFunc(o.Token, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
			return o, fmt.Errorf("web: token must not contain spaces or control characters")
		}
	}
	o.Prefix = strings.TrimRight(o.Prefix, "/")
	if o.Prefix != "" && !strings.HasPrefix(o.Prefix, "/") {
		return o, fmt.Errorf("web: prefix %q must start with /", o.Prefix)
	}
	switch {
	case o.MaxLiveStreams < 0:
		return o, fmt.Errorf("web: MaxLiveStreams must not be negative (got %d)", o.MaxLiveStreams)
	case o.MaxLiveStreams == 0:
		o.MaxLiveStreams = 256
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	return o, nil
}
