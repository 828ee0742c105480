package longhornsim

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

// datastore.labelRecurringJobDefault (REFERENCE §10.7): a key with either prefix, of any value,
// keeps the default group off, the source label included. (The simulator used to ignore the
// source label here, as types.IsRecurringJobLabel does; labelRecurringJobDefault does not.)
func TestHasRecurringJobLabels(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"none", map[string]string{"a": "b"}, false},
		{"source label", map[string]string{longhorn.RecurringJobSourceLabel: "enabled"}, true},
		{"group", map[string]string{longhorn.RecurringJobGroupLabel("x"): "enabled"}, true},
		{"job disabled", map[string]string{longhorn.RecurringJobLabel("x"): "disabled"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(hasRecurringJobLabels(tt.labels)).To(Equal(tt.want))
		})
	}
}

// syncRecurringJobLabelsToTargetResource (recurring_job_controller.go), as
// syncPVCRecurringJobLabels applies it from a PVC to its Volume (REFERENCE §10.8): the volume's
// job and group labels become exactly the PVC's; other labels and the source label stay.
func TestSyncRecurringJobLabels(t *testing.T) {
	g := NewWithT(t)
	job, group := longhorn.RecurringJobLabel, longhorn.RecurringJobGroupLabel
	target := map[string]string{
		"app": "db", job("volume-only"): "enabled", job("both"): "disabled", group("default"): "enabled",
		longhorn.LabelLonghornVolume: "v",
	}
	source := map[string]string{
		longhorn.RecurringJobSourceLabel: "enabled", job("both"): "enabled", group("gold"): "enabled", "team": "x",
	}
	syncRecurringJobLabels(target, source)
	g.Expect(target).To(Equal(map[string]string{
		"app": "db", job("both"): "enabled", group("gold"): "enabled", longhorn.LabelLonghornVolume: "v",
	}))
}

// The job runner selects volumes by job or group label valued enabled (app/recurringjob).
func TestJobSelectsVolume(t *testing.T) {
	job := &longhorn.RecurringJob{ObjectMeta: metav1.ObjectMeta{Name: "cr-name"},
		Spec: longhorn.RecurringJobSpec{Name: "nightly", Groups: []string{"gold"}}}
	tests := []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"by job", map[string]string{longhorn.RecurringJobLabel("nightly"): "enabled"}, true},
		{"by group", map[string]string{longhorn.RecurringJobGroupLabel("gold"): "enabled"}, true},
		{"disabled", map[string]string{longhorn.RecurringJobLabel("nightly"): "disabled"}, false},
		{"by metadata name", map[string]string{longhorn.RecurringJobLabel("cr-name"): "enabled"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(jobSelectsVolume(job, tt.labels)).To(Equal(tt.want))
		})
	}
}
