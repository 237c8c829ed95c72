package docs

import "context"

// SetCrashAt makes organize call f at each of its crash points (see
// crashPoint) until the returned function restores the default.
func SetCrashAt(f func(point string)) (restore func()) {
	crashAt = f
	return func() { crashAt = nil }
}

// ExtractAs runs the extractor of format on the file at path, as extract
// does once it has chosen the format, for the fuzz tests: they feed each
// extractor bytes its sniffing would have refused.
func ExtractAs(ctx context.Context, format, path string) (string, error) {
	src, err := openSource(path)
	if err != nil {
		return "", err
	}
	defer src.Close()
	return extractors[format](ctx, nil, src, 0, 1)
}
