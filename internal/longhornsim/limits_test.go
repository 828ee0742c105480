package longhornsim

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

// The standby refusals carry Longhorn's messages (REFERENCE §6).
func TestStandbyRefusal(t *testing.T) {
	v := &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "pg"}, Status: longhorn.VolumeStatus{IsStandby: true}}
	tests := []struct {
		op   Operation
		want string
	}{
		{OpSnapshotCreate, "failed to create snapshot for standby volume pg"},
		{OpSnapshotDelete, "failed to delete snapshot for standby volume pg"},
		{OpSnapshotRevert, "failed to revert snapshot for standby volume pg"},
		{OpBackupCreate, "failed to create backup for standby volume pg"},
		{OpExpand, "failed to manually expand standby volume pg"},
		{OpCancelExpansion, "canceling expansion for standby volume is not supported"},
		{OpPVCreate, "failed to create PV for standby volume pg"},
		{OpPVCCreate, "failed to create PVC for standby volume pg"},
		{OpDetach, "cannot detach standby volume pg"},
	}
	for _, tt := range tests {
		t.Run(string(tt.op), func(t *testing.T) {
			g := NewWithT(t)
			err := StandbyRefusal(tt.op, v)
			g.Expect(err).To(MatchError(tt.want))
			g.Expect(errors.Is(err, ErrRefused)).To(BeTrue())
			active := v.DeepCopy()
			active.Status.IsStandby = false
			g.Expect(StandbyRefusal(tt.op, active)).To(Succeed())
		})
	}
}

// VolumeManager.Activate's checks (REFERENCE §1.7).
func TestActivationRefusal(t *testing.T) {
	vol := func(specStandby, isStandby bool) *longhorn.Volume {
		return &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "pg"},
			Spec: longhorn.VolumeSpec{Standby: specStandby}, Status: longhorn.VolumeStatus{IsStandby: isStandby}}
	}
	tests := []struct {
		name     string
		v        *longhorn.Volume
		frontend longhorn.VolumeFrontend
		want     string
	}{
		{"standby, blockdev", vol(true, true), longhorn.VolumeFrontendBlockDev, ""},
		{"standby, iscsi", vol(true, true), longhorn.VolumeFrontendISCSI, ""},
		{"standby, nvmf", vol(true, true), longhorn.VolumeFrontendNvmf, "unable to activate volume pg: invalid frontend nvmf"},
		{"being activated", vol(false, true), longhorn.VolumeFrontendBlockDev, "unable to activate volume pg: volume pg is being activated"},
		{"active", vol(false, false), longhorn.VolumeFrontendBlockDev, "unable to activate volume pg: volume pg is already in active mode"},
		{"not yet initialised", vol(true, false), longhorn.VolumeFrontendBlockDev, "unable to activate volume pg: volume pg is already in active mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := activationRefusal(tt.v, tt.frontend)
			if tt.want == "" {
				NewWithT(t).Expect(err).To(Succeed())
				return
			}
			NewWithT(t).Expect(err).To(MatchError(tt.want))
		})
	}
}

// The attach refusals of a restoring volume (manager/volume.go).
func TestRefuseWhileRestoring(t *testing.T) {
	restoring := []longhorn.Condition{{Type: longhorn.VolumeConditionTypeRestore, Status: longhorn.ConditionStatusTrue}}
	tests := []struct {
		name   string
		status longhorn.VolumeStatus
		want   string
	}{
		{"restoring", longhorn.VolumeStatus{Conditions: restoring, RestoreRequired: true}, "volume pg is restoring data"},
		{"pending", longhorn.VolumeStatus{RestoreRequired: true}, "volume pg is pending restoring"},
		{"done", longhorn.VolumeStatus{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := refuseWhileRestoring(&longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "pg"}, Status: tt.status})
			if tt.want == "" {
				NewWithT(t).Expect(err).To(Succeed())
				return
			}
			NewWithT(t).Expect(err).To(MatchError(tt.want))
		})
	}
}
