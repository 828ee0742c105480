package longhorn_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

func TestSyncDue(t *testing.T) {
	cases := []struct {
		name            string
		requested, last *metav1.Time
		want            bool
	}{
		{name: "never synced", want: true},
		{name: "never synced, requested", requested: mtime(0), want: true},
		{name: "synced, nothing requested", last: mtime(0), want: false},
		{name: "requested before last sync", requested: mtime(-time.Second), last: mtime(0), want: false},
		{name: "requested at last sync", requested: mtime(0), last: mtime(0), want: false},
		{name: "requested after last sync", requested: mtime(time.Second), last: mtime(0), want: true},
		{name: "zero last sync counts as never", requested: mtime(0), last: &metav1.Time{}, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(longhorn.SyncDue(tc.requested, tc.last)).To(Equal(tc.want))
			bv := &longhorn.BackupVolume{Spec: longhorn.BackupVolumeSpec{SyncRequestedAt: tc.requested}, Status: longhorn.BackupVolumeStatus{LastSyncedAt: tc.last}}
			g.Expect(bv.SyncDue()).To(Equal(tc.want))
			bt := &longhorn.BackupTarget{Spec: longhorn.BackupTargetSpec{SyncRequestedAt: tc.requested}, Status: longhorn.BackupTargetStatus{LastSyncedAt: tc.last}}
			g.Expect(bt.SyncDue()).To(Equal(tc.want))
		})
	}
}

func TestPollInterval(t *testing.T) {
	g := NewWithT(t)
	g.Expect((&longhorn.BackupTarget{}).PollInterval()).To(BeZero(), "unset reads as 0 (off), as in Longhorn")
	bt := &longhorn.BackupTarget{Spec: longhorn.BackupTargetSpec{PollInterval: &metav1.Duration{Duration: 30 * time.Second}}}
	g.Expect(bt.PollInterval()).To(Equal(30 * time.Second))
}

func TestFindBackupVolume(t *testing.T) {
	bv := func(name, target, volume string) longhorn.BackupVolume {
		b := longhorn.BackupVolume{ObjectMeta: metav1.ObjectMeta{Name: name}}
		b.Labels = longhorn.BackupVolumeLabels(target, volume)
		return b
	}
	cases := []struct {
		name    string
		bvs     []longhorn.BackupVolume
		want    string
		wantErr string
	}{
		{name: "none"},
		{name: "by labels, not name", want: "random-name", bvs: []longhorn.BackupVolume{
			bv("pg-data-x", "other", fixtureVolume), bv("random-name", "default", fixtureVolume), bv("y", "default", "pg"),
		}},
		{name: "two matches is an error, as in Longhorn", wantErr: "found more than one (a, b)", bvs: []longhorn.BackupVolume{
			bv("a", "default", fixtureVolume), bv("b", "default", fixtureVolume),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := longhorn.FindBackupVolume(tc.bvs, "default", fixtureVolume)
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			if tc.want == "" {
				g.Expect(got).To(BeNil())
				return
			}
			g.Expect(got.Name).To(Equal(tc.want))
		})
	}
}

func TestDegradedActivationAllowed(t *testing.T) {
	cases := []struct {
		name    string
		setting *longhorn.Setting
		want    bool
		wantErr bool
	}{
		{name: "missing: Longhorn's default true", want: true},
		{name: "true", setting: &longhorn.Setting{Value: "true"}, want: true},
		{name: "false", setting: &longhorn.Setting{Value: "false"}, want: false},
		{name: "strconv forms", setting: &longhorn.Setting{Value: "TRUE"}, want: true},
		{name: "not a boolean", setting: &longhorn.Setting{Value: "yes"}, wantErr: true},
		{name: "empty", setting: &longhorn.Setting{Value: ""}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := longhorn.DegradedActivationAllowed(tc.setting)
			if tc.wantErr {
				g.Expect(err).To(MatchError(ContainSubstring(longhorn.SettingAllowDegradedAvailability)))
				g.Expect(got).To(BeFalse())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestBackupHelpers(t *testing.T) {
	g := NewWithT(t)
	b := &longhorn.Backup{}
	_, ok := b.VolumeSizeBytes()
	g.Expect(ok).To(BeFalse(), "unset volumeSize")
	b.Status.VolumeSize = "2147483648"
	n, ok := b.VolumeSizeBytes()
	g.Expect(ok).To(BeTrue())
	g.Expect(n).To(Equal(int64(2147483648)))
	b.Status.VolumeName = "from-status"
	g.Expect(b.BackupVolumeName()).To(Equal("from-status"))
	b.Labels = map[string]string{longhorn.LabelBackupVolume: "from-label"}
	g.Expect(b.BackupVolumeName()).To(Equal("from-label"))
}
