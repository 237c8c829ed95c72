package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/internal/ratelimit"
)

// sizeValue is a byte size flag: 1048576, 512K, 512KiB, 64M, 2GiB.
type sizeValue struct{ n int64 }

func (v *sizeValue) String() string {
	if v.n == 0 {
		return "0"
	}
	return strconv.FormatInt(v.n, 10)
}
func (v *sizeValue) Type() string { return "size" }
func (v *sizeValue) Set(s string) error {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("want a byte size like 512M or 2GiB, got %q", s)
	}
	v.n = n * mult
	return nil
}

// limitsValue is a repeatable NAME=N flag: a concurrency limit for a task
// ("docs.ocr=2") or a plugin ("exec=4").
type limitsValue struct{ m map[string]int }

func (v *limitsValue) String() string {
	var parts []string
	for k, n := range v.m {
		parts = append(parts, k+"="+strconv.Itoa(n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
func (v *limitsValue) Type() string { return "task=N" }
func (v *limitsValue) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		name, num, ok := strings.Cut(strings.TrimSpace(item), "=")
		n, err := strconv.Atoi(num)
		if !ok || name == "" || err != nil || n < 1 {
			return fmt.Errorf("want TASK=N or PLUGIN=N with N >= 1, got %q", item)
		}
		if v.m == nil {
			v.m = map[string]int{}
		}
		v.m[name] = n
	}
	return nil
}

// ratesValue is a repeatable NAME=RATE flag: a rate limit for a task
// ("docs.ocr=10/s") or a plugin ("exec=600/m:20"); items of one value
// are separated by commas, as --limit's are (a rate has none).
type ratesValue struct{ m map[string]host.Rate }

func (v *ratesValue) String() string {
	var parts []string
	for k, r := range v.m {
		parts = append(parts, k+"="+r.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
func (v *ratesValue) Type() string { return "task=rate" }
func (v *ratesValue) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		name, r, err := ratelimit.ParseNamed(item)
		if err != nil {
			return err
		}
		if v.m == nil {
			v.m = map[string]host.Rate{}
		}
		v.m[name] = r
	}
	return nil
}

// applyEnv gives every flag not set on the command line the value of its
// BATCHHOST_* variable, parsed exactly as the flag would be: flags
// override the environment, which overrides defaults.
func (c *cli) applyEnv(fs *pflag.FlagSet, envs map[string]string) error {
	names := make([]string, 0, len(envs))
	for name := range envs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		env := envs[name]
		val := c.getenv(env)
		if val == "" || fs.Changed(name) {
			continue
		}
		if err := fs.Set(name, val); err != nil {
			return usageErrorf("invalid %s=%q: %v", env, val, err)
		}
	}
	return nil
}

// defaultPluginDir is "plugins" beside the batchhost executable, where a
// release unpacks them.
func defaultPluginDir() string {
	exe, err := os.Executable()
	if err != nil {
		return "plugins"
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	return filepath.Join(filepath.Dir(exe), "plugins")
}

// capacityValue is --capacity: what the host's running jobs may need in
// all, as host.ParseResources reads it ("cpu=4,memory_mb=8000").
type capacityValue struct{ r host.Resources }

func (v *capacityValue) String() string {
	if v.r == (host.Resources{}) {
		return ""
	}
	return v.r.String()
}
func (v *capacityValue) Type() string { return "cpu=N,memory_mb=N" }
func (v *capacityValue) Set(s string) error {
	r, err := host.ParseResources(s)
	if err != nil {
		return err
	}
	v.r = r
	return nil
}

// taskResourcesValue is a repeatable TASK=NEEDS flag: the need of the
// jobs of a task or plugin that declare none ("docs.ocr=cpu=1,memory_mb=500");
// items of one value are separated by semicolons, as NEEDS has commas.
type taskResourcesValue struct{ m map[string]host.Resources }

func (v *taskResourcesValue) String() string {
	var parts []string
	for k, r := range v.m {
		parts = append(parts, k+"="+r.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, ";")
}
func (v *taskResourcesValue) Type() string { return "task=cpu=N,memory_mb=N" }
func (v *taskResourcesValue) Set(s string) error {
	for item := range strings.SplitSeq(s, ";") {
		name, needs, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("%q: want TASK=cpu=N,memory_mb=N", item)
		}
		r, err := host.ParseResources(needs)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		if v.m == nil {
			v.m = map[string]host.Resources{}
		}
		v.m[strings.TrimSpace(name)] = r
	}
	return nil
}
