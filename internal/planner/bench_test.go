package planner

import (
	"fmt"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/cluster"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/plans"
)

// BenchmarkDecideSteady200 is the CPU and memory of one steady-state decision for a plan of 200
// volumes, all protected and caught up: what every pass costs when nothing changes.
func BenchmarkDecideSteady200(b *testing.B) {
	const n = 200
	var vols []plans.Volume
	tgt := target("s3://backups@us-east-1/")
	east := state("east", tgt)
	west := state("west", tgt)
	p := plan("bench", func(d *plans.DRPlan) { d.Spec.Volumes = nil })
	for i := range n {
		name := fmt.Sprintf("vol-%03d", i)
		vols = append(vols, plans.Volume{Name: name, StandbyName: name, Replicas: 3, Wave: plans.DefaultWaveName})
		east.Volumes = append(east.Volumes, sourceVolume(name, bound("bench")))
		bk := backup("backup-"+name, name, 5*time.Minute)
		east.Backups = append(east.Backups, bk)
		west.Backups = append(west.Backups, bk)
		west.BackupVolumes = append(west.BackupVolumes, backupVolume(name, bk.Name, nil))
		v, e := standby(name, name, bk.Name, bk.Name)
		v.Labels[LabelPlan] = "bench"
		west.Volumes = append(west.Volumes, v)
		west.Engines = append(west.Engines, e)
	}
	p.Spec.Volumes = vols
	east.RecurringJobs = []longhorn.RecurringJob{job(p)}
	in := Input{Plans: []*plans.Plan{p}, Clusters: map[string]*cluster.State{"east": east, "west": west}, Now: now, Namespace: ns, Owner: owner}
	if res := Decide(in); len(res.Actions) != 0 {
		b.Fatalf("not steady: %d actions, first %s", len(res.Actions), res.Actions[0])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		Decide(in)
	}
}
