package plans

import (
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// The sample LargestBackupInterval looks at: fires from a fixed instant, so that the answer
// does not depend on the day the plan is checked, over at least two years (every month length
// and a leap day) or up to maxSampledFires fires, whichever ends first.
var sampleStart = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

const (
	sampleHorizon   = 2 * 366 * 24 * time.Hour
	maxSampledFires = 12_000
)

// ParseCron parses a backup schedule exactly as Longhorn parses a RecurringJob's cron
// (robfig/cron ParseStandard): five fields, or a descriptor such as @daily or @every 1h, with
// an optional CRON_TZ= or TZ= prefix.
func ParseCron(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid cron expression %q: %w", spec, err)
	}
	return s, nil
}

// LargestBackupInterval returns the largest time between two consecutive backups of the cron
// schedule spec: the worst case a recovery point objective has to cover. It samples the
// schedule's fire times (see sampleStart); a schedule that fires fewer than twice in five years
// is an error, since it is no recurring backup.
func LargestBackupInterval(spec string) (time.Duration, error) {
	intervals.Lock()
	r, ok := intervals.bySpec[spec]
	intervals.Unlock()
	if ok {
		return r.gap, r.err
	}
	s, err := ParseCron(spec)
	if err == nil {
		r.gap, err = largestGap(s, sampleStart, sampleHorizon, maxSampledFires, spec)
	}
	r.err = err
	intervals.Lock()
	defer intervals.Unlock()
	if len(intervals.bySpec) >= maxCachedIntervals {
		clear(intervals.bySpec)
	}
	intervals.bySpec[spec] = r
	return r.gap, r.err
}

// intervals remembers LargestBackupInterval's answers: sampling an every-minute schedule takes
// about 10ms, and a plans repository holds few distinct schedules.
var intervals = struct {
	sync.Mutex
	bySpec map[string]intervalResult
}{bySpec: map[string]intervalResult{}}

const maxCachedIntervals = 1024

type intervalResult struct {
	gap time.Duration
	err error
}

func largestGap(s cron.Schedule, from time.Time, horizon time.Duration, maxFires int, spec string) (time.Duration, error) {
	end := from.Add(horizon)
	prev := s.Next(from)
	if prev.IsZero() {
		return 0, fmt.Errorf("cron expression %q never fires", spec)
	}
	var largest time.Duration
	for fires := 1; fires < maxFires; fires++ {
		next := s.Next(prev)
		if next.IsZero() {
			if fires == 1 {
				return 0, fmt.Errorf("cron expression %q fires once at most every five years: not a recurring backup", spec)
			}
			break
		}
		largest = max(largest, next.Sub(prev))
		prev = next
		if fires >= 2 && prev.After(end) {
			break
		}
	}
	return largest, nil
}
