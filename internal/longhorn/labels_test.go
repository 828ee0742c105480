package longhorn_test

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

func TestRecurringJobLabels(t *testing.T) {
	g := NewWithT(t)
	g.Expect(longhorn.RecurringJobLabel("drplan-payments")).To(Equal("recurring-job.longhorn.io/drplan-payments"))
	g.Expect(longhorn.RecurringJobGroupLabel("default")).To(Equal("recurring-job-group.longhorn.io/default"))
	for key, want := range map[string]bool{
		"recurring-job.longhorn.io/j":       true,
		"recurring-job-group.longhorn.io/g": true,
		"recurring-job.longhorn.io/source":  false,
		"longhornvolume":                    false,
		"recurring-job.longhorn.iox/j":      false,
	} {
		g.Expect(longhorn.IsRecurringJobLabel(key)).To(Equal(want), key)
	}
}

func TestSelectsVolume(t *testing.T) {
	job := &longhorn.RecurringJob{
		ObjectMeta: metav1.ObjectMeta{Name: "meta-name"},
		Spec:       longhorn.RecurringJobSpec{Name: "drplan-payments", Groups: []string{"g1", "g2"}, Task: longhorn.RecurringJobTaskBackup},
	}
	unnamed := job.DeepCopy()
	unnamed.Spec.Name = ""
	cases := []struct {
		name   string
		job    *longhorn.RecurringJob
		labels map[string]string
		want   bool
	}{
		{name: "no labels", job: job},
		{name: "job label", job: job, labels: map[string]string{"recurring-job.longhorn.io/drplan-payments": "enabled"}, want: true},
		{name: "job label not enabled", job: job, labels: map[string]string{"recurring-job.longhorn.io/drplan-payments": "disabled"}},
		{name: "group label", job: job, labels: map[string]string{"recurring-job-group.longhorn.io/g2": "enabled"}, want: true},
		{name: "other group", job: job, labels: map[string]string{"recurring-job-group.longhorn.io/default": "enabled"}},
		{name: "metadata.name when spec.name is empty", job: unnamed, labels: map[string]string{"recurring-job.longhorn.io/meta-name": "enabled"}, want: true},
		{name: "metadata.name ignored when spec.name is set", job: job, labels: map[string]string{"recurring-job.longhorn.io/meta-name": "enabled"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(tc.job.SelectsVolume(tc.labels)).To(Equal(tc.want))
		})
	}
}

func TestBackupVolumeLabels(t *testing.T) {
	NewWithT(t).Expect(longhorn.BackupVolumeLabels("default", "pg-data")).To(Equal(map[string]string{"backup-volume": "pg-data", "backup-target": "default"}))
}
