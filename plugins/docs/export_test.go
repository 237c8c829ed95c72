package docs

// SetCrashAt makes organize call f at each of its crash points (see
// crashPoint) until the returned function restores the default.
func SetCrashAt(f func(point string)) (restore func()) {
	crashAt = f
	return func() { crashAt = nil }
}
