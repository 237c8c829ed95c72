//go:build !linux

package docs

import "errors"

// renameNoReplace is only available on Linux; elsewhere organize needs a
// filesystem with hard links.
func renameNoReplace(oldpath, newpath string) error {
	return errors.ErrUnsupported
}
