//go:build !unix

package sdk

import "os"

func closeOnExec(int) {}

func lastWords(msg string) { _, _ = os.Stderr.WriteString(msg) }
