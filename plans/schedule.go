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
	r := backupIntervals(spec)
	return r.largest, r.err
}

// SmallestBackupInterval returns the smallest time between two consecutive backups of the cron
// schedule spec: how fast the primary's retention can prune a backup. It samples the schedule
// as LargestBackupInterval does.
func SmallestBackupInterval(spec string) (time.Duration, error) {
	r := backupIntervals(spec)
	return r.smallest, r.err
}

func backupIntervals(spec string) intervalResult {
	intervals.Lock()
	r, ok := intervals.bySpec[spec]
	intervals.Unlock()
	if ok {
		return r
	}
	s, err := ParseCron(spec)
	if err == nil {
		r.smallest, r.largest, err = gaps(s, sampleStart, sampleHorizon, maxSampledFires, spec)
	}
	r.err = err
	intervals.Lock()
	defer intervals.Unlock()
	if len(intervals.bySpec) >= maxCachedIntervals {
		clear(intervals.bySpec)
	}
	intervals.bySpec[spec] = r
	return r
}

// intervals remembers LargestBackupInterval's answers: sampling an every-minute schedule takes
// about 10ms, and a plans repository holds few distinct schedules.
var intervals = struct {
	sync.Mutex
	bySpec map[string]intervalResult
}{bySpec: map[string]intervalResult{}}

const maxCachedIntervals = 1024

type intervalResult struct {
	smallest, largest time.Duration
	err               error
}

// gaps samples the schedule's fire times from from for horizon (at most maxFires of them) and
// returns the smallest and the largest time between two consecutive ones.
func gaps(s cron.Schedule, from time.Time, horizon time.Duration, maxFires int, spec string) (smallest, largest time.Duration, err error) {
	end := from.Add(horizon)
	prev := s.Next(from)
	if prev.IsZero() {
		return 0, 0, fmt.Errorf("cron expression %q never fires", spec)
	}
	for fires := 1; fires < maxFires; fires++ {
		next := s.Next(prev)
		if next.IsZero() {
			if fires == 1 {
				return 0, 0, fmt.Errorf("cron expression %q fires once at most every five years: not a recurring backup", spec)
			}
			break
		}
		gap := next.Sub(prev)
		largest = max(largest, gap)
		if smallest == 0 || gap < smallest {
			smallest = gap
		}
		prev = next
		if fires >= 2 && prev.After(end) {
			break
		}
	}
	return smallest, largest, nil
}
