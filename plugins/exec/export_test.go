package exec

// SetAfterCheck sets the hook that runs between the allowlist's check and
// the command's start, and returns a function that removes it.
func SetAfterCheck(f func()) (restore func()) {
	afterCheck = f
	return func() { afterCheck = func() {} }
}
