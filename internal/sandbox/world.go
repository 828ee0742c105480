package sandbox

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing/fstest"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/plans"
)

// The seeded plans' world: what their applications would have in a real cluster. In the
// primary, each source volume with its data, a PersistentVolume of it and the claim the plan
// names (as Longhorn's UI "create PV/PVC" makes them); in both clusters the workloads the plans
// scale or gate on, their pods mounting those claims: running on the primary, at zero on the
// secondary until failover scales them up. The stand-in kubelet then attaches and detaches the
// volumes as those workloads run and stop.

// standIn is one workload of the seeded plans.
type standIn struct {
	kind, namespace, name string
	// replicas in the primary; the secondary starts at zero.
	replicas           int32
	primary, secondary string
	// claims the pod template mounts.
	claims []string
	// claimTemplates are a StatefulSet's volumeClaimTemplates.
	claimTemplates []string
}

// standIns derives the seeded plans' workloads: every Deployment and StatefulSet a plan scales
// (with its replicas) or gates on (one replica). A volume's claim <template>-<sts>-<i> belongs
// to the StatefulSet <sts> the plan scales, as volumeClaimTemplate <template>; any other claim
// is mounted by the first workload its volume's wave scales in the claim's namespace (else the
// plan's first such workload).
func standIns(ps []*plans.Plan) []*standIn {
	var out []*standIn
	byKey := map[string]*standIn{}
	get := func(p *plans.Plan, kind, ns, name string, replicas int32) *standIn {
		k := kind + "/" + ns + "/" + name
		w := byKey[k]
		if w == nil {
			w = &standIn{kind: kind, namespace: ns, name: name, primary: p.Spec.Primary, secondary: p.Spec.Secondary}
			byKey[k] = w
			out = append(out, w)
		}
		w.replicas = max(w.replicas, replicas)
		return w
	}
	workload := func(kind string) bool { return kind == "Deployment" || kind == "StatefulSet" }
	for _, p := range ps {
		var scaled []*standIn
		wave := map[*standIn]string{}
		for _, w := range p.Spec.Waves {
			for _, sc := range w.Scale {
				if workload(sc.Kind) {
					si := get(p, sc.Kind, sc.Namespace, sc.Name, sc.Replicas)
					scaled = append(scaled, si)
					wave[si] = w.Name
				}
			}
			for _, g := range w.Gates {
				if workload(g.Kind) {
					get(p, g.Kind, g.Namespace, g.Name, 1)
				}
			}
		}
	volumes:
		for _, v := range p.Spec.Volumes {
			if v.PVC == nil {
				continue
			}
			for _, si := range scaled {
				prefix, ordinal, ok := strings.Cut(v.PVC.Name, "-"+si.name+"-")
				if _, err := strconv.Atoi(ordinal); ok && err == nil && prefix != "" && si.kind == "StatefulSet" && si.namespace == v.PVC.Namespace {
					if !slices.Contains(si.claimTemplates, prefix) {
						si.claimTemplates = append(si.claimTemplates, prefix)
					}
					continue volumes
				}
			}
			var mount *standIn
			for _, si := range scaled {
				if si.namespace == v.PVC.Namespace && (mount == nil || (wave[si] == v.Wave && wave[mount] != v.Wave)) {
					mount = si
				}
			}
			if mount != nil && !slices.Contains(mount.claims, v.PVC.Name) {
				mount.claims = append(mount.claims, v.PVC.Name)
			}
		}
	}
	return out
}

// createWorkloads creates the seeded plans' workloads in both clusters.
func (s *Sandbox) createWorkloads(ctx context.Context) error {
	for _, w := range standIns(s.plans.Valid()) {
		for _, cluster := range []string{w.primary, w.secondary} {
			c := s.lab.Clusters[cluster]
			replicas := w.replicas
			if cluster == w.secondary {
				replicas = 0
			}
			if err := ensureNamespace(ctx, c.Client, w.namespace); err != nil {
				return err
			}
			if err := c.Client.Create(ctx, w.object(replicas)); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("sandbox: %s %s/%s in %s: %w", w.kind, w.namespace, w.name, cluster, err)
			}
		}
	}
	return nil
}

func ensureNamespace(ctx context.Context, c client.Client, ns string) error {
	err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: namespace %s: %w", ns, err)
	}
	return nil
}

// object is the workload with replicas, its pods mounting its claims under /data.
func (w *standIn) object(replicas int32) client.Object {
	labels := map[string]string{"app": w.name}
	container := corev1.Container{Name: w.name, Image: "registry.invalid/sandbox/" + w.name + ":1"}
	tpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}}
	for i, claim := range w.claims {
		vol := fmt.Sprintf("claim-%d", i)
		tpl.Spec.Volumes = append(tpl.Spec.Volumes, corev1.Volume{Name: vol,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{Name: vol, MountPath: "/data/" + claim})
	}
	var claimTemplates []corev1.PersistentVolumeClaim
	for _, name := range w.claimTemplates {
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: "/data/" + name})
		claimTemplates = append(claimTemplates, corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		})
	}
	tpl.Spec.Containers = []corev1.Container{container}
	meta := metav1.ObjectMeta{Name: w.name, Namespace: w.namespace}
	selector := &metav1.LabelSelector{MatchLabels: labels}
	if w.kind == "Deployment" {
		return &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: selector, Template: tpl}}
	}
	return &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas), ServiceName: w.name,
		Selector: selector, Template: tpl, VolumeClaimTemplates: claimTemplates}}
}

// createVolumes creates every seeded plan's source volume in its primary with its data, a
// PersistentVolume of it and the claim the plan names, attached: the stand-in workloads'
// pods run from the start (the kubelet takes over from there).
func (s *Sandbox) createVolumes(ctx context.Context) error {
	for _, p := range s.plans.Valid() {
		c := s.lab.Clusters[p.Spec.Primary]
		for _, v := range p.Spec.Volumes {
			vol := &longhorn.Volume{
				ObjectMeta: metav1.ObjectMeta{Name: v.Name, Namespace: sandboxNS},
				Spec:       longhorn.VolumeSpec{Size: 1 << 30, Frontend: longhorn.VolumeFrontendBlockDev, NumberOfReplicas: 3},
			}
			if err := c.Client.Create(ctx, vol); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("sandbox: volume %s: %w", v.Name, err)
			}
			if err := c.Sim.WriteVolume(ctx, v.Name, 0, randomBytes(volumeBytes)); err != nil {
				return err
			}
			if v.PVC == nil {
				continue
			}
			pvName, fsType := v.Name, ""
			if v.PV != nil {
				pvName = cmp.Or(v.PV.Name, pvName)
				fsType = v.PV.FSType
			}
			if err := ensureNamespace(ctx, c.Client, v.PVC.Namespace); err != nil {
				return err
			}
			if _, err := c.Sim.CreatePV(ctx, v.Name, pvName, fsType); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			if _, err := c.Sim.CreatePVC(ctx, v.Name, pvName, v.PVC.Namespace, v.PVC.Name); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			if err := c.Sim.Attach(ctx, v.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitAttached waits until the seeded plans' source volumes with a claim are attached and
// healthy.
func (s *Sandbox) waitAttached(ctx context.Context) error {
	for _, p := range s.plans.Valid() {
		c := s.lab.Clusters[p.Spec.Primary]
		for _, v := range p.Spec.Volumes {
			if v.PVC == nil {
				continue
			}
			if err := waitAttached(ctx, c.Client, v.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func waitAttached(ctx context.Context, c client.Client, name string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := &longhorn.Volume{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: sandboxNS, Name: name}, v); err == nil &&
			v.Status.State == longhorn.VolumeStateAttached && v.Status.Robustness == longhorn.VolumeRobustnessHealthy {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sandbox: volume %s not attached and healthy after 30s", name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pushFiles commits files to a new repository's main branch and pushes it.
func pushFiles(ctx context.Context, url, user, token string, files map[string]string, msg string) error {
	r, err := git.Init(memory.NewStorage(), memfs.New())
	if err != nil {
		return fmt.Errorf("sandbox: seed repo: %w", err)
	}
	wt, err := r.Worktree()
	if err != nil {
		return fmt.Errorf("sandbox: seed repo: %w", err)
	}
	for name, content := range files {
		if err := wt.Filesystem.MkdirAll(path.Dir(name), 0o755); err != nil {
			return fmt.Errorf("sandbox: seed repo: %w", err)
		}
		f, err := wt.Filesystem.Create(name)
		if err != nil {
			return fmt.Errorf("sandbox: seed repo: %w", err)
		}
		_, werr := f.Write([]byte(content))
		if cerr := f.Close(); werr != nil || cerr != nil {
			return fmt.Errorf("sandbox: seed repo: write %s", name)
		}
		if _, err := wt.Add(name); err != nil {
			return fmt.Errorf("sandbox: seed repo: %w", err)
		}
	}
	if _, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "drplan sandbox", Email: "sandbox@drplan.test", When: time.Now()}}); err != nil {
		return fmt.Errorf("sandbox: seed repo: %w", err)
	}
	if _, err := r.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		return fmt.Errorf("sandbox: seed repo: %w", err)
	}
	err = r.PushContext(ctx, &git.PushOptions{Auth: &githttp.BasicAuth{Username: user, Password: token},
		RefSpecs: []gitconfig.RefSpec{"refs/heads/master:refs/heads/main"}})
	if err != nil {
		return fmt.Errorf("sandbox: push seed commit: %w", err)
	}
	return nil
}

func fstestMap(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, content := range files {
		m[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return m
}
