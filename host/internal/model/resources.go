package model

import "fmt"

// Resources is what a job needs while it runs, or what a host can give:
// CPUs in thousandths (MilliCPU 1500 is 1.5 CPUs) and memory in MiB. The
// zero value needs nothing. Whole numbers, so that sums and differences
// are exact.
type Resources struct {
	MilliCPU int64 `json:"milli_cpu,omitempty"`
	MemoryMB int64 `json:"memory_mb,omitempty"`
}

// The dimensions of Resources as bits of a Mask.
const (
	DimCPU Mask = 1 << iota
	DimMemory
)

// Mask is a set of dimensions of Resources.
type Mask uint8

// IsZero reports whether r needs nothing.
func (r Resources) IsZero() bool { return r == Resources{} }

// Add is r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{MilliCPU: r.MilliCPU + o.MilliCPU, MemoryMB: r.MemoryMB + o.MemoryMB}
}

// Sub is r - o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{MilliCPU: r.MilliCPU - o.MilliCPU, MemoryMB: r.MemoryMB - o.MemoryMB}
}

// Uses is the set of dimensions r needs some of.
func (r Resources) Uses() Mask {
	var m Mask
	if r.MilliCPU > 0 {
		m |= DimCPU
	}
	if r.MemoryMB > 0 {
		m |= DimMemory
	}
	return m
}

// Lacks is the set of dimensions in which r needs more than free holds;
// empty when r fits in free.
func (r Resources) Lacks(free Resources) Mask {
	var m Mask
	if r.MilliCPU > free.MilliCPU {
		m |= DimCPU
	}
	if r.MemoryMB > free.MemoryMB {
		m |= DimMemory
	}
	return m
}

// String writes r as the CLI reads it: "cpu=1.5,memory_mb=800".
func (r Resources) String() string {
	return fmt.Sprintf("cpu=%s,memory_mb=%d", FormatCPU(r.MilliCPU), r.MemoryMB)
}

// FormatCPU writes thousandths of a CPU as a decimal number of CPUs,
// without trailing zeros: 1500 is "1.5", 2000 is "2".
func FormatCPU(milli int64) string {
	s := fmt.Sprintf("%d", milli/1000)
	if f := milli % 1000; f != 0 {
		if f < 0 {
			f = -f
		}
		frac := fmt.Sprintf("%03d", f)
		for frac[len(frac)-1] == '0' {
			frac = frac[:len(frac)-1]
		}
		s += "." + frac
	}
	return s
}
