package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/batchhost/batchhost/host/control"
)

// cli is one invocation: its streams, its environment and the global
// flags. Tests build one per run, so nothing here is process-global.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	dataDir string
	socket  string
	json    bool

	// started is set when a command's own code begins; an error before
	// that (unknown command or flag, wrong arguments) is a usage error.
	started bool
}

// run executes one command line and returns the process exit code:
// 0 success, 1 refused or failed, 2 usage error or no host reachable.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := c.rootCmd()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	return c.fail(cmd, err)
}

func (c *cli) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "batchhost",
		Short: "Run batch jobs in crash-isolated plugin processes",
		Long: `batchhost runs batch jobs in the background. "batchhost serve" runs the host;
the other commands talk to it over its control socket.

Exit codes: 0 success, 1 the operation was refused or a job failed,
2 usage error or no host reachable.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// "batchhost completion bash|zsh|fish|powershell" is cobra's;
		// addCompletions supplies what it completes.
		CompletionOptions: cobra.CompletionOptions{},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := checkUTF8(cmd, args); err != nil {
				return err
			}
			c.started = true
			return c.resolveGlobals(cmd)
		},
	}
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	pf := root.PersistentFlags()
	pf.StringVar(&c.dataDir, "data-dir", "", "data directory (env BATCHHOST_DATA_DIR; default $XDG_STATE_HOME/batchhost, else ~/.local/state/batchhost)")
	pf.StringVar(&c.socket, "socket", "", "control socket (env BATCHHOST_SOCKET; default <data-dir>/batchhost.sock)")
	pf.BoolVar(&c.json, "json", false, "machine output (JSON) on stdout")
	root.MarkPersistentFlagDirname("data-dir")
	root.MarkPersistentFlagFilename("socket")
	root.AddCommand(
		c.serveCmd(),
		c.submitCmd(),
		c.createCmd(),
		c.enqueueCmd(),
		c.getCmd(),
		c.listCmd(),
		c.resultCmd(),
		c.logsCmd(),
		c.waitCmd(),
		c.cancelCmd(),
		c.jobOpCmd("pause", "Pause jobs (running ones are suspended)", (*control.Client).Pause),
		c.jobOpCmd("resume", "Resume paused jobs", (*control.Client).Resume),
		c.jobOpCmd("retry", "Run failed or canceled jobs again with a fresh attempt budget", (*control.Client).Retry),
		c.deleteCmd(),
		c.purgeCmd(),
		c.groupCmd(),
		c.scheduleCmd(),
		c.tasksCmd(),
		c.pluginsCmd(),
		c.hostsCmd(),
		c.statsCmd(),
		c.dispatchCmd(),
		c.benchCmd(),
		c.migrateCmd(),
		c.checkCmd(),
		c.versionCmd(),
	)
	// cobra's own help command prints "Unknown help topic" and the usage
	// to stdout and succeeds; keep it (its text, its completion) but make
	// an unknown topic a usage error.
	root.InitDefaultHelpCmd()
	for _, sub := range root.Commands() {
		if sub.Name() == "help" {
			sub.Run, sub.RunE = nil, helpTopic
		}
	}
	root.InitDefaultCompletionCmd()
	c.addCompletions(root)
	addExamples(root)
	return root
}

// helpTopic shows the help of the command that args name, or refuses a
// topic that names none: no command, or no subcommand of a command that
// has some ("help group bogus").
func helpTopic(help *cobra.Command, args []string) error {
	cmd, rest, err := help.Root().Find(args)
	if err != nil || cmd == nil || (len(rest) > 0 && cmd.HasAvailableSubCommands()) {
		parent := help.Root()
		if err == nil && cmd != nil {
			parent = cmd
		}
		return &exitError{code: 2, err: fmt.Errorf("unknown help topic %q (see \"%s --help\")", strings.Join(args, " "), parent.CommandPath())}
	}
	cmd.InitDefaultHelpFlag()
	cmd.InitDefaultVersionFlag()
	return cmd.Help()
}

// checkUTF8 refuses an argument or flag value that is not valid UTF-8: the
// control protocol cannot carry it, and a mangled name or key would be
// worse than a refusal. File and directory names (flags marked as such)
// are exempt: they stay on this machine, where they need not be UTF-8.
func checkUTF8(cmd *cobra.Command, args []string) error {
	for _, a := range args {
		if !utf8.ValidString(a) {
			return notUTF8(a, "")
		}
	}
	var bad error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if bad != nil || isPathFlag(f) {
			return
		}
		vals := []string{f.Value.String()}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			vals = sv.GetSlice()
		}
		for _, v := range vals {
			if !utf8.ValidString(v) {
				bad = notUTF8(v, f.Name)
				return
			}
		}
	})
	return bad
}

// isPathFlag reports whether f was marked as a file or directory name.
func isPathFlag(f *pflag.Flag) bool {
	_, file := f.Annotations[cobra.BashCompFilenameExt]
	_, dir := f.Annotations[cobra.BashCompSubdirsInDir]
	return file || dir
}

// notUTF8 is the usage error for s, shown escaped (%q) and, when long,
// cut to the bytes around the first invalid one.
func notUTF8(s, flag string) error {
	const context = 32
	shown, where := s, ""
	if len(s) > 3*context {
		i := 0
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		start, end := max(0, i-context), min(len(s), i+context)
		for start > 0 && !utf8.RuneStart(s[start]) {
			start++
		}
		shown = s[start:end]
		where = fmt.Sprintf("at byte %d", i)
	}
	var notes []string
	if flag != "" {
		notes = append(notes, "value of --"+flag)
	}
	if where != "" {
		notes = append(notes, where)
	}
	msg := fmt.Sprintf("argument %q is not valid UTF-8", shown)
	if len(notes) > 0 {
		msg += " (" + strings.Join(notes, ", ") + ")"
	}
	// exit 2 without the "see --help" hint: help would not help.
	return &exitError{code: 2, err: errors.New(msg)}
}

// resolveGlobals fills --data-dir and --socket from the environment and
// their defaults when not given: flags override BATCHHOST_* variables,
// which override defaults.
func (c *cli) resolveGlobals(cmd *cobra.Command) error {
	if c.dataDir == "" {
		c.dataDir = c.getenv("BATCHHOST_DATA_DIR")
	}
	if c.dataDir == "" {
		base := c.getenv("XDG_STATE_HOME")
		if base == "" {
			home := c.getenv("HOME")
			if home == "" {
				h, err := os.UserHomeDir()
				if err != nil {
					return usageErrorf("cannot find a data directory: set --data-dir or BATCHHOST_DATA_DIR")
				}
				home = h
			}
			base = filepath.Join(home, ".local", "state")
		}
		c.dataDir = filepath.Join(base, "batchhost")
	}
	if c.socket == "" {
		c.socket = c.getenv("BATCHHOST_SOCKET")
	}
	if c.socket == "" {
		c.socket = filepath.Join(c.dataDir, "batchhost.sock")
	}
	return nil
}

// dial connects to the host at the resolved socket.
func (c *cli) dial(ctx context.Context) (*control.Client, error) {
	return control.Dial(ctx, c.socket)
}

// isTerminal reports whether w is a terminal, for live output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// needSubcommand is the RunE of a command that only groups others: cobra
// would print help and succeed, hiding a typo.
func needSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		// fail adds the hint to see its --help.
		return usageErrorf("%s needs a subcommand", cmd.CommandPath())
	}
	return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
}
