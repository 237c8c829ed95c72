package host

import "testing"

func TestParsePressure(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"some avg10=12.50 avg60=3.00 avg300=0.10 total=123\nfull avg10=1.00 avg60=0.00 avg300=0.00 total=4\n", 12.5, true},
		{"full avg10=1.00 avg60=0.00 avg300=0.00 total=4\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", 0, true},
		{"some avg60=1.00 total=4\n", 0, false},
		{"", 0, false},
		{"some avg10=x\n", 0, false},
	} {
		got, err := parsePressure(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parsePressure(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
