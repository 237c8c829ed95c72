package chaos

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
)

// ProfileEnv names the variable that makes a chaos process profile
// itself, to see where a plugin's share of an attempt's time goes:
// "cpu:PREFIX" or "block:PREFIX" writes PREFIX.<pid>.cpu or .block when the
// host stops the process. Profiles of many processes merge with
// "go tool pprof PREFIX.*".
const ProfileEnv = "BATCHHOST_CHAOS_PROFILE"

// Profile starts what ProfileEnv asks for and returns the function that
// writes it; with the variable unset both do nothing.
func Profile() (stop func()) {
	kind, prefix, ok := strings.Cut(os.Getenv(ProfileEnv), ":")
	if !ok || prefix == "" {
		return func() {}
	}
	base := fmt.Sprintf("%s.%d", prefix, os.Getpid())
	switch kind {
	case "cpu":
		f, err := os.Create(base + ".cpu")
		if err != nil || pprof.StartCPUProfile(f) != nil {
			return func() {}
		}
		return func() {
			pprof.StopCPUProfile()
			f.Close()
		}
	case "block":
		runtime.SetBlockProfileRate(1)
		return func() {
			if f, err := os.Create(base + ".block"); err == nil {
				pprof.Lookup("block").WriteTo(f, 0)
				f.Close()
			}
		}
	}
	return func() {}
}
