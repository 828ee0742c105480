package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// errSuperseded marks an action the clusters made moot since the planner decided it: a
// failover record changed since it was read. It is not a failure: the next pass decides again.
var errSuperseded = errors.New("superseded: the object changed since the pass read it")

// doFailover carries out the actions of a failover. handled is false for any other action.
func doFailover(ctx context.Context, c client.Client, a planner.Action) (obj client.Object, reason string, handled bool, err error) {
	switch a := a.(type) {
	case *planner.WriteFailoverRecord:
		cm, err := writeRecord(ctx, c, a)
		return cm, "FailoverRecorded", true, err
	case *planner.ScaleWorkload:
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(a.APIVersion)
		u.SetKind(a.Kind)
		u.SetNamespace(a.Namespace)
		u.SetName(a.Name)
		return u, "WorkloadScaled", true, scale(ctx, c, u, a.Replicas)
	case *planner.CreateSnapshot:
		snap := a.Snapshot.DeepCopy()
		return snap, "FinalSnapshotCreated", true, ignoreExists(c.Create(ctx, snap, client.FieldOwner(FieldManager)))
	case *planner.CreateBackup:
		b := a.Backup.DeepCopy()
		return b, "FinalBackupCreated", true, ignoreExists(c.Create(ctx, b, client.FieldOwner(FieldManager)))
	case *planner.ActivateVolume:
		v := &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: a.Volume, Namespace: a.Namespace}}
		return v, "VolumeActivated", true, activate(ctx, c, a)
	case *planner.CreatePersistentVolume:
		pv := a.PV.DeepCopy()
		return pv, "PersistentVolumeCreated", true, createOnce(ctx, c, pv, &corev1.PersistentVolume{})
	case *planner.CreatePersistentVolumeClaim:
		pvc := a.PVC.DeepCopy()
		return pvc, "PersistentVolumeClaimCreated", true, createOnce(ctx, c, pvc, &corev1.PersistentVolumeClaim{})
	case *planner.DeleteRecurringJob:
		job := &longhorn.RecurringJob{ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: a.Namespace}}
		err := c.Delete(ctx, job)
		if apierrors.IsNotFound(err) {
			err = nil
		}
		return job, "RecurringJobDeleted", true, err
	}
	return nil, "", false, nil
}

// writeRecord creates the failover record, or merge-patches it with the resourceVersion the
// planner read as a precondition: a record that changed since (a stale cache) is never
// overwritten with an older view.
func writeRecord(ctx context.Context, c client.Client, a *planner.WriteFailoverRecord) (*corev1.ConfigMap, error) {
	data, err := json.Marshal(a.Record)
	if err != nil {
		return nil, fmt.Errorf("marshal record: %w", err)
	}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: a.Namespace, Labels: a.Labels},
		Data:       map[string]string{planner.RecordKey: string(data)},
	}
	if a.ResourceVersion == "" {
		err := c.Create(ctx, cm, client.FieldOwner(FieldManager))
		if apierrors.IsAlreadyExists(err) {
			return cm, errSuperseded
		}
		return cm, err
	}
	labels := map[string]any{}
	for k, v := range a.Labels {
		labels[k] = v
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": a.ResourceVersion, "labels": labels},
		"data":     map[string]any{planner.RecordKey: string(data)},
	})
	if err != nil {
		return nil, fmt.Errorf("marshal patch: %w", err)
	}
	err = c.Patch(ctx, cm, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldManager))
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return cm, errSuperseded
	}
	return cm, err
}

// scale sets replicas through the scale subresource, which every scalable kind has.
func scale(ctx context.Context, c client.Client, u *unstructured.Unstructured, replicas int32) error {
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"replicas": replicas}})
	if err != nil {
		return fmt.Errorf("marshal patch: %w", err)
	}
	return c.SubResource("scale").Patch(ctx, u, client.RawPatch(types.MergePatchType, patch),
		client.FieldOwner(FieldManager), client.WithSubResourceBody(&unstructured.Unstructured{}))
}

// activate does what Longhorn's activate does: the BackupVolume's sync request first, then
// spec.Standby false and the frontend in one merge patch.
func activate(ctx context.Context, c client.Client, a *planner.ActivateVolume) error {
	if a.BackupVolume != "" {
		bv := &longhorn.BackupVolume{ObjectMeta: metav1.ObjectMeta{Name: a.BackupVolume, Namespace: a.Namespace}}
		err := mergePatch(ctx, c, bv, map[string]any{"spec": map[string]any{"syncRequestedAt": a.SyncAt.UTC().Format(time.RFC3339)}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("request sync of backup volume %s: %w", a.BackupVolume, err)
		}
	}
	v := &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: a.Volume, Namespace: a.Namespace}}
	return mergePatch(ctx, c, v, map[string]any{"spec": map[string]any{"Standby": false, "frontend": string(a.Frontend)}})
}

// createOnce creates obj; one that exists already is fine when drplan made it (its managed-by
// label), an error otherwise: drplan never takes over an object it did not create.
func createOnce(ctx context.Context, c client.Client, obj, existing client.Object) error {
	err := c.Create(ctx, obj, client.FieldOwner(FieldManager))
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil {
		return fmt.Errorf("read existing: %w", err)
	}
	if existing.GetLabels()[planner.LabelManagedBy] != planner.ManagedByValue {
		return fmt.Errorf("%s exists and was not created by drplan: %w", obj.GetName(), err)
	}
	return nil
}

func ignoreExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
