package longhornsim

import (
	"errors"
	"fmt"

	"github.com/drplan/drplan/internal/longhorn"
)

// ErrRefused marks an operation longhorn-manager refuses; the error's text is Longhorn's own
// message. Test with errors.Is.
var ErrRefused = errors.New("refused by longhorn-manager")

type refusedError struct{ msg string }

func (e refusedError) Error() string        { return e.msg }
func (e refusedError) Is(target error) bool { return target == ErrRefused }

func refusal(format string, args ...any) error {
	return refusedError{msg: fmt.Sprintf(format, args...)}
}

// Operation is something a user asks of Longhorn's API that a standby volume refuses.
type Operation string

// The operations Longhorn refuses on a standby volume (REFERENCE §6).
const (
	OpSnapshotCreate  Operation = "snapshot-create"
	OpSnapshotDelete  Operation = "snapshot-delete"
	OpSnapshotRevert  Operation = "snapshot-revert"
	OpBackupCreate    Operation = "backup-create"
	OpExpand          Operation = "expand"
	OpCancelExpansion Operation = "cancel-expansion"
	OpPVCreate        Operation = "pv-create"
	OpPVCCreate       Operation = "pvc-create"
	OpDetach          Operation = "detach"
)

// standbyMessages are Longhorn's messages, from the API and manager layers that key them on
// status.isStandby (REFERENCE §6 table: api/snapshot.go, api/volume.go, manager/volume.go).
var standbyMessages = map[Operation]string{
	OpSnapshotCreate:  "failed to create snapshot for standby volume %v",
	OpSnapshotDelete:  "failed to delete snapshot for standby volume %v",
	OpSnapshotRevert:  "failed to revert snapshot for standby volume %v",
	OpBackupCreate:    "failed to create backup for standby volume %v",
	OpExpand:          "failed to manually expand standby volume %v",
	OpCancelExpansion: "canceling expansion for standby volume is not supported",
	OpPVCreate:        "failed to create PV for standby volume %v",
	OpPVCCreate:       "failed to create PVC for standby volume %v",
	OpDetach:          "cannot detach standby volume %v",
}

// StandbyRefusal returns Longhorn's refusal of op on volume v while v is a standby volume
// (status.isStandby, REFERENCE §6), or nil when Longhorn allows it.
func StandbyRefusal(op Operation, v *longhorn.Volume) error {
	if !v.Status.IsStandby {
		return nil
	}
	msg, ok := standbyMessages[op]
	if !ok {
		return nil
	}
	if op == OpCancelExpansion {
		return refusal("%s", msg)
	}
	return refusal(msg, v.Name)
}

// refuseWhileRestoring is the attach check of manager/volume.go (REFERENCE §6 "Attach"): a
// volume whose Restore condition is True "is restoring data", one that still requires a
// restore "is pending restoring".
func refuseWhileRestoring(v *longhorn.Volume) error {
	if isConditionTrue(v.Status.Conditions, longhorn.VolumeConditionTypeRestore) {
		return refusal("volume %v is restoring data", v.Name)
	}
	if v.Status.RestoreRequired {
		return refusal("volume %v is pending restoring", v.Name)
	}
	return nil
}

// activationRefusal is VolumeManager.Activate's checks (REFERENCE §1.7 "Manager
// implementation" 1-3), wrapped as Longhorn wraps them.
func activationRefusal(v *longhorn.Volume, frontend longhorn.VolumeFrontend) error {
	var err error
	switch {
	case !v.Status.IsStandby:
		err = refusal("volume %v is already in active mode", v.Name)
	case !v.Spec.Standby:
		err = refusal("volume %v is being activated", v.Name)
	case frontend != longhorn.VolumeFrontendBlockDev && frontend != longhorn.VolumeFrontendISCSI:
		err = refusal("invalid frontend %v", frontend)
	}
	if err != nil {
		return refusal("unable to activate volume %v: %v", v.Name, err)
	}
	return nil
}

// isConditionTrue reports whether conds holds condition typ with status True.
func isConditionTrue(conds []longhorn.Condition, typ string) bool {
	c := longhorn.FindCondition(conds, typ)
	return c != nil && c.Status == longhorn.ConditionStatusTrue
}
