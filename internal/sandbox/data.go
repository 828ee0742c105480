package sandbox

import (
	"context"
	"math/rand/v2"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// The stand-in applications' data. In every cluster, every Longhorn volume that is an
// application's own (not one drplan created, not restored from a backup, not restoring):
//
//   - is filled once with volumeBytes of random data as soon as it is seen holding none, attached
//     or not, so that its backups are never empty;
//   - while attached to the node (spec.nodeID: a running pod uses it, or it was attached by
//     hand), has one block changed every writePeriod, as an application writes, so that each
//     backup carries new data.
//
// Volumes drplan created (standby volumes, and activated ones after a failover) are never
// written: after a failover their data stays what was restored, and can be compared with the
// source's at leisure (a detached source volume is not written either).

const (
	// volumeBytes is the size of each volume's initial data: a few simulated blocks.
	volumeBytes = 256 << 10
	// blockBytes is the size of each later write.
	blockBytes = 4096
	// writePeriod is how often each attached volume gets a new block.
	writePeriod = 20 * time.Second
)

// writeData plays the applications' writes until ctx ends.
func (s *Sandbox) writeData(ctx context.Context) {
	filled := map[string]bool{} // cluster/volume/uid
	t := time.NewTicker(time.Second)
	defer t.Stop()
	lastWrite := time.Now()
	for {
		write := time.Since(lastWrite) >= writePeriod
		if write {
			lastWrite = time.Now()
		}
		for name, c := range s.lab.Clusters {
			s.writeCluster(ctx, name, c, filled, write)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Sandbox) writeCluster(ctx context.Context, name string, c *drlab.Cluster, filled map[string]bool, write bool) {
	if c.Sim == nil || c.Sim.Paused() {
		return
	}
	var vols longhorn.VolumeList
	if c.Client.List(ctx, &vols, client.InNamespace(sandboxNS)) != nil {
		return
	}
	for _, v := range vols.Items {
		if !applicationVolume(&v) {
			continue
		}
		key := name + "/" + v.Name + "/" + string(v.UID)
		if !filled[key] {
			data, err := c.Sim.ReadVolume(ctx, v.Name)
			if err != nil {
				continue
			}
			if len(data) == 0 {
				if err := c.Sim.WriteVolume(ctx, v.Name, 0, randomBytes(int(min(volumeBytes, v.Spec.Size)))); err != nil {
					continue
				}
				s.log.Info("volume filled with data", "cluster", name, "volume", v.Name, "bytes", min(volumeBytes, v.Spec.Size))
			}
			filled[key] = true
		}
		if write && v.Spec.NodeID != "" && v.Spec.Size >= volumeBytes {
			off := int64(rand.IntN(volumeBytes/blockBytes)) * blockBytes
			_ = c.Sim.WriteVolume(ctx, v.Name, off, randomBytes(blockBytes))
		}
	}
}

// applicationVolume reports whether a volume is an application's own: the stand-in
// applications write only into those.
func applicationVolume(v *longhorn.Volume) bool {
	return v.Labels[planner.LabelManagedBy] != planner.ManagedByValue && v.Labels[planner.LabelSourceVolume] == "" &&
		v.Spec.FromBackup == "" && !v.Spec.Standby && !v.Status.RestoreRequired && v.DeletionTimestamp == nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	return b
}
