package sandbox

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/plans"
)

// playKubelet stands in for kubelet and Longhorn's CSI driver on each plan's primary: once every
// workload a plan scales is at zero replicas there (a planned switchover scales them down), the
// plan's source volumes are detached, as they would be when their pods are gone.
func (s *Sandbox) playKubelet(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range s.plans.Valid() {
			c := s.lab.Clusters[p.Spec.Primary]
			if c.Sim == nil || !scaledDown(ctx, c.Client, p.Spec.Waves) {
				continue
			}
			for _, v := range p.Spec.Volumes {
				vol := &longhorn.Volume{}
				if err := c.Client.Get(ctx, client.ObjectKey{Namespace: sandboxNS, Name: v.Name}, vol); err != nil {
					continue
				}
				if vol.Status.State == longhorn.VolumeStateAttached {
					_ = c.Sim.Detach(ctx, v.Name)
				}
			}
		}
	}
}

// scaledDown reports whether every workload the waves scale is at zero replicas.
func scaledDown(ctx context.Context, c client.Client, waves []plans.Wave) bool {
	n := 0
	for _, w := range waves {
		for _, sc := range w.Scale {
			key := client.ObjectKey{Namespace: sc.Namespace, Name: sc.Name}
			var replicas *int32
			switch sc.Kind {
			case "Deployment":
				d := &appsv1.Deployment{}
				if c.Get(ctx, key, d) != nil {
					return false
				}
				replicas = d.Spec.Replicas
			case "StatefulSet":
				st := &appsv1.StatefulSet{}
				if c.Get(ctx, key, st) != nil {
					return false
				}
				replicas = st.Spec.Replicas
			default:
				continue
			}
			if replicas == nil || *replicas != 0 {
				return false
			}
			n++
		}
	}
	return n > 0
}
