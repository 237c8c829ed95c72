package model

import (
	"encoding/json"
	"fmt"
)

// Priority orders dispatch: every ready job of a higher priority runs before
// any of a lower one.
type Priority int8

// The four priorities of the seed. Normal is the zero value so that an
// unset priority means the default.
const (
	Low      Priority = -1
	Normal   Priority = 0
	High     Priority = 1
	Critical Priority = 2
)

// Priorities lists every priority from lowest to highest.
var Priorities = []Priority{Low, Normal, High, Critical}

// Index maps a priority to 0..3 (low..critical) for arrays.
func (p Priority) Index() int { return int(p) + 1 }

func (p Priority) String() string {
	switch p {
	case Low:
		return "low"
	case Normal:
		return "normal"
	case High:
		return "high"
	case Critical:
		return "critical"
	}
	return fmt.Sprintf("priority(%d)", int8(p))
}

// Valid reports whether p is one of the four priorities.
func (p Priority) Valid() bool { return p >= Low && p <= Critical }

// ParsePriority parses low, normal, high or critical; "" means normal.
func ParsePriority(s string) (Priority, error) {
	switch s {
	case "low":
		return Low, nil
	case "", "normal":
		return Normal, nil
	case "high":
		return High, nil
	case "critical":
		return Critical, nil
	}
	return 0, fmt.Errorf("invalid priority %q (want low, normal, high or critical)", s)
}

// MarshalJSON writes the priority's name.
func (p Priority) MarshalJSON() ([]byte, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("invalid priority %d", int8(p))
	}
	return json.Marshal(p.String())
}

// UnmarshalJSON reads a priority's name.
func (p *Priority) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("priority must be a string: %w", err)
	}
	v, err := ParsePriority(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}
