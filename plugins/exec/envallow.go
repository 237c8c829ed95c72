package exec

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/batchhost/batchhost/sdk"
)

// AllowEnvEnv is the environment variable holding the allowlist of the
// variables a job's "env" may set: names separated by commas, an entry
// ending in "*" standing for every name with that prefix ("MYAPP_*"). The
// host sets it for its plugins from its configuration. Set but empty, a
// job may set no variable.
//
// Unset, the rule depends on AllowEnv: while commands are restricted, a
// job may set any variable but those deniedEnv names (what dynamic loaders
// and common tools read as code or configuration); while every command is
// allowed, it may set any variable, since it could run
// ["env", "LD_PRELOAD=...", "ls"] anyway.
const AllowEnvEnv = "BATCHHOST_EXEC_ALLOW_ENV"

// deniedEnv is the default rule while commands are restricted: names a
// job may not set, an entry ending in "*" standing for a prefix. It names
// what loaders, shells, interpreters and common tools read as code to run,
// as a place to load code or configuration from, or as a command to start.
// It is a list of known names and so cannot be complete: for a guarantee,
// list what jobs may set in AllowEnvEnv.
var deniedEnv = []string{
	// dynamic loaders, libc and system libraries
	"LD_*", "DYLD_*", "GCONV_PATH", "LOCPATH", "NLSPATH", "GLIBC_TUNABLES", "MALLOC_*",
	"HOSTALIASES", "RESOLV_*", "RES_OPTIONS", "LOCALDOMAIN", "TZDIR", "TERMINFO*", "OPENSSL_*", "SSL_CERT_*",
	// where programs are found, and the homes their configuration is read from
	"PATH", "HOME", "XDG_*", "SHELL", "TMPDIR", "IFS", "CDPATH",
	// shells
	"BASH_ENV", "ENV", "BASH_FUNC_*", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "ZDOTDIR",
	// interpreters and runtimes
	"PYTHON*", "PERL*", "RUBY*", "GEM_*", "BUNDLE_*", "NODE_*", "NPM_*", "npm_*", "LUA_*",
	"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "PHP*", "TCL*", "R_*",
	"GO*", "CGO_*", "CARGO_*", "RUST*", "DOTNET_*", "CORECLR_*", "COMPlus_*",
	// tools that read their configuration or a command to run from the environment
	"GIT_*", "SSH_*", "GNUPG*", "GPG_*", "EDITOR", "VISUAL", "PAGER", "MANPAGER", "BROWSER",
	"LESSOPEN", "LESSCLOSE", "LESSKEY*", "SUDO_*", "MAKE*", "MFLAGS", "CC", "CXX", "CPP", "LD", "AR",
	"CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "PIP_*", "CURL_*", "WGETRC", "TAR_OPTIONS",
	"GREP_OPTIONS", "KRB5*", "PG*", "MYSQL_*", "DOCKER_*", "KUBECONFIG", "AWS_*", "AZURE_*", "GOOGLE_*",
	"BATCHHOST_*", "PLUGIN_*",
}

// envRule decides which variables a job's "env" may set.
type envRule struct {
	names []string // allowed (allow true) or denied (allow false); nil with allow true: any
	allow bool
	from  string // where the rule comes from, for refusals
}

// loadEnvRule reads AllowEnvEnv and AllowEnv now, as loadAllowlist does.
func loadEnvRule() envRule {
	if v, ok := os.LookupEnv(AllowEnvEnv); ok {
		r := envRule{names: []string{}, allow: true, from: AllowEnvEnv}
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				r.names = append(r.names, e)
			}
		}
		return r
	}
	if _, ok := os.LookupEnv(AllowEnv); ok {
		return envRule{names: deniedEnv, from: "the default rule while " + AllowEnv + " is set (see " + AllowEnvEnv + ")"}
	}
	return envRule{allow: true}
}

// check refuses, permanently, the first variable of env (in name order)
// the rule does not permit: the job says what it needs, and a retry would
// be refused the same way. Nothing is dropped quietly.
func (r envRule) check(env map[string]string) error {
	if r.allow && r.names == nil {
		return nil
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if matchesAny(k, r.names) == r.allow {
			continue
		}
		if r.allow {
			return sdk.Permanent(fmt.Errorf("env %s is not allowed: it is not listed in %s", k, r.from))
		}
		return sdk.Permanent(fmt.Errorf("env %s is not allowed: programs read it as code or configuration; it is refused by %s", k, r.from))
	}
	return nil
}

// matchesAny reports whether name is one of patterns, where a pattern
// ending in "*" matches every name with that prefix.
func matchesAny(name string, patterns []string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if p == name {
			return true
		}
	}
	return false
}
