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
// the host as shell access. To narrow it, the host passes two allowlists
// in the environment.
//
// BATCHHOST_EXEC_ALLOW lists the commands: separated by commas, each an
// absolute path ("/usr/bin/convert", which permits the file it names when
// the job runs, also through symlinks) or a base name ("convert", which
// permits argv[0] "convert" looked up in the plugin's PATH, not
// "/tmp/convert"). Unset, every command is allowed; set but empty, none
// is. While it is set:
//
//   - The command's file is opened once, checked, and executed through
//     that descriptor (/proc/self/fd/3 on Linux), so that a symlink or a
//     rename swapped after the check cannot run another program. The
//     command therefore starts with a file 3 open (its own executable,
//     without read rights on Linux), and a script sees its $0 as
//     /proc/self/fd/3.
//   - The file must be owned by root or by the plugin's user and not be
//     writable by group or others; otherwise whoever can write it decides
//     what the allowed command does.
//   - A job's "env" may set no variable that dynamic loaders, shells,
//     interpreters and common tools read as code, as a place to load code
//     or configuration from, or as a command to run: LD_*, DYLD_*, PATH,
//     HOME, XDG_*, BASH_ENV, ENV, BASH_FUNC_*, PYTHON*, PERL*, RUBY*,
//     NODE_*, GIT_*, SSH_*, EDITOR, PAGER and more (deniedEnv has the whole
//     list). That list is of known names and cannot be complete.
//
// BATCHHOST_EXEC_ALLOW_ENV, when set, replaces that default with an
// allowlist of the variables a job may set: names separated by commas, an
// entry ending in "*" a prefix ("MYAPP_*"); set but empty, a job may set
// none. It applies whether or not commands are restricted. Without either
// variable a job may set any variable: it could run
// ["env", "LD_PRELOAD=...", "ls"] anyway.
//
// A refused command or variable fails the job permanently, naming it and
// the variable that refused it.
//
// What the allowlists guarantee: a job runs only a file the command list
// names, as that file was when it was checked, with no variable set that
// the env rule refuses. What they do not: the arguments, the input and
// the working directory are the job's. An allowed program whose arguments
// or input can run code (a shell, an interpreter, env, xargs, find -exec,
// git -c, tar --to-command, make, awk) allows everything; one that reads
// its configuration from the working directory (git hooks, a Makefile,
// package.json) runs what that directory says; a program that runs others
// by name finds them in the plugin's PATH. Variables the plugin passes on
// (PATH, HOME, USER, LOGNAME, LANG, LANGUAGE, LC_*, TZ, TMPDIR) are the
// host's and are trusted.
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
//   - The plugin's working directory is the host's, not the submitter's:
//     a relative "dir" is refused (invalid_args), and so is a relative
//     command path with a slash ("./tool") unless "dir" is given, which it
//     is then taken from.
package exec
