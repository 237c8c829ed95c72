package host

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// Resources is what a job needs while it runs, or what a host can give
// its running jobs: CPU in CPUs (1.5; kept to the thousandth, rounded
// up) and memory in MiB. A job that declares none needs nothing.
//
// A host starts a job only while the needs of its running jobs and the
// job's fit in its capacity (Config.Capacity), in strict priority with
// this rule: the first job in claim order (priority, then the order jobs
// became ready) that does not fit holds back every job after it that
// needs any of the resource it lacks, so that what frees up goes to it
// first; jobs after it that need none of that resource start meanwhile.
// The needs are declared, not measured: a job that uses more than it
// declared is not stopped (Config.PluginMemoryLimit caps a plugin's
// memory).
type Resources struct {
	CPU      float64 `json:"cpu,omitempty"`
	MemoryMB int     `json:"memory_mb,omitempty"`
}

// The largest needs a job may declare: beyond any machine.
const (
	maxCPU      = 4096
	maxMemoryMB = 1 << 30
)

func (r Resources) String() string { return r.internal().String() }

// internal is r as the engine counts it; r must be valid.
func (r Resources) internal() model.Resources {
	return model.Resources{MilliCPU: int64(math.Ceil(r.CPU*1000 - 1e-6)), MemoryMB: int64(r.MemoryMB)}
}

// toResources is the public form of a need or a capacity.
func toResources(r model.Resources) Resources {
	return Resources{CPU: float64(r.MilliCPU) / 1000, MemoryMB: int(r.MemoryMB)}
}

// validate refuses needs that are negative, not a number, or absurd.
// what names the setting ("resources", "config: Capacity").
func (r Resources) validate(what string) error {
	switch {
	case math.IsNaN(r.CPU) || math.IsInf(r.CPU, 0) || r.CPU < 0:
		return fmt.Errorf("%s: cpu must be a number of CPUs, 0 or more (got %v)", what, r.CPU)
	case r.CPU > maxCPU:
		return fmt.Errorf("%s: cpu %v is absurd (at most %d)", what, r.CPU, maxCPU)
	case r.MemoryMB < 0:
		return fmt.Errorf("%s: memory_mb must be 0 or more (got %d)", what, r.MemoryMB)
	case r.MemoryMB > maxMemoryMB:
		return fmt.Errorf("%s: memory_mb %d is absurd (at most %d)", what, r.MemoryMB, maxMemoryMB)
	}
	return nil
}

// ParseResources reads needs or a capacity written as comma-separated
// NAME=VALUE pairs, NAME cpu (CPUs, decimal) or memory_mb (MiB, whole):
// "cpu=1.5,memory_mb=800", "cpu=2". A name left out is 0. The error is
// one line saying what was expected.
func ParseResources(s string) (Resources, error) {
	var r Resources
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return r, fmt.Errorf("resources %q: want cpu=N,memory_mb=N", s)
		}
		if seen[name] {
			return r, fmt.Errorf("resources %q: %s given twice", s, name)
		}
		seen[name] = true
		val = strings.TrimSpace(val)
		switch name {
		case "cpu":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return r, fmt.Errorf("resources %q: cpu %q is not a number", s, val)
			}
			r.CPU = f
		case "memory_mb":
			n, err := strconv.Atoi(val)
			if err != nil {
				return r, fmt.Errorf("resources %q: memory_mb %q is not a whole number of MiB", s, val)
			}
			r.MemoryMB = n
		default:
			return r, fmt.Errorf("resources %q: unknown resource %q (want cpu or memory_mb)", s, name)
		}
	}
	return r, r.validate("resources")
}

// needOf is what a job of task declaring declared (nil: nothing
// declared) needs on this host: declared, or else the task's default,
// or else its plugin's (TaskResources). A need beyond this host's
// capacity is refused: no claim here would ever start the job. On a
// shared queue each host has a capacity of its own, and the submitting
// host's decides: a job for a larger host is submitted there.
func (c *Config) needOf(task string, declared *Resources) (model.Resources, error) {
	var r Resources
	switch {
	case declared != nil:
		if err := declared.validate("resources"); err != nil {
			return model.Resources{}, invalid(err)
		}
		r = *declared
	default:
		d, ok := c.TaskResources[task]
		if !ok {
			d = c.TaskResources[model.PluginOf(task)]
		}
		r = d
	}
	need := r.internal()
	if need.IsZero() {
		return need, nil
	}
	if lack := need.Lacks(c.capacity); lack != 0 {
		var want, have string
		if lack&model.DimCPU != 0 {
			want, have = "cpu "+model.FormatCPU(need.MilliCPU), "cpu "+model.FormatCPU(c.capacity.MilliCPU)
		} else {
			want, have = fmt.Sprintf("memory_mb %d", need.MemoryMB), fmt.Sprintf("memory_mb %d", c.capacity.MemoryMB)
		}
		return need, invalidf("resources: %s needs %s but this host's capacity is %s (--capacity, Config.Capacity)", task, want, have)
	}
	return need, nil
}

// checkResources fills the capacity's defaults and checks it and the
// task defaults.
func (c *Config) checkResources() error {
	if err := c.Capacity.validate("config: Capacity"); err != nil {
		return err
	}
	if l := c.MemoryPressureLimit; math.IsNaN(l) || l < 0 || l > 100 {
		return &ConfigError{"MemoryPressureLimit", "a percentage", fmt.Sprintf("config: MemoryPressureLimit %v: want a percentage, 0 (off) to 100", l)}
	}
	if c.MemoryPressureLimit > 0 {
		if _, err := readPressure(pressureFile); err != nil {
			return &ConfigError{"MemoryPressureLimit", "needs " + pressureFile,
				fmt.Sprintf("config: MemoryPressureLimit needs the kernel's memory pressure (%v; Linux 4.20 or later with PSI): leave it 0", err)}
		}
	}
	capacity := c.Capacity
	if capacity.CPU == 0 {
		capacity.CPU = float64(runtime.NumCPU())
	}
	if capacity.MemoryMB == 0 {
		capacity.MemoryMB = defaultMemoryMB()
	}
	c.Capacity = capacity
	c.capacity = capacity.internal()
	for _, name := range sortedNames(c.TaskResources) {
		if strings.TrimSpace(name) == "" {
			return fmt.Errorf("config: TaskResources has an empty name")
		}
		if err := c.TaskResources[name].validate(fmt.Sprintf("config: TaskResources[%q]", name)); err != nil {
			return err
		}
	}
	return nil
}

// defaultMemoryMB is 80% of the machine's memory (MemTotal of
// /proc/meminfo), or maxMemoryMB, no bound, where that cannot be read.
func defaultMemoryMB() int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return maxMemoryMB
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil || kb <= 0 {
				break
			}
			return int(min(kb*8/10/1024, maxMemoryMB))
		}
	}
	return maxMemoryMB
}

// engineCapacity is the engine's capacity.
func (c *Config) engineCapacity() *model.Resources {
	r := c.capacity
	return &r
}

// enginePressure is the engine's memory pressure probe: nil when off.
func (c *Config) enginePressure() func() bool {
	if c.MemoryPressureLimit <= 0 {
		return nil
	}
	m := &memoryPressure{path: pressureFile, limit: c.MemoryPressureLimit, now: time.Now}
	return m.overLimit
}
