package main

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

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
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
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
		c.jobOpCmd("cancel", "Cancel jobs (running ones are stopped)", (*control.Client).Cancel),
		c.jobOpCmd("pause", "Pause jobs (running ones are suspended)", (*control.Client).Pause),
		c.jobOpCmd("resume", "Resume paused jobs", (*control.Client).Resume),
		c.jobOpCmd("retry", "Run failed or canceled jobs again with a fresh attempt budget", (*control.Client).Retry),
		c.groupCmd(),
		c.scheduleCmd(),
		c.tasksCmd(),
		c.statsCmd(),
		c.dispatchCmd(),
		c.benchCmd(),
		c.versionCmd(),
	)
	return root
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
		return usageErrorf("%s needs a subcommand (see \"%s --help\")", cmd.CommandPath(), cmd.CommandPath())
	}
	return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
}
