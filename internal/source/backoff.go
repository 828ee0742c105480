package source

import (
	"math"
	"time"
)

// Backoff computes how long to wait before the next fetch after consecutive failures:
// Initial, then multiplied by Factor each time, capped at Max.
type Backoff struct {
	// Initial is the delay after the first failure.
	Initial time.Duration
	// Max caps the delay.
	Max time.Duration
	// Factor multiplies the delay after each further failure; 2 when below 1.
	Factor float64
}

// DefaultBackoff retries after 5s, 10s, 20s ... up to 5 minutes.
var DefaultBackoff = Backoff{Initial: 5 * time.Second, Max: 5 * time.Minute, Factor: 2}

// Delay returns the wait after failures consecutive failures (Status.Failures); 0 for none.
func (b Backoff) Delay(failures int) time.Duration {
	if failures <= 0 || b.Initial <= 0 {
		return 0
	}
	f := b.Factor
	if f < 1 {
		f = 2
	}
	d := float64(b.Initial) * math.Pow(f, float64(failures-1))
	if b.Max > 0 && d >= float64(b.Max) {
		return b.Max
	}
	if d >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}
