package sandbox

import (
	"context"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// The stand-in kubelet. The sandbox's clusters have API servers but no nodes: no Pod ever runs,
// so nothing would attach a Longhorn volume when a workload starts or detach it when the
// workload stops. Once a second, in each cluster, the sandbox does what kubelet and Longhorn's
// CSI driver do on a real node, for every workload, whoever created it:
//
//   - a Deployment or StatefulSet with replicas above zero has pods (replicas unset is 1); each
//     pod uses the claims its template's persistentVolumeClaim volumes name, and a
//     StatefulSet's pod <sts>-<i> also uses the claim <template>-<sts>-<i> of each
//     volumeClaimTemplate, for i below replicas;
//   - a claim leads to its PersistentVolume (the claim's spec.volumeName, else the PV whose
//     claimRef names the claim), and a PV of Longhorn's CSI driver (driver.longhorn.io) to the
//     Longhorn volume its volumeHandle names;
//   - a Longhorn volume that some workload's claims lead to is detached (spec.nodeID cleared)
//     as soon as no pod uses it: scaled to zero, the pods are gone at once; and attached once a
//     pod using it has started.
//
// The sandbox's pods "start" podStart after the simulator reports their workload ready (it
// does WorkloadDelay after a scale): there are no containers, so readiness comes first here,
// where on a real node the volume is attached before the containers start. The order matters
// to drplan: today its planner re-checks, on every pass of a wave until the wave's gates pass,
// that the wave's activated volumes are detached ("Longhorn detaches it"), so a volume a pod
// attached before the gates passed would hold the wave forever. Attaching after readiness
// keeps failover going in the sandbox; a real node does not wait.
//
// A volume no workload's claims lead to is left as it is, as a real node would leave it: one
// attached by hand stays attached. The kubelet reads no plan: it follows any workload a plan
// scales because it follows every workload.

const (
	// kubeletPeriod is how often the stand-in kubelet looks at each cluster.
	kubeletPeriod = time.Second
	// podStart is how long after its workload reports ready a pod counts as started.
	podStart = 3 * time.Second
)

// workloads is what the stand-in kubelet reads from one cluster.
type workloads struct {
	deployments  []appsv1.Deployment
	statefulSets []appsv1.StatefulSet
	claims       []corev1.PersistentVolumeClaim
	pvs          []corev1.PersistentVolume
	// started reports whether a workload's pods have started, by workloadKey.
	started map[string]bool
}

type claimKey struct{ namespace, name string }

// claimUse is whether any pod uses a claim, and whether a started one does.
type claimUse struct{ used, started bool }

func workloadKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// attachments decides, for every Longhorn volume some workload's claims lead to, whether it
// must be attached (true: a started pod uses it) or detached (false: no pod uses it); a volume
// whose pods have not started yet is left out, as it is. It does no I/O.
func attachments(w workloads) map[string]bool {
	uses := map[claimKey]claimUse{} // every claim a workload names
	use := func(k claimKey, used, started bool) {
		u := uses[k]
		uses[k] = claimUse{used: u.used || used, started: u.started || (used && started)}
	}
	templateClaims := func(ns string, spec corev1.PodSpec, used, started bool) {
		for _, v := range spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				use(claimKey{ns, v.PersistentVolumeClaim.ClaimName}, used, started)
			}
		}
	}
	for _, d := range w.deployments {
		templateClaims(d.Namespace, d.Spec.Template.Spec, replicasOf(d.Spec.Replicas) > 0, w.started[workloadKey("Deployment", d.Namespace, d.Name)])
	}
	for _, st := range w.statefulSets {
		replicas := replicasOf(st.Spec.Replicas)
		started := w.started[workloadKey("StatefulSet", st.Namespace, st.Name)]
		templateClaims(st.Namespace, st.Spec.Template.Spec, replicas > 0, started)
		for _, tpl := range st.Spec.VolumeClaimTemplates {
			prefix := tpl.Name + "-" + st.Name + "-"
			for _, c := range w.claims {
				if c.Namespace != st.Namespace || !strings.HasPrefix(c.Name, prefix) {
					continue
				}
				if ordinal, err := strconv.Atoi(strings.TrimPrefix(c.Name, prefix)); err == nil && ordinal >= 0 {
					use(claimKey{c.Namespace, c.Name}, ordinal < int(replicas), started)
				}
			}
		}
	}

	pvs := map[string]*corev1.PersistentVolume{}
	claimed := map[claimKey]*corev1.PersistentVolume{} // pre-bound PVs, by the claim they name
	for i := range w.pvs {
		pv := &w.pvs[i]
		pvs[pv.Name] = pv
		if ref := pv.Spec.ClaimRef; ref != nil {
			claimed[claimKey{ref.Namespace, ref.Name}] = pv
		}
	}
	volumes := map[string]claimUse{}
	for _, c := range w.claims {
		k := claimKey{c.Namespace, c.Name}
		u, ok := uses[k]
		if !ok {
			continue
		}
		pv := claimed[k]
		if c.Spec.VolumeName != "" {
			pv = pvs[c.Spec.VolumeName]
		}
		if pv == nil || pv.Spec.CSI == nil || pv.Spec.CSI.Driver != planner.LonghornCSIDriver || pv.Spec.CSI.VolumeHandle == "" {
			continue
		}
		v := volumes[pv.Spec.CSI.VolumeHandle]
		volumes[pv.Spec.CSI.VolumeHandle] = claimUse{used: v.used || u.used, started: v.started || u.started}
	}
	out := map[string]bool{}
	for name, u := range volumes {
		switch {
		case u.started:
			out[name] = true
		case !u.used:
			out[name] = false
		}
	}
	return out
}

func replicasOf(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// readiness remembers since when each workload has reported every replica ready, to tell
// when its pods have started.
type readiness map[string]time.Time

// observe records whether a workload is ready now and reports whether its pods have started.
func (r readiness) observe(key string, ready bool, now time.Time) bool {
	if !ready {
		delete(r, key)
		return false
	}
	since, ok := r[key]
	if !ok {
		r[key], since = now, now
	}
	return now.Sub(since) >= podStart
}

// playKubelet runs the stand-in kubelet in every cluster until ctx ends.
func (s *Sandbox) playKubelet(ctx context.Context) {
	t := time.NewTicker(kubeletPeriod)
	defer t.Stop()
	ready := map[string]readiness{}
	for name := range s.lab.Clusters {
		ready[name] = readiness{}
	}
	for {
		for name, c := range s.lab.Clusters {
			s.kubelet(ctx, name, c, ready[name])
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// kubelet attaches and detaches one cluster's volumes as its workloads' pods would. A failed
// read or action is tried again on the next tick.
func (s *Sandbox) kubelet(ctx context.Context, name string, c *drlab.Cluster, ready readiness) {
	if c.Sim == nil || c.Sim.Paused() {
		return
	}
	var (
		deps   appsv1.DeploymentList
		sts    appsv1.StatefulSetList
		claims corev1.PersistentVolumeClaimList
		pvs    corev1.PersistentVolumeList
		vols   longhorn.VolumeList
	)
	for _, l := range []client.ObjectList{&deps, &sts, &claims, &pvs} {
		if c.Client.List(ctx, l) != nil {
			return
		}
	}
	if c.Client.List(ctx, &vols, client.InNamespace(sandboxNS)) != nil {
		return
	}
	now := time.Now()
	started := map[string]bool{}
	for _, d := range deps.Items {
		key := workloadKey("Deployment", d.Namespace, d.Name)
		replicas := replicasOf(d.Spec.Replicas)
		started[key] = ready.observe(key, replicas > 0 && d.Status.ObservedGeneration == d.Generation && d.Status.ReadyReplicas >= replicas, now)
	}
	for _, st := range sts.Items {
		key := workloadKey("StatefulSet", st.Namespace, st.Name)
		replicas := replicasOf(st.Spec.Replicas)
		started[key] = ready.observe(key, replicas > 0 && st.Status.ObservedGeneration == st.Generation && st.Status.ReadyReplicas >= replicas, now)
	}
	want := attachments(workloads{deployments: deps.Items, statefulSets: sts.Items, claims: claims.Items, pvs: pvs.Items, started: started})
	for _, v := range vols.Items {
		attach, known := want[v.Name]
		switch {
		case !known || v.Spec.Standby || v.DeletionTimestamp != nil:
		case attach && v.Spec.NodeID == "":
			if err := c.Sim.Attach(ctx, v.Name); err == nil {
				s.log.Info("volume attached: a started pod uses it", "cluster", name, "volume", v.Name)
			}
		case !attach && v.Spec.NodeID != "":
			if err := c.Sim.Detach(ctx, v.Name); err == nil {
				s.log.Info("volume detached: no running pod uses it", "cluster", name, "volume", v.Name)
			}
		}
	}
}
