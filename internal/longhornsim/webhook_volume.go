package longhornsim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

// Defaults the volume mutator applies (REFERENCE §1.5 step 8), from Longhorn v1.10.2's Setting
// defaults: default-replica-count 3, default-engine-image, and 2 MiB size alignment.
const (
	defaultReplicaCount = 3
	defaultEngineImage  = "longhornio/longhorn-engine:v1.10.2"
	sizeAlignment       = 2 << 20
)

// admitError is a denial with Longhorn's message and HTTP code (webhook/error/error.go).
type admitError struct {
	code    int32
	reason  metav1.StatusReason
	message string
	field   string
}

func (e *admitError) Error() string { return e.message }

func invalid(field, format string, args ...any) *admitError {
	return &admitError{code: http.StatusUnprocessableEntity, reason: metav1.StatusReasonInvalid, message: fmt.Sprintf(format, args...), field: field}
}

func (e *admitError) status() *metav1.Status {
	st := &metav1.Status{Status: metav1.StatusFailure, Message: e.message, Code: e.code, Reason: e.reason}
	if e.reason == metav1.StatusReasonInvalid {
		st.Details = &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: metav1.CauseTypeFieldValueInvalid, Message: e.message, Field: e.field}}}
	}
	return st
}

// lookup is what the webhooks read from the cluster, as Longhorn's datastore reads its
// informer caches; errors carry the datastore's messages.
type lookup interface {
	// backup is DataStore.GetBackupRO: NotFound reads `backup.longhorn.io "<name>" not found`.
	backup(ctx context.Context, name string) (*longhorn.Backup, error)
	// backupVolume is DataStore.GetBackupVolumeByBackupTargetAndVolumeRO.
	backupVolume(ctx context.Context, target, volume string) (*longhorn.BackupVolume, error)
	// backupTarget is DataStore.GetBackupTargetRO.
	backupTarget(ctx context.Context, name string) (*longhorn.BackupTarget, error)
	// volume is DataStore.GetVolumeRO: NotFound reads `volume.longhorn.io "<name>" not found`.
	volume(ctx context.Context, name string) (*longhorn.Volume, error)
	// snapshot is DataStore.GetSnapshotRO.
	snapshot(ctx context.Context, name string) (*longhorn.Snapshot, error)
	// standbyVolumes is DataStore.ListDRVolumesRO: names of volumes with spec.Standby.
	standbyVolumes(ctx context.Context) ([]string, error)
}

// mutateVolumeCreate is volumeMutator.Create (REFERENCE §1.5, mutator.go:88) for the fields
// drplan's types hold: the name is corrected with util.AutoCorrectName (lower case, at most 40
// characters, REFERENCE §10.4); a volume from a backup is admitted only when its Backup and
// BackupVolume exist in this cluster, and takes its size, backup target and labels from them.
func mutateVolumeCreate(ctx context.Context, lk lookup, v *longhorn.Volume) ([]jsonpatch.JsonPatchOperation, *admitError) {
	var ops []jsonpatch.JsonPatchOperation
	add := func(path string, value any) {
		ops = append(ops, jsonpatch.NewOperation("add", path, value))
	}
	if name := autoCorrectName(v.Name, nameMaximumLength); name != v.Name {
		ops = append(ops, jsonpatch.NewOperation("replace", "/metadata/name", name))
	}
	if v.Spec.NumberOfReplicas == 0 {
		add("/spec/numberOfReplicas", defaultReplicaCount)
	}
	if v.Spec.AccessMode == "" {
		mode := longhorn.AccessModeReadWriteOnce
		if v.Spec.FromBackup != "" {
			u, err := longhorn.ParseBackupURL(v.Spec.FromBackup)
			if err != nil {
				return nil, invalid("", "failed to decode backup url %v: %v", v.Spec.FromBackup, err)
			}
			b, err := lk.backup(ctx, u.BackupName)
			if err != nil {
				return nil, invalid("", "failed to get backup %v: %v", u.BackupName, err)
			}
			if m, ok := b.Status.Labels[longhorn.LabelVolumeAccessMode]; ok {
				mode = longhorn.AccessMode(m)
			}
		}
		add("/spec/accessMode", mode)
	}
	more := map[string]string{}
	size := v.Spec.Size
	target := v.Spec.BackupTargetName
	if v.Spec.FromBackup != "" {
		u, err := longhorn.ParseBackupURL(v.Spec.FromBackup)
		if err != nil {
			return nil, invalid("", "cannot get backup and volume name from backup URL %v: %v", v.Spec.FromBackup, err)
		}
		b, err := lk.backup(ctx, u.BackupName)
		if err != nil {
			return nil, invalid("", "cannot get backup %s: %v", u.BackupName, err)
		}
		target = b.Status.BackupTargetName
		if _, err := lk.backupVolume(ctx, target, u.VolumeName); err != nil {
			return nil, invalid("", "cannot get backup volume for backup target %s and volume %s: %v", target, u.VolumeName, err)
		}
		size, err = convertSize(b.Status.VolumeSize)
		if err != nil {
			return nil, invalid("", "get invalid size for volume %v: %v", b.Status.VolumeSize, err)
		}
		more[longhorn.LabelBackupVolume] = u.VolumeName
	}
	if target == "" {
		target = longhorn.DefaultBackupTargetName
	}
	more[longhorn.LabelBackupTarget] = target
	add("/spec/backupTargetName", target)
	add("/spec/size", strconv.FormatInt(roundUpSize(size), 10))
	add("/spec/image", defaultEngineImage)
	common, aerr := mutateVolumeCommon(ctx, lk, v, more, true)
	if aerr != nil {
		return nil, aerr
	}
	return append(ops, common...), nil
}

// mutateVolumeUpdate is volumeMutator.Update: it relabels the backup target when it changes
// and runs the common part, whose Backup lookup for a standby volume denies every update,
// finalizer removal included, once that Backup CR is gone (REFERENCE §10.2, §10.3). The one
// exception is the simulator's own: an update that changes nothing but its records
// (AnnotationPrefix annotations), which Longhorn keeps in objects of its own.
func mutateVolumeUpdate(ctx context.Context, lk lookup, old, v *longhorn.Volume) ([]jsonpatch.JsonPatchOperation, *admitError) {
	var ops []jsonpatch.JsonPatchOperation
	if v.Spec.AccessMode == "" {
		ops = append(ops, jsonpatch.NewOperation("add", "/spec/accessMode", longhorn.AccessModeReadWriteOnce))
	}
	more := map[string]string{}
	if old.Spec.BackupTargetName != v.Spec.BackupTargetName {
		more[longhorn.LabelBackupTarget] = v.Spec.BackupTargetName
	}
	common, aerr := mutateVolumeCommon(ctx, lk, v, more, !onlyRecordsChanged(old, v))
	if aerr != nil {
		return nil, aerr
	}
	return append(ops, common...), nil
}

// mutateVolumeCommon is volumeMutator.mutate: the longhorn.io finalizer, the data engine
// default, the Backup of a standby volume (whose block size Longhorn copies; inspectBackup false
// skips it for the simulator's own records), and the labels.
func mutateVolumeCommon(ctx context.Context, lk lookup, v *longhorn.Volume, more map[string]string, inspectBackup bool) ([]jsonpatch.JsonPatchOperation, *admitError) {
	var ops []jsonpatch.JsonPatchOperation
	if v.DeletionTimestamp == nil && !slices.Contains(v.Finalizers, finalizer) {
		ops = append(ops, jsonpatch.NewOperation("add", "/metadata/finalizers", append(slices.Clone(v.Finalizers), finalizer)))
	}
	if v.Spec.DataEngine == "" {
		ops = append(ops, jsonpatch.NewOperation("add", "/spec/dataEngine", longhorn.DataEngineV1))
	}
	if v.Spec.Standby && inspectBackup {
		u, err := longhorn.ParseBackupURL(v.Spec.FromBackup)
		if err != nil {
			return nil, invalid("spec.fromBackup", "failed to get backup name from backup URL %s: %s", v.Spec.FromBackup, err)
		}
		if _, err := lk.backup(ctx, u.BackupName); err != nil {
			return nil, invalid("spec.fromBackup", "failed to inspect the backup config %s: %s", v.Spec.FromBackup, err)
		}
	}
	labels := map[string]string{}
	for k, val := range v.Labels {
		labels[k] = val
	}
	for k, val := range more {
		labels[k] = val
	}
	labels[longhorn.LabelLonghornVolume] = autoCorrectName(v.Name, nameMaximumLength)
	ops = append(ops, jsonpatch.NewOperation("add", "/metadata/labels", labels))
	return ops, nil
}

// onlyRecordsChanged reports whether an update changes the simulator's records and nothing else.
func onlyRecordsChanged(old, v *longhorn.Volume) bool {
	records := func(in *longhorn.Volume) (rest *longhorn.Volume, recs map[string]string) {
		rest, recs = in.DeepCopy(), map[string]string{}
		rest.ResourceVersion, rest.ManagedFields, rest.Generation = "", nil, 0
		for k, val := range rest.Annotations {
			if strings.HasPrefix(k, AnnotationPrefix) {
				recs[k] = val
				delete(rest.Annotations, k)
			}
		}
		if len(rest.Annotations) == 0 {
			rest.Annotations = nil
		}
		return rest, recs
	}
	a, ra := records(old)
	b, rb := records(v)
	return !equalJSON(ra, rb) && equalJSON(a.ObjectMeta, b.ObjectMeta) && equalJSON(a.Spec, b.Spec)
}

// validateVolumeCreate is volumeValidator.Create for the fields drplan's types hold. It runs
// after the mutator, on the mutated object. The backup block size is the one the mutator gives
// the volume (a standby volume's is its fromBackup Backup's, "-1" for a Backup pulled while its
// config could not be read, REFERENCE §10.11). The frontend is checked only for a volume that is
// not standby (REFERENCE §1.5). The name must pass datastore.CheckVolume (§10.4).
func validateVolumeCreate(ctx context.Context, lk lookup, v *longhorn.Volume) *admitError {
	if !nameRE.MatchString(v.Name) {
		return invalid("", "invalid name %v", v.Name)
	}
	if v.Spec.AccessMode != longhorn.AccessModeReadWriteOnce && v.Spec.AccessMode != longhorn.AccessModeReadWriteMany {
		return invalid("spec.accessMode", "invalid access mode: %v", v.Spec.AccessMode)
	}
	if err := validateReplicaCount(v.Spec.NumberOfReplicas); err != nil {
		return err
	}
	var fromBackup *longhorn.Backup
	if v.Spec.Standby {
		if u, err := longhorn.ParseBackupURL(v.Spec.FromBackup); err == nil {
			fromBackup, _ = lk.backup(ctx, u.BackupName)
		}
	}
	if err := validateBackupBlockSize(v.Spec.Size, volumeBackupBlockSize(v, fromBackup)); err != nil {
		return invalid("spec.backupBlockSize", "%v", err)
	}
	if v.Spec.Image == "" {
		return invalid("", "BUG: Invalid empty Setting.EngineImage")
	}
	if !v.Spec.Standby {
		switch v.Spec.DataEngine {
		case longhorn.DataEngineV2:
			if v.Spec.Frontend != longhorn.VolumeFrontendBlockDev && v.Spec.Frontend != longhorn.VolumeFrontendNvmf && v.Spec.Frontend != longhorn.VolumeFrontendUblk {
				return invalid("", "invalid volume frontend specified: %v for data engine %v ", v.Spec.Frontend, v.Spec.DataEngine)
			}
		default:
			if v.Spec.Frontend != longhorn.VolumeFrontendBlockDev && v.Spec.Frontend != longhorn.VolumeFrontendISCSI {
				return invalid("", "invalid volume frontend specified: %v for data engine %v ", v.Spec.Frontend, v.Spec.DataEngine)
			}
		}
	}
	if err := checkVolume(v); err != nil {
		return err
	}
	return validateBackupTargetName(ctx, lk, "", v.Spec.BackupTargetName)
}

// validateVolumeUpdate is volumeValidator.Update for the fields drplan's types hold.
func validateVolumeUpdate(ctx context.Context, lk lookup, old, v *longhorn.Volume) *admitError {
	if v.Spec.Size < old.Spec.Size {
		return invalid("spec.size", "shrinking volume %v size from %v to %v is not supported", v.Name, old.Spec.Size, v.Spec.Size)
	}
	if err := validateReplicaCount(v.Spec.NumberOfReplicas); err != nil {
		return err
	}
	if v.Spec.AccessMode != longhorn.AccessModeReadWriteOnce && v.Spec.AccessMode != longhorn.AccessModeReadWriteMany {
		return invalid("spec.accessMode", "invalid access mode: %v", v.Spec.AccessMode)
	}
	if err := checkVolume(v); err != nil {
		return err
	}
	if old.Spec.DataEngine != "" && old.Spec.DataEngine != v.Spec.DataEngine {
		return invalid("spec.dataEngine", "changing data engine for volume %v is not supported", old.Name)
	}
	return validateBackupTargetName(ctx, lk, old.Spec.BackupTargetName, v.Spec.BackupTargetName)
}

func validateReplicaCount(n int) *admitError {
	if n < 1 || n > 20 {
		return invalid("spec.numberOfReplicas", "replica count value %v must between %v to %v", n, 1, 20)
	}
	return nil
}

// validateBackupTargetName is volumeValidator.validateBackupTarget (REFERENCE §1.1
// backupTargetName).
func validateBackupTargetName(ctx context.Context, lk lookup, old, cur string) *admitError {
	if cur == "" {
		return invalid("spec.backupTargetName", "backup target name cannot be empty when creating a volume or updating from an existing backup target")
	}
	if old == cur {
		return nil
	}
	if _, err := lk.backupTarget(ctx, cur); err != nil {
		return invalid("spec.backupTargetName", "failed to get backup target %v: %v", cur, err)
	}
	return nil
}

// validateBackupTargetUpdate is backupTargetValidator.Update's standby check (REFERENCE §3.3,
// §6): changing the URL or the credential secret is refused while any standby volume exists.
func validateBackupTargetUpdate(ctx context.Context, lk lookup, old, bt *longhorn.BackupTarget) *admitError {
	if old.Spec.BackupTargetURL == bt.Spec.BackupTargetURL && old.Spec.CredentialSecret == bt.Spec.CredentialSecret {
		return nil
	}
	return validateNoStandby(ctx, lk)
}

// validateBackupTargetDelete is backupTargetValidator.Delete.
func validateBackupTargetDelete(ctx context.Context, lk lookup, bt *longhorn.BackupTarget) *admitError {
	if bt.Name == longhorn.DefaultBackupTargetName {
		if _, ok := bt.Annotations["longhorn.io/delete-backup-target-from-longhorn"]; !ok {
			return invalid("", "deleting default backup target is not allowed")
		}
	}
	return validateNoStandby(ctx, lk)
}

func validateNoStandby(ctx context.Context, lk lookup) *admitError {
	names, err := lk.standbyVolumes(ctx)
	if err != nil {
		return invalid("", "failed to list standby volume when modifying BackupTarget: %v", err)
	}
	if len(names) == 0 {
		return nil
	}
	// Longhorn prints a sets.String, a map: map[a:{} b:{}].
	set := map[string]struct{}{}
	for _, n := range names {
		set[n] = struct{}{}
	}
	return invalid("", "cannot modify BackupTarget since there are existing standby volumes: %v", set)
}

// convertSize is util.ConvertSize for strings: "" is 0, otherwise a resource quantity.
func convertSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("error parsing size '%s': %w", s, err)
	}
	return q.Value(), nil
}

// roundUpSize is util.RoundUpSize: up to a multiple of 2 MiB, 2 MiB at least.
func roundUpSize(size int64) int64 {
	if size <= 0 {
		return sizeAlignment
	}
	if r := size % sizeAlignment; r != 0 {
		return size - r + sizeAlignment
	}
	return size
}
