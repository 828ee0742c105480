package longhornsim

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
)

// Actions of longhorn-manager's REST API (what the UI and longhornctl call), for tests and the
// sandbox. Each runs the same checks as Longhorn, standby refusals included (REFERENCE §6),
// and then does through the API server what Longhorn would.

// Activate is VolumeManager.Activate (REFERENCE §1.7): it refuses a volume that is not standby
// or already being activated and frontends other than blockdev and iscsi, requests a sync of
// the volume's BackupVolume, then sets spec.frontend and spec.Standby false. The volume
// controller finishes the activation once the gate passes.
func (s *Sim) Activate(ctx context.Context, volume string, frontend longhorn.VolumeFrontend) error {
	v, err := s.getVolume(ctx, volume)
	if err != nil {
		return fmt.Errorf("activate volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	if err := activationRefusal(v, frontend); err != nil {
		return err
	}
	if err := s.triggerBackupVolumeToSync(ctx, v); err != nil {
		return refusal("unable to activate volume %v: %v", volume, err)
	}
	return s.patchVolume(ctx, volume, map[string]any{"spec": map[string]any{"Standby": false, "frontend": frontend}})
}

// triggerBackupVolumeToSync is VolumeManager.triggerBackupVolumeToSync: it needs
// spec.backupTargetName and the backup-volume label, and skips a missing BackupVolume.
func (s *Sim) triggerBackupVolumeToSync(ctx context.Context, v *longhorn.Volume) error {
	if v.Spec.BackupTargetName == "" {
		return fmt.Errorf("failed to find the backup target label for volume: %v", v.Name)
	}
	bvName := v.Labels[longhorn.LabelBackupVolume]
	if bvName == "" {
		return fmt.Errorf("failed to find the backup volume label for volume: %v", v.Name)
	}
	bv, err := s.findBackupVolume(ctx, s.api, v.Spec.BackupTargetName, bvName)
	if err != nil {
		return fmt.Errorf("failed to get backup volume: %v: %w", bvName, err)
	}
	if bv == nil {
		s.log.Info("backup volume not found, sync skipped", "volume", v.Name, "backupVolume", bvName)
		return nil
	}
	return s.requestSync(ctx, bv)
}

// Backup is the REST snapshotBackup action: it takes a snapshot of the volume and backs it up
// to the volume's BackupTarget, returning the Backup's name. It is refused for a standby volume.
func (s *Sim) Backup(ctx context.Context, volume string, labels map[string]string) (string, error) {
	v, err := s.getVolume(ctx, volume)
	if err != nil {
		return "", fmt.Errorf("back up volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	if err := StandbyRefusal(OpBackupCreate, v); err != nil {
		return "", err
	}
	return s.createBackup(ctx, v, "", labels)
}

// Expand is the REST expand action on spec.size; refused for a standby volume.
func (s *Sim) Expand(ctx context.Context, volume string, size int64) error {
	v, err := s.getVolume(ctx, volume)
	if err != nil {
		return fmt.Errorf("expand volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	if err := StandbyRefusal(OpExpand, v); err != nil {
		return err
	}
	if size < v.Spec.Size {
		return refusal("shrinking volume %v from %v to %v is not supported", volume, v.Spec.Size, size)
	}
	return s.patchVolume(ctx, volume, map[string]any{"spec": map[string]any{"size": strconv.FormatInt(size, 10)}})
}

// CreatePV is the REST pvCreate action: a PersistentVolume for the volume shaped like
// Longhorn's (driver.longhorn.io, Retain, fsType ext4 by default, storage class
// longhorn-static). Refused for a standby volume.
func (s *Sim) CreatePV(ctx context.Context, volume, pvName, fsType string) (*corev1.PersistentVolume, error) {
	v, err := s.getVolume(ctx, volume)
	if err != nil {
		return nil, fmt.Errorf("create pv for volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	if err := StandbyRefusal(OpPVCreate, v); err != nil {
		return nil, err
	}
	if pvName == "" {
		pvName = volume
	}
	if fsType == "" {
		fsType = "ext4"
	}
	mode := corev1.PersistentVolumeFilesystem
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: *resource.NewQuantity(v.Spec.Size, resource.BinarySI)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{accessMode(v)},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			VolumeMode:                    &mode,
			StorageClassName:              staticStorageClass,
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: "driver.longhorn.io", FSType: fsType, VolumeHandle: v.Name,
				VolumeAttributes: map[string]string{
					"diskSelector": "", "nodeSelector": "",
					"numberOfReplicas": strconv.Itoa(v.Spec.NumberOfReplicas), "staleReplicaTimeout": "0",
				},
			}},
		},
	}
	if err := s.api.Create(ctx, pv); err != nil {
		return nil, fmt.Errorf("create pv %s for volume %s in cluster %s: %w", pvName, volume, s.opts.Cluster, err)
	}
	return pv, nil
}

// CreatePVC is the REST pvcCreate action: a claim bound to the volume's PV. Refused for a
// standby volume.
func (s *Sim) CreatePVC(ctx context.Context, volume, pvName, namespace, pvcName string) (*corev1.PersistentVolumeClaim, error) {
	v, err := s.getVolume(ctx, volume)
	if err != nil {
		return nil, fmt.Errorf("create pvc for volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	if err := StandbyRefusal(OpPVCCreate, v); err != nil {
		return nil, err
	}
	sc := staticStorageClass
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: pvcName, Namespace: namespace},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{accessMode(v)},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: *resource.NewQuantity(v.Spec.Size, resource.BinarySI),
			}},
			StorageClassName: &sc,
			VolumeName:       pvName,
		},
	}
	if err := s.api.Create(ctx, pvc); err != nil {
		return nil, fmt.Errorf("create pvc %s/%s for volume %s in cluster %s: %w", namespace, pvcName, volume, s.opts.Cluster, err)
	}
	return pvc, nil
}

// staticStorageClass is the default of Longhorn's setting default-longhorn-static-storage-class.
const staticStorageClass = "longhorn-static"

func accessMode(v *longhorn.Volume) corev1.PersistentVolumeAccessMode {
	if v.Spec.AccessMode == longhorn.AccessModeReadWriteMany {
		return corev1.ReadWriteMany
	}
	return corev1.ReadWriteOnce
}

func (s *Sim) getVolume(ctx context.Context, name string) (*longhorn.Volume, error) {
	var v longhorn.Volume
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: name}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// requestSync sets a BackupVolume's spec.syncRequestedAt to now.
func (s *Sim) requestSync(ctx context.Context, bv *longhorn.BackupVolume) error {
	patch := client.MergeFrom(bv.DeepCopy())
	bv.Spec.SyncRequestedAt = s.now()
	if err := s.api.Patch(ctx, bv, patch); err != nil {
		return fmt.Errorf("request sync of backup volume %s in cluster %s: %w", bv.Name, s.opts.Cluster, err)
	}
	return nil
}

// now is the current time as the API server keeps a metav1.Time: UTC, whole seconds.
func (s *Sim) now() *metav1.Time {
	t := metav1.NewTime(s.opts.Clock.Now().UTC().Truncate(time.Second))
	return &t
}
