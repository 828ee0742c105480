package sandbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	longhorn "github.com/drplan/drplan/internal/longhorn"
)

// volumeBytes is the size of each source volume's data: a few simulated blocks.
const volumeBytes = 256 << 10

// createWorkloads creates, in both clusters, the workloads the plans scale or gate on: running
// on east (the primary), scaled to zero on west until failover scales them up.
func (s *Sandbox) createWorkloads(ctx context.Context) error {
	type ref struct{ kind, ns, name string }
	replicas := map[ref]int32{}
	for _, p := range s.plans.Valid() {
		for _, w := range p.Spec.Waves {
			for _, sc := range w.Scale {
				replicas[ref{sc.Kind, sc.Namespace, sc.Name}] = sc.Replicas
			}
			for _, g := range w.Gates {
				r := ref{g.Kind, g.Namespace, g.Name}
				if _, ok := replicas[r]; !ok {
					replicas[r] = 1
				}
			}
		}
	}
	for name, c := range s.lab.Clusters {
		for r, n := range replicas {
			if r.kind != "Deployment" && r.kind != "StatefulSet" {
				continue
			}
			if name == "west" {
				n = 0
			}
			if err := ensureNamespace(ctx, c.Client, r.ns); err != nil {
				return err
			}
			if err := createWorkload(ctx, c.Client, r.kind, r.ns, r.name, n); err != nil {
				return fmt.Errorf("sandbox: %s %s/%s in %s: %w", r.kind, r.ns, r.name, name, err)
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

func createWorkload(ctx context.Context, c client.Client, kind, ns, name string, replicas int32) error {
	labels := map[string]string{"app": name}
	tpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "registry.invalid/sandbox/" + name + ":1"}}},
	}
	var obj client.Object
	switch kind {
	case "Deployment":
		obj = &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tpl}}
	default:
		obj = &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas), ServiceName: name, Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tpl}}
	}
	if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// createVolumes creates every plan's source volume on the primary, attached, with data.
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
			if err := c.Sim.Attach(ctx, v.Name); err != nil {
				return err
			}
			if err := waitAttached(ctx, c.Client, v.Name); err != nil {
				return err
			}
			if err := c.Sim.WriteVolume(ctx, v.Name, 0, randomBytes(volumeBytes)); err != nil {
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

// writeData changes one block of every source volume every 20 seconds, as applications do, so
// that each minute's backup carries new data.
func (s *Sandbox) writeData(ctx context.Context) {
	t := time.NewTicker(20 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range s.plans.Valid() {
			c := s.lab.Clusters[p.Spec.Primary]
			if c.Sim == nil {
				continue
			}
			for _, v := range p.Spec.Volumes {
				off := int64(rand.IntN(volumeBytes/4096)) * 4096
				_ = c.Sim.WriteVolume(ctx, v.Name, off, randomBytes(4096))
			}
		}
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	return b
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
