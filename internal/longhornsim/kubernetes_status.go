package longhornsim

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/drplan/drplan/internal/longhorn"
)

// csiDriver is Longhorn's CSI driver name, on the PVs of its volumes.
const csiDriver = "driver.longhorn.io"

// kubernetesStatus is the part of Volume.status.kubernetesStatus that links a volume to its PV
// and PVC (REFERENCE §1.2), as KubernetesPVController.syncKubernetesStatus derives it from the
// PV whose CSI volumeHandle is the volume. The simulator writes it as raw JSON (the API server
// prunes what drplan's CRD does not hold) and goes by the copy it keeps in memory.
type kubernetesStatus struct {
	PVName       string `json:"pvName"`
	PVStatus     string `json:"pvStatus"`
	Namespace    string `json:"namespace"`
	PVCName      string `json:"pvcName"`
	LastPVCRefAt string `json:"lastPVCRefAt"`
}

// syncKubernetesStatus is syncKubernetesStatus for the volume: it finds the volume's PV and the
// PVC bound to it, writes status.kubernetesStatus when it changed, and returns the bound PVC (nil
// when there is none: no PV, no claim, or the claim gone, when lastPVCRefAt is set).
//
// The test clusters run no kube-controller-manager, so no PV ever reaches phase Bound there: the
// simulator counts a PV as bound, as that controller's binder would make it, when a PVC's
// spec.volumeName names it (and, when the PV has a claimRef, that PVC is the one it names).
func (s *Sim) syncKubernetesStatus(ctx context.Context, v *longhorn.Volume) (*corev1.PersistentVolumeClaim, error) {
	c := s.mgr.GetClient()
	var pvs corev1.PersistentVolumeList
	if err := c.List(ctx, &pvs); err != nil {
		return nil, fmt.Errorf("list persistent volumes in cluster %s: %w", s.opts.Cluster, err)
	}
	s.mu.Lock()
	last, written := s.kubeStatus[v.Name]
	s.mu.Unlock()
	ks := last
	var bound *corev1.PersistentVolumeClaim
	if pv := pvOfVolume(pvs.Items, v.Name); pv != nil {
		pvc, err := s.pvcBoundTo(ctx, pv)
		if err != nil {
			return nil, err
		}
		if ks.PVName != pv.Name {
			ks = kubernetesStatus{}
		}
		ks.PVName, ks.PVStatus = pv.Name, string(pv.Status.Phase)
		switch {
		case pvc != nil:
			ks.PVStatus, ks.Namespace, ks.PVCName, ks.LastPVCRefAt = string(corev1.VolumeBound), pvc.Namespace, pvc.Name, ""
			bound = pvc
		case ks.PVCName != "" && ks.LastPVCRefAt == "":
			// The PVC is no longer bound: the status keeps it as history.
			ks.LastPVCRefAt = s.stamp()
		}
	}
	if !written || ks != last {
		// Written once per volume and run at least (Longhorn's status always has the field),
		// then on each change. A failed write is logged, not retried until the next change: the
		// field is not what the simulator itself goes by.
		s.mu.Lock()
		s.kubeStatus[v.Name] = ks
		s.mu.Unlock()
		raw, err := json.Marshal(map[string]any{"status": map[string]any{"kubernetesStatus": ks}})
		if err != nil {
			return nil, err
		}
		cur := &longhorn.Volume{}
		cur.Name, cur.Namespace = v.Name, v.Namespace
		if err := s.api.Status().Patch(ctx, cur, client.RawPatch("application/merge-patch+json", raw)); err != nil && !apierrors.IsNotFound(err) {
			s.log.Info("update of the volume's kubernetesStatus failed", "volume", v.Name, "error", err.Error())
		}
	}
	return bound, nil
}

// pvOfVolume returns the PV of Longhorn's CSI driver whose volumeHandle is volume, or nil.
func pvOfVolume(pvs []corev1.PersistentVolume, volume string) *corev1.PersistentVolume {
	for i := range pvs {
		if csi := pvs[i].Spec.CSI; csi != nil && csi.Driver == csiDriver && csi.VolumeHandle == volume {
			return &pvs[i]
		}
	}
	return nil
}

// pvcBoundTo returns the PVC bound to pv: the one its claimRef names when the PV is Bound or
// that PVC names the PV, else (no claimRef) a PVC whose spec.volumeName names it; nil when none.
func (s *Sim) pvcBoundTo(ctx context.Context, pv *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	c := s.mgr.GetClient()
	if ref := pv.Spec.ClaimRef; ref != nil {
		var pvc corev1.PersistentVolumeClaim
		if err := c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &pvc); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return nil, fmt.Errorf("get persistent volume claim %s/%s in cluster %s: %w", ref.Namespace, ref.Name, s.opts.Cluster, err)
		}
		if pv.Status.Phase == corev1.VolumeBound || pvc.Spec.VolumeName == pv.Name {
			return &pvc, nil
		}
		return nil, nil
	}
	var pvcs corev1.PersistentVolumeClaimList
	if err := c.List(ctx, &pvcs); err != nil {
		return nil, fmt.Errorf("list persistent volume claims in cluster %s: %w", s.opts.Cluster, err)
	}
	for i := range pvcs.Items {
		if pvcs.Items[i].Spec.VolumeName == pv.Name && pvcs.Items[i].DeletionTimestamp == nil {
			return &pvcs.Items[i], nil
		}
	}
	return nil, nil
}

// recurringJobSourcePVC is the PVC whose recurring-job labels the volume takes
// (syncPVCRecurringJobLabels): the bound PVC when it carries recurring-job.longhorn.io/source:
// enabled, else nil.
func recurringJobSourcePVC(pvc *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	if pvc == nil || pvc.Labels[longhorn.RecurringJobSourceLabel] != longhorn.LabelValueEnabled {
		return nil
	}
	return pvc
}

// volumeOfPV wakes the volume of a Longhorn PV (the PV controller updates the volume's status).
func (s *Sim) volumeOfPV(_ context.Context, o client.Object) []reconcile.Request {
	pv, ok := o.(*corev1.PersistentVolume)
	if !ok || pv.Spec.CSI == nil || pv.Spec.CSI.Driver != csiDriver || pv.Spec.CSI.VolumeHandle == "" {
		return nil
	}
	return []reconcile.Request{s.request(pv.Spec.CSI.VolumeHandle)}
}

// volumeOfPVC wakes the volume of the PV a PVC names, so that its labels reach the volume.
func (s *Sim) volumeOfPVC(ctx context.Context, o client.Object) []reconcile.Request {
	pvc, ok := o.(*corev1.PersistentVolumeClaim)
	if !ok || pvc.Spec.VolumeName == "" {
		return nil
	}
	var pv corev1.PersistentVolume
	if err := s.mgr.GetClient().Get(ctx, client.ObjectKey{Name: pvc.Spec.VolumeName}, &pv); err != nil {
		return nil
	}
	return s.volumeOfPV(ctx, &pv)
}
