// Package exec is batchhost's first-party plugin for running a command as
// a job. Its binary is cmd/batchhost-plugin-exec (plugin "exec"), with one
// task:
//
//	exec.run {"argv": ["cmd", "arg"...], "dir", "env": {"K": "V"}, "stdin",
//	          "permanent_on_exit", "timeout_ms"}
//	       → {"exit_code", "output_tail", "duration_ms"}
//
// The command runs without a shell (use ["sh", "-c", "..."] when you want
// one), with a minimal environment (PATH, HOME, USER, LOGNAME, LANG,
// LANGUAGE, LC_*, TZ, TMPDIR of the plugin's, plus "env"; nothing else of
// the host's), and an empty stdin unless "stdin" is given. Each line it
// writes to stdout or stderr goes to the job's log as it comes, with the
// attribute "stream": "stdout" or "stderr" (in order within a stream; up
// to 10000 lines a run). Exit 0 completes the job; any other exit, or a
// death by signal, is a retryable task error (permanent with
// "permanent_on_exit") whose message has the exit code and the last lines.
//
// The command is the leader of a process group of its own. When the job
// is cancelled or times out (the host's timeout, or "timeout_ms"), the
// whole group gets SIGTERM, and SIGKILL 2 s later, so that the command's
// children and grandchildren die with it. When the command exits, what it
// left running in its group is killed too.
//
// # Trust model
//
// exec.run runs any command its args name, as the user the host runs as.
// Whoever can submit jobs to the host (an embedding application, or anyone
// who can reach the daemon's control socket, which is created mode 0600 for
// that reason) can therefore run commands as that user: treat access to
// the host as shell access. To narrow it, the host passes its allowlist in
// the environment variable BATCHHOST_EXEC_ALLOW: commands separated by
// commas, each an absolute path ("/usr/bin/convert", which also permits the
// same file reached through symlinks) or a base name ("convert", which
// permits argv[0] "convert" looked up in the plugin's PATH, not
// "/tmp/convert"). A command not on the list fails permanently, naming it
// and the variable. When the variable is unset every command is allowed;
// set but empty, none is. The allowlist checks the program only, not its
// arguments: allowing a shell or an interpreter allows everything.
//
// # Caveats
//
//   - Pausing a job stops (SIGSTOP) the plugin's process group and the
//     groups of the processes it started, so the command pauses with it;
//     when the host kills a plugin (timeout past the grace, crash), it
//     kills those groups too.
//   - If the plugin process is killed by something other than the host,
//     the kernel kills the command (Linux's parent-death signal), but not
//     the processes the command started; they are reparented and keep
//     running. Cancel and timeouts, which go through the plugin, kill the
//     whole group.
//   - A process that leaves the group (setsid, daemonizing) escapes all of
//     this.
//   - Relative "dir" and a command path with a slash are resolved from the
//     plugin's working directory, which is the host's.
package exec
