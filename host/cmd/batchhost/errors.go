package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

// usageError is a mistake in the command line itself: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErr(err error) error { return &usageError{err} }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitError ends the command with a given code. Without err it prints
// nothing: what happened was already shown (wait: a job failed); with err
// it prints err as it is, without a "see --help" hint.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode classifies an error: 2 for usage errors (an ambiguous id prefix
// among them), an unreachable host or queue database and timeouts (worth
// retrying as they are); 1 for everything the host refused or that failed.
func (c *cli) exitCode(err error) int {
	var ee *exitError
	var ue *usageError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue), !c.started, errors.Is(err, host.ErrAmbiguous):
		return 2
	case errors.Is(err, control.ErrNoHost), errors.Is(err, host.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return 2
	}
	return 1
}

// fail prints err as one line and returns its exit code.
func (c *cli) fail(cmd *cobra.Command, err error) int {
	code := c.exitCode(err)
	var ee *exitError
	isExit := errors.As(err, &ee)
	if isExit && ee.err == nil {
		return code
	}
	msg := oneLine(err.Error())
	if errors.Is(err, context.DeadlineExceeded) && !strings.HasPrefix(msg, "timed out") {
		msg = "timed out (" + msg + ")"
	}
	var ue *usageError
	// An exitError's message is final: it comes with any hint it needs.
	if !isExit && (errors.As(err, &ue) || !c.started) && cmd != nil {
		msg += fmt.Sprintf(" (see \"%s --help\")", cmd.CommandPath())
	}
	fmt.Fprintf(c.stderr, "batchhost: %s\n", msg)
	return code
}

var suggestion = regexp.MustCompile(`\s*Did you mean this\?\s*(.*)$`)

// oneLine folds a message onto one line: errors are one line to stderr,
// whatever produced them (cobra's suggestions come on several).
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if m := suggestion.FindStringSubmatchIndex(s); m != nil {
		s = s[:m[0]] + " (did you mean " + strings.ReplaceAll(s[m[2]:m[3]], " ", " or ") + "?)"
	}
	return s
}
