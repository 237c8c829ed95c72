package host

import (
	"context"
	"fmt"
	"strings"
)

// MinIDPrefix is the shortest id prefix ResolveJobID and ResolveGroupID
// look up. Ids are UUIDv7: their first 8 characters change every 65 s, so
// a shorter prefix would match most recent work.
const MinIDPrefix = 8

// idLen is the length of a whole id (a UUID's text form).
const idLen = 36

// maxAmbiguous is how many matches an ambiguous error names.
const maxAmbiguous = 5

// ResolveJobID returns the id of the one job whose id begins with
// idOrPrefix. A whole id (36 characters) and "" are returned as they are,
// unchecked: the call they are passed to reports an unknown id. A prefix
// needs at least MinIDPrefix characters; a shorter one, or one no job's id
// begins with, is an error wrapping ErrNotFound, and one that several
// jobs' ids begin with is an error wrapping ErrAmbiguous naming them.
func (h *Host) ResolveJobID(ctx context.Context, idOrPrefix string) (string, error) {
	return h.resolveID(ctx, "job", idOrPrefix)
}

// ResolveGroupID is ResolveJobID for groups.
func (h *Host) ResolveGroupID(ctx context.Context, idOrPrefix string) (string, error) {
	return h.resolveID(ctx, "group", idOrPrefix)
}

func (h *Host) resolveID(ctx context.Context, kind, prefix string) (string, error) {
	if prefix == "" || len(prefix) == idLen {
		return prefix, nil
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(prefix) < MinIDPrefix {
		return "", &kindError{ErrNotFound, fmt.Sprintf("%s %s not found (give the whole id or at least %d of its characters)", kind, prefix, MinIDPrefix)}
	}
	lookup := h.store.JobIDsWithPrefix
	if kind == "group" {
		lookup = h.store.GroupIDsWithPrefix
	}
	// Ids are lower case; a prefix copied from elsewhere may not be.
	matches, err := lookup(strings.ToLower(prefix), maxAmbiguous+1)
	if err != nil {
		return "", fromBackend(err)
	}
	switch len(matches) {
	case 0:
		return "", notFound(kind, prefix)
	case 1:
		return matches[0], nil
	}
	list := strings.Join(matches[:min(len(matches), maxAmbiguous)], ", ")
	if len(matches) > maxAmbiguous {
		list += " and more"
	}
	return "", &kindError{ErrAmbiguous, fmt.Sprintf("%s id prefix %s is ambiguous, it matches %s: give more characters", kind, prefix, list)}
}
