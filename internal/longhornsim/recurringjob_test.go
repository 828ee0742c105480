package longhornsim

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/robfig/cron/v3"
)

// Retention keeps the newest retain backups (filterExpiredItems).
func TestExpiredBackups(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC) }
	items := []storeItem{{"b3", at(3)}, {"b1", at(1)}, {"b2", at(2)}, {"b4", at(4)}}
	tests := []struct {
		name   string
		items  []storeItem
		retain int
		want   []string
	}{
		{"fewer than retain", items[:2], 3, nil},
		{"exactly retain", items, 4, nil},
		{"oldest go first", items, 2, []string{"b1", "b2"}},
		{"retain one", items, 1, []string{"b1", "b2", "b3"}},
		{"same time: by name", []storeItem{{"y", at(1)}, {"x", at(1)}, {"z", at(2)}}, 1, []string{"x", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(expiredBackups(tt.items, tt.retain)).To(Equal(tt.want))
		})
	}
}

// Longhorn parses a job's cron with cron.ParseStandard: five fields, descriptors allowed,
// seconds refused.
func TestCronParsing(t *testing.T) {
	from := time.Date(2026, 3, 4, 10, 7, 30, 0, time.UTC)
	tests := []struct {
		spec string
		next time.Time
		bad  bool
	}{
		{spec: "* * * * *", next: time.Date(2026, 3, 4, 10, 8, 0, 0, time.UTC)},
		{spec: "*/15 * * * *", next: time.Date(2026, 3, 4, 10, 15, 0, 0, time.UTC)},
		{spec: "0 2 * * *", next: time.Date(2026, 3, 5, 2, 0, 0, 0, time.UTC)},
		{spec: "@hourly", next: time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC)},
		{spec: "0 * * * * *", bad: true},
		{spec: "every minute", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			g := NewWithT(t)
			s, err := cron.ParseStandard(tt.spec)
			if tt.bad {
				g.Expect(err).To(HaveOccurred())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.Next(from)).To(Equal(tt.next))
		})
	}
}
