package strictyaml

import (
	"fmt"
	"strings"
	"time"
)

// Duration is a length of time written as a Go duration string: a sequence of numbers with a
// unit each, such as 90s, 30m or 1h30m (units ns, us, ms, s, m, h).
type Duration struct {
	time.Duration
}

// DurationPattern is the regular expression a Duration's text matches (used by the JSON Schema).
const DurationPattern = `^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$`

// PositiveDurationPattern is the regular expression of a Duration longer than zero: no minus
// sign, and a digit other than 0 somewhere. (A fraction of a nanosecond, such as 0.1ns, matches
// but reads as 0; validation rejects it.)
const PositiveDurationPattern = `^[+]?(` + durationTerm + `)*` +
	`([0-9]*[1-9][0-9]*([.][0-9]*)?|[0-9]*[.][0-9]*[1-9][0-9]*)` + durationUnit +
	`(` + durationTerm + `)*$`

const (
	durationUnit = `(ns|us|µs|μs|ms|s|m|h)`
	durationTerm = `([0-9]+([.][0-9]*)?|[.][0-9]+)` + durationUnit
)

// String formats the duration without trailing zero units: 30m rather than 30m0s, 1h rather
// than 1h0m0s.
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText writes the duration as String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("invalid duration %q: write a number and a unit, such as 90s, 30m or 1h30m", text)
	}
	d.Duration = v
	return nil
}
