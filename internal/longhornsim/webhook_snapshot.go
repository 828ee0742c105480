package longhornsim

import (
	"context"
	"maps"
	"slices"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

// finalizerOp is common.GetLonghornFinalizerPatchOpIfNeeded: the longhorn.io finalizer on an
// object that is not being deleted.
func finalizerOp(m *metav1.ObjectMeta) []jsonpatch.JsonPatchOperation {
	if m.DeletionTimestamp != nil || slices.Contains(m.Finalizers, finalizer) {
		return nil
	}
	return []jsonpatch.JsonPatchOperation{jsonpatch.NewOperation("add", "/metadata/finalizers", append(slices.Clone(m.Finalizers), finalizer))}
}

// mutateSnapshotCreate is snapShotMutator.Create (webhook/resources/snapshot/mutator.go): the
// finalizer, and the volume, which must exist (so a Snapshot CR of a missing volume, or with
// no spec.volume, is refused here, before the validator runs): its longhornvolume label and
// an owner reference to it. spec.dataEngine, which drplan's type does not hold, is left out.
func mutateSnapshotCreate(ctx context.Context, lk lookup, snap *longhorn.Snapshot) ([]jsonpatch.JsonPatchOperation, *admitError) {
	ops := finalizerOp(&snap.ObjectMeta)
	v, err := lk.volume(ctx, snap.Spec.Volume)
	if err != nil {
		return nil, invalid("spec.Volume", "failed to get volume %v: %v", snap.Spec.Volume, err)
	}
	labels := maps.Clone(snap.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[longhorn.LabelLonghornVolume] = v.Name
	ops = append(ops, jsonpatch.NewOperation("add", "/metadata/labels", labels))
	if len(snap.OwnerReferences) == 0 {
		ops = append(ops, jsonpatch.NewOperation("add", "/metadata/ownerReferences", []metav1.OwnerReference{ownerRef("Volume", v.Name, v.UID)}))
	}
	return ops, nil
}

// mutateSnapshotUpdate is snapShotMutator.Update: the finalizer only.
func mutateSnapshotUpdate(snap *longhorn.Snapshot) []jsonpatch.JsonPatchOperation {
	return finalizerOp(&snap.ObjectMeta)
}

// validateSnapshotCreate is snapshotValidator.Create: util.VerifySnapshotLabels on the CR's
// labels, then spec.volume (linked-clone volumes are not simulated).
func validateSnapshotCreate(snap *longhorn.Snapshot) *admitError {
	for k, v := range snap.Labels {
		if strings.Contains(k, "=") || strings.Contains(v, "=") {
			return invalid("", "labels cannot contain '='")
		}
	}
	if snap.Spec.Volume == "" {
		return invalid("spec.volume", "spec.volume is required")
	}
	return nil
}

// validateSnapshotUpdate is snapshotValidator.Update.
func validateSnapshotUpdate(old, snap *longhorn.Snapshot) *admitError {
	if snap.Spec.Volume != old.Spec.Volume {
		return invalid("spec.volume", "spec.volume field is immutable")
	}
	if len(old.OwnerReferences) != 0 && !equalJSON(snap.OwnerReferences, old.OwnerReferences) {
		return invalid("metadata.ownerReferences", "snapshot OwnerReferences field is immutable")
	}
	if vol, ok := old.Labels[longhorn.LabelLonghornVolume]; ok && snap.Labels[longhorn.LabelLonghornVolume] != vol {
		return invalid("metadata.labels", "label %v is immutable", longhorn.LabelLonghornVolume)
	}
	return nil
}

// mutateBackupCreate is backupMutator.Create (webhook/resources/backup/mutator.go) for the
// fields drplan's type holds: the finalizer; the backup-volume label, from the snapshot's
// volume when missing; the access-mode spec label, from the volume (RWO when it is missing);
// backupMode "" becomes incremental; the backup-target label, from the volume when missing.
// Longhorn wraps a nil error when a backup has neither the backup-volume label nor a snapshot;
// the simulator refuses it with the message Longhorn meant.
func mutateBackupCreate(ctx context.Context, lk lookup, b *longhorn.Backup) ([]jsonpatch.JsonPatchOperation, *admitError) {
	ops := finalizerOp(&b.ObjectMeta)
	specLabels := maps.Clone(b.Spec.Labels)
	if specLabels == nil {
		specLabels = map[string]string{}
	}
	labels := maps.Clone(b.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	volume, ok := b.Labels[longhorn.LabelBackupVolume]
	if !ok {
		if b.Spec.SnapshotName == "" {
			return nil, invalid("", "cannot find the backup volume label for backup %v", b.Name)
		}
		snap, err := lk.snapshot(ctx, b.Spec.SnapshotName)
		if err != nil {
			return nil, invalid("", "failed to get the snapshot %v: %v", b.Spec.SnapshotName, err)
		}
		v, err := lk.volume(ctx, snap.Spec.Volume)
		if err != nil {
			return nil, invalid("", "failed to get the volume %v of the snapshot %v of the backup %v: %v", snap.Spec.Volume, snap.Name, b.Name, err)
		}
		volume = v.Name
		labels[longhorn.LabelBackupVolume] = volume
	}
	if _, ok := specLabels[longhorn.LabelVolumeAccessMode]; !ok {
		mode := longhorn.AccessModeReadWriteOnce
		if v, err := lk.volume(ctx, volume); err == nil && v.Spec.AccessMode != "" {
			mode = v.Spec.AccessMode
		}
		specLabels[longhorn.LabelVolumeAccessMode] = string(mode)
	}
	ops = append(ops, jsonpatch.NewOperation("add", "/spec/labels", specLabels))
	if b.Spec.BackupMode == "" {
		ops = append(ops, jsonpatch.NewOperation("add", "/spec/backupMode", longhorn.BackupModeIncremental))
	}
	if _, ok := b.Labels[longhorn.LabelBackupTarget]; !ok {
		v, err := lk.volume(ctx, volume)
		if err != nil {
			return nil, invalid("", "failed to get the volume %v of backup %v: %v", volume, b.Name, err)
		}
		labels[longhorn.LabelBackupTarget] = v.Spec.BackupTargetName
	}
	ops = append(ops, jsonpatch.NewOperation("add", "/metadata/labels", labels))
	return ops, nil
}

// mutateBackupUpdate is backupMutator.Update: spec.labels {} when null, and the finalizer.
func mutateBackupUpdate(b *longhorn.Backup) []jsonpatch.JsonPatchOperation {
	ops := finalizerOp(&b.ObjectMeta)
	if b.Spec.Labels == nil {
		ops = append(ops, jsonpatch.NewOperation("add", "/spec/labels", map[string]string{}))
	}
	return ops
}

// validateBackupCreate is backupValidator.Create (webhook/resources/backup/validator.go) for
// the fields drplan's type holds (no backupBlockSize, no linked clones). With
// spec.snapshotName set, the Snapshot CR must exist, and its volume, which must be the
// backup-volume label's and whose backup target must be the backup-target label's. Longhorn's
// messages print the snapshot: "snapshot <nil> is invalid" when it is missing.
func validateBackupCreate(ctx context.Context, lk lookup, b *longhorn.Backup) *admitError {
	if !nameRE.MatchString(b.Name) {
		return invalid("", "invalid name %v", b.Name)
	}
	if b.Spec.BackupMode != longhorn.BackupModeFull && b.Spec.BackupMode != longhorn.BackupModeIncremental {
		return invalid("", "BackupMode %v is not a valid option", b.Spec.BackupMode)
	}
	target := b.Labels[longhorn.LabelBackupTarget]
	if target == "" {
		return invalid("", "missing backup target label on backup object")
	}
	bt, err := lk.backupTarget(ctx, target)
	if err != nil {
		return invalid("", "failed to get backup target %s: %v", target, err)
	}
	if !bt.Status.Available {
		return invalid("", "backup target %s is not available", target)
	}
	if b.Spec.SnapshotName == "" {
		return nil
	}
	snap, err := lk.snapshot(ctx, b.Spec.SnapshotName)
	if err != nil {
		return invalid("", "snapshot %v is invalid", snap)
	}
	v, err := lk.volume(ctx, snap.Spec.Volume)
	if err != nil {
		return invalid("", "volume %v is invalid", snap)
	}
	if label := b.Labels[longhorn.LabelBackupVolume]; label != v.Name {
		return invalid("", "snapshot volume name %s and label volume name %s does not match", v.Name, label)
	}
	if v.Spec.BackupTargetName != target {
		return invalid("", "volume backup target %s and label backup target %s does not match", v.Spec.BackupTargetName, target)
	}
	return nil
}
