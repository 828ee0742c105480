package plans

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestLargestBackupInterval(t *testing.T) {
	tests := []struct {
		cron string
		want time.Duration
		err  string
	}{
		{cron: "*/15 * * * *", want: 15 * time.Minute},
		{cron: "* * * * *", want: time.Minute},
		{cron: "0 * * * *", want: time.Hour},
		{cron: "7,37 * * * *", want: 30 * time.Minute},
		{cron: "0,10,50 * * * *", want: 40 * time.Minute},          // uneven: the largest gap counts
		{cron: "0 9-17 * * 1-5", want: 64 * time.Hour},             // Friday 17:00 to Monday 09:00
		{cron: "* * * * 1-5", want: 48*time.Hour + time.Minute},    // every minute on working days
		{cron: "0 0 1 * *", want: 31 * 24 * time.Hour},             // monthly: the longest month
		{cron: "0 0 29 2 *", want: (366 + 3*365) * 24 * time.Hour}, // leap days only
		{cron: "@hourly", want: time.Hour},
		{cron: "@daily", want: 24 * time.Hour},
		{cron: "@every 10m", want: 10 * time.Minute},
		{cron: "@every 90s", want: 90 * time.Second},
		{cron: "TZ=UTC 30 2 * * *", want: 24 * time.Hour},
		{cron: "*/15 * * *", err: `invalid cron expression "*/15 * * *": expected exactly 5 fields, found 4: [*/15 * * *]`},
		{cron: "0 */15 * * * *", err: `invalid cron expression "0 */15 * * * *": expected exactly 5 fields, found 6: [0 */15 * * * *]`},
		{cron: "61 * * * *", err: `invalid cron expression "61 * * * *": end of range (61) above maximum (59): 61`},
		{cron: "@reboot", err: `invalid cron expression "@reboot": unrecognized descriptor: @reboot`},
		{cron: "", err: `invalid cron expression "": empty spec string`},
		{cron: "0 0 30 2 *", err: `cron expression "0 0 30 2 *" never fires`},
	}
	for _, tt := range tests {
		t.Run(tt.cron, func(t *testing.T) {
			g := NewWithT(t)
			got, err := LargestBackupInterval(tt.cron)
			if tt.err != "" {
				g.Expect(err).To(MatchError(tt.err))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

// BenchmarkLargestBackupInterval measures the worst common case: a schedule that fires every
// minute, sampled up to maxSampledFires fires.
func BenchmarkLargestBackupInterval(b *testing.B) {
	s, err := ParseCron("* * * * 1-5")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := gaps(s, sampleStart, sampleHorizon, maxSampledFires, "* * * * 1-5"); err != nil {
			b.Fatal(err)
		}
	}
}
