package planner

import (
	"fmt"
	"testing"
	"time"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
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
	in := Input{Plans: &plans.Set{Plans: []*plans.Plan{p}}, Clusters: map[string]*observed.State{"east": east, "west": west}, Now: now, Namespace: ns, Owner: owner}
	if res := Decide(in); len(res.Actions) != 0 {
		b.Fatalf("not steady: %d actions, first %s", len(res.Actions), res.Actions[0])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		Decide(in)
	}
}

// BenchmarkDecide is one steady-state decision for a plan of n volumes, each with k retained
// backups in both clusters: the cost of a pass as plans and retention grow. It must grow
// linearly with n×k. Every iteration decides on fresh States (sharing the lists), so the
// States' lookup indexes are built in the measured time, as in a pass.
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		for _, k := range []int{1, 24} {
			b.Run(fmt.Sprintf("volumes=%d/backups=%d", n, k), func(b *testing.B) {
				in := steadyInput(b, n, k)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					in.Clusters = map[string]*observed.State{"east": reobserve(in.Clusters["east"]), "west": reobserve(in.Clusters["west"])}
					Decide(in)
				}
			})
		}
	}
}

// steadyInput is a plan of n volumes, protected and caught up, each with k completed backups in
// both clusters (the newest restored by its standby volume).
func steadyInput(b *testing.B, n, k int) Input {
	b.Helper()
	tgt := target("s3://backups@us-east-1/")
	east := state("east", tgt)
	west := state("west", tgt)
	p := plan("bench", func(d *plans.DRPlan) { d.Spec.Volumes = nil })
	for i := range n {
		name := fmt.Sprintf("vol-%04d", i)
		p.Spec.Volumes = append(p.Spec.Volumes, plans.Volume{Name: name, StandbyName: name, Replicas: 3, Wave: plans.DefaultWaveName})
		east.Volumes = append(east.Volumes, sourceVolume(name, bound("bench")))
		var newest longhorn.Backup
		for j := range k {
			bk := backup(fmt.Sprintf("backup-%s-%02d", name, j), name, time.Duration(5+15*(k-1-j))*time.Minute)
			east.Backups = append(east.Backups, bk)
			west.Backups = append(west.Backups, bk)
			newest = bk
		}
		west.BackupVolumes = append(west.BackupVolumes, backupVolume(name, newest.Name, nil))
		v, e := standby(name, name, newest.Name, newest.Name)
		v.Labels[LabelPlan] = "bench"
		west.Volumes = append(west.Volumes, v)
		west.Engines = append(west.Engines, e)
	}
	east.RecurringJobs = []longhorn.RecurringJob{job(p)}
	in := Input{Plans: &plans.Set{Plans: []*plans.Plan{p}}, Clusters: map[string]*observed.State{"east": east, "west": west}, Now: now, Namespace: ns, Owner: owner}
	res := Decide(in)
	if len(res.Actions) != 0 {
		b.Fatalf("not steady: %d actions, first %s", len(res.Actions), res.Actions[0])
	}
	for _, v := range res.Report.Plans[0].Volumes {
		if v.State != StandbyCaughtUp || v.LastBackup != v.Restored {
			b.Fatalf("volume %s not caught up: %s (%s), last backup %s, restored %s", v.Name, v.State, v.Reason, v.LastBackup, v.Restored)
		}
	}
	return in
}

// reobserve is s as a new pass would observe it: the same lists in a new State.
func reobserve(s *observed.State) *observed.State {
	return &observed.State{Name: s.Name, Health: s.Health,
		Volumes: s.Volumes, Engines: s.Engines, Backups: s.Backups, BackupVolumes: s.BackupVolumes,
		BackupTargets: s.BackupTargets, RecurringJobs: s.RecurringJobs, Settings: s.Settings,
		Deployments: s.Deployments, StatefulSets: s.StatefulSets, Snapshots: s.Snapshots, ConfigMaps: s.ConfigMaps,
		PersistentVolumes: s.PersistentVolumes, PersistentVolumeClaims: s.PersistentVolumeClaims, Objects: s.Objects}
}
