package planner

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/drplan/drplan/internal/cluster"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/plans"
)

// failover fixtures --------------------------------------------------------------------------------

const rev = "0123456789abcdef0123456789abcdef01234567"

// failoverPlan is "payments" with two waves: db (pg-data, a claim, a StatefulSet) then apps
// (pg-wal, a Deployment, and a Job gate the cache does not hold).
func failoverPlan(mutate ...func(*plans.DRPlan)) *plans.Plan {
	return plan("payments", append([]func(*plans.DRPlan){func(d *plans.DRPlan) {
		d.Spec.Failover = true
		d.Spec.Volumes = []plans.Volume{
			{Name: "pg-data", Wave: "db", PVC: &plans.PersistentVolumeClaim{Namespace: "prod", Name: "data-postgres-0"}},
			{Name: "pg-wal", Wave: "apps"},
		}
		d.Spec.Waves = []plans.Wave{
			{Name: "db",
				Gates: []plans.Gate{{Kind: "StatefulSet", Namespace: "prod", Name: "postgres"}},
				Scale: []plans.Scale{{Kind: "StatefulSet", Namespace: "prod", Name: "postgres", Replicas: 3}}},
			{Name: "apps",
				Gates: []plans.Gate{{Kind: "Deployment", Namespace: "prod", Name: "web"}, {Kind: "Job", Namespace: "prod", Name: "migrate"}},
				Scale: []plans.Scale{{Kind: "Deployment", Namespace: "prod", Name: "web", Replicas: 2}}},
		}
	}}, mutate...)...)
}

// fstate is state() with the kinds failover reads besides Longhorn's. A later Longhorn object
// replaces an earlier one of the same name, so scenarios override the base state.
func fstate(name string, objs ...any) *cluster.State {
	var rest []any
	var extra []any
	for _, o := range objs {
		switch o.(type) {
		case corev1.ConfigMap, longhorn.Setting, appsv1.Deployment, appsv1.StatefulSet, corev1.PersistentVolume, corev1.PersistentVolumeClaim,
			longhorn.Snapshot:
			extra = append(extra, o)
		default:
			rest = append(rest, o)
		}
	}
	s := state(name, rest...)
	for _, o := range extra {
		switch o := o.(type) {
		case corev1.ConfigMap:
			s.ConfigMaps = append(s.ConfigMaps, o)
		case longhorn.Setting:
			s.Settings = append(s.Settings, o)
		case appsv1.Deployment:
			s.Deployments = append(s.Deployments, o)
		case appsv1.StatefulSet:
			s.StatefulSets = append(s.StatefulSets, o)
		case corev1.PersistentVolume:
			s.PersistentVolumes = append(s.PersistentVolumes, o)
		case corev1.PersistentVolumeClaim:
			s.PersistentVolumeClaims = append(s.PersistentVolumeClaims, o)
		case longhorn.Snapshot:
			s.Snapshots = append(s.Snapshots, o)
		}
	}
	s.Volumes = lastByName(s.Volumes, func(v longhorn.Volume) string { return v.Name })
	s.Engines = lastByName(s.Engines, func(v longhorn.Engine) string { return v.Name })
	s.Backups = lastByName(s.Backups, func(v longhorn.Backup) string { return v.Name })
	s.BackupVolumes = lastByName(s.BackupVolumes, func(v longhorn.BackupVolume) string { return v.Name })
	return s
}

func lastByName[T any](items []T, name func(T) string) []T {
	at := map[string]int{}
	var out []T
	for _, it := range items {
		if i, ok := at[name(it)]; ok {
			out[i] = it
			continue
		}
		at[name(it)] = len(out)
		out = append(out, it)
	}
	return out
}

func recordCM(rec *FailoverRecord) corev1.ConfigMap {
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	cm := corev1.ConfigMap{}
	cm.Name, cm.Namespace, cm.ResourceVersion = RecordName(rec.Plan), ns, "42"
	cm.Labels = ownedLabels(owner, map[string]string{LabelPlan: rec.Plan})
	cm.Data = map[string]string{RecordKey: string(b)}
	return cm
}

// rec is a record of "payments" started ago, with steps each given as name and the times
// (ago) it started and, when not negative, finished.
func rec(planned bool, ago time.Duration, steps ...StepRecord) *FailoverRecord {
	return &FailoverRecord{Plan: "payments", Primary: "east", Secondary: "west", Revision: rev, StartedAt: now.Add(-ago), Planned: planned, Steps: steps}
}

func step(name string, startedAgo, finishedAgo time.Duration) StepRecord {
	s := StepRecord{Name: name, StartedAt: now.Add(-startedAgo)}
	if finishedAgo >= 0 {
		s.FinishedAt = now.Add(-finishedAgo)
	}
	return s
}

func setting(value string) longhorn.Setting {
	s := longhorn.Setting{Value: value}
	s.Name, s.Namespace = longhorn.SettingAllowDegradedAvailability, ns
	return s
}

func deployment(name string, replicas int32, ready bool) appsv1.Deployment {
	d := appsv1.Deployment{}
	d.Name, d.Namespace, d.Generation = name, "prod", 2
	d.Spec.Replicas = ptr.To(replicas)
	d.Status.ObservedGeneration = 1
	if ready {
		d.Status.ObservedGeneration = 2
		d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = replicas, replicas, replicas, replicas
		d.Status.Conditions = []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
		}
	}
	return d
}

func statefulSet(name string, replicas int32, ready bool) appsv1.StatefulSet {
	s := appsv1.StatefulSet{}
	s.Name, s.Namespace, s.Generation = name, "prod", 2
	s.Spec.Replicas = ptr.To(replicas)
	s.Spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
	s.Status.ObservedGeneration = 1
	if ready {
		s.Status.ObservedGeneration = 2
		s.Status.Replicas, s.Status.ReadyReplicas, s.Status.CurrentReplicas, s.Status.UpdatedReplicas, s.Status.AvailableReplicas = replicas, replicas, replicas, replicas, replicas
		s.Status.CurrentRevision, s.Status.UpdateRevision = "postgres-2", "postgres-2"
	}
	return s
}

func completedJob() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "migrate", "namespace": "prod"},
		"status":   map[string]any{"succeeded": int64(1), "conditions": []any{map[string]any{"type": "Complete", "status": "True"}}},
	}}
	return u
}

var jobRef = cluster.ObjectRef{APIVersion: "batch/v1", Kind: "Job", Namespace: "prod", Name: "migrate"}

// finalBackup is a completed final backup of volume, as the failover names it.
func finalBackup(volume string, age time.Duration) longhorn.Backup {
	return backup(FinalBackupName("payments", volume, rev), volume, age)
}

// finalSnapshot is the Snapshot CR of volume's final backup: ready, or failed with errMsg, or
// still being taken.
func finalSnapshot(volume string, ready bool, errMsg string) longhorn.Snapshot {
	s := longhorn.Snapshot{}
	s.Name, s.Namespace = FinalSnapshotName("payments", volume, rev), ns
	s.Spec = longhorn.SnapshotSpec{Volume: volume, CreateSnapshot: true}
	s.Status.ReadyToUse, s.Status.Error = ready, errMsg
	if ready {
		s.Status.CreationTime = now.Add(-time.Second).Format(time.RFC3339)
	}
	return s
}

func detached(v longhorn.Volume) longhorn.Volume {
	v.Status.State = longhorn.VolumeStateDetached
	return v
}

// activated is a standby volume whose activation was asked for (and settled when settled).
func activated(v longhorn.Volume, settled bool) longhorn.Volume {
	v.Spec.Standby, v.Spec.Frontend = false, longhorn.VolumeFrontendBlockDev
	v.Status.RestoreInitiated = true
	if settled {
		v.Status.IsStandby, v.Status.RestoreRequired = false, false
		v.Status.State = longhorn.VolumeStateDetached
	}
	v.Spec.Size = 1 << 30
	return v
}

func withRobustness(v longhorn.Volume, r longhorn.VolumeRobustness) longhorn.Volume {
	v.Status.Robustness = r
	return v
}

func syncedAt(bv longhorn.BackupVolume, at time.Time) longhorn.BackupVolume {
	t := metav1.NewTime(at.Truncate(time.Second))
	bv.Status.LastSyncedAt = &t
	return bv
}

func ourPV(name string) corev1.PersistentVolume {
	pv := corev1.PersistentVolume{}
	pv.Name = name
	pv.Labels = ownedLabels(owner, map[string]string{LabelPlan: "payments"})
	return pv
}

func ourPVC(ns, name string) corev1.PersistentVolumeClaim {
	c := corev1.PersistentVolumeClaim{}
	c.Name, c.Namespace = name, ns
	c.Labels = ownedLabels(owner, map[string]string{LabelPlan: "payments"})
	return c
}

func renderFailover(t *testing.T, res Result) []byte {
	t.Helper()
	var b strings.Builder
	b.Write(render(t, res))
	if res.RequeueAfter > 0 {
		fmt.Fprintf(&b, "requeueAfter: %s\n", res.RequeueAfter)
	}
	for _, a := range res.Actions {
		w, ok := a.(*WriteFailoverRecord)
		if !ok {
			continue
		}
		j, err := json.Marshal(w.Record)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.JSONToYAML(j)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "record written to %s (resourceVersion %q):\n", w.Cluster(), w.ResourceVersion)
		for _, line := range strings.Split(strings.TrimRight(string(y), "\n"), "\n") {
			b.WriteString("  " + line + "\n")
		}
	}
	return []byte(b.String())
}

// scenarios ----------------------------------------------------------------------------------------

func TestFailoverGolden(t *testing.T) {
	tgt := target("s3://backups@us-east-1/")
	p := failoverPlan()
	pgData, pgDataEngine := standby("pg-data", "pg-data", "backup-b2", "backup-b2")
	pgWal, pgWalEngine := standby("pg-wal", "pg-wal", "backup-w1", "backup-w1")
	finalData, finalWal := finalBackup("pg-data", 40*time.Second), finalBackup("pg-wal", 40*time.Second)
	// pgData and pgWal caught up with the final backups.
	fData, fDataEngine := standby("pg-data", "pg-data", finalData.Name, finalData.Name)
	fWal, fWalEngine := standby("pg-wal", "pg-wal", finalWal.Name, finalWal.Name)

	// east before the failover: protected, workloads running, volumes attached.
	east := func(extra ...any) *cluster.State {
		return fstate("east", append([]any{tgt, job(p),
			sourceVolume("pg-data", bound("payments")), sourceVolume("pg-wal", bound("payments")),
			backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
			statefulSet("postgres", 3, true), deployment("web", 2, true)}, extra...)...)
	}
	// fencedEast is east once fenced and stopped: no job, the default group disabled, the
	// record's copy, workloads at 0.
	fenced := map[string]string{longhorn.RecurringJobGroupLabel(longhorn.DefaultRecurringJobGroup): longhorn.LabelValueDisabled}
	fencedEast := func(r *FailoverRecord, extra ...any) *cluster.State {
		return fstate("east", append([]any{tgt, recordCM(r),
			detached(sourceVolume("pg-data", fenced)), detached(sourceVolume("pg-wal", fenced)),
			backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
			statefulSet("postgres", 0, true), deployment("web", 0, true)}, extra...)...)
	}
	// west: standby volumes caught up with the last scheduled backups, workloads at 0.
	west := func(extra ...any) *cluster.State {
		return fstate("west", append([]any{tgt, setting("true"),
			backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
			backupVolume("pg-data", "backup-b2", nil), backupVolume("pg-wal", "backup-w1", nil),
			statefulSet("postgres", 0, true), deployment("web", 0, true)}, extra...)...)
	}
	standbys := []any{pgData, pgDataEngine, pgWal, pgWalEngine}
	withStandbys := func(extra ...any) []any { return append(append([]any{}, standbys...), extra...) }

	planned := func(steps ...StepRecord) *FailoverRecord { return rec(true, 3*time.Minute, steps...) }
	finalDone := step(StepFinalBackup, 3*time.Minute, time.Minute)
	catchUp := step(StepCatchUp, time.Minute, -1)
	catchUpDone := step(StepCatchUp, time.Minute, 50*time.Second)
	dbWave := step(WaveStep("db"), 50*time.Second, -1)
	dbDone := step(WaveStep("db"), 50*time.Second, 20*time.Second)
	appsWave := step(WaveStep("apps"), 20*time.Second, -1)
	// The state of west once catch-up restored the final backups.
	caughtUpWest := func(extra ...any) *cluster.State {
		return west(append([]any{finalData, finalWal,
			syncedAt(backupVolume("pg-data", finalData.Name, nil), now.Add(-55*time.Second)),
			syncedAt(backupVolume("pg-wal", finalWal.Name, nil), now.Add(-55*time.Second)),
			fDataEngine, fWalEngine}, extra...)...)
	}
	dbActive := activated(fData, true)
	walActive := activated(fWal, true)
	withVolumes := func(r *FailoverRecord) *FailoverRecord {
		r.Volumes = []VolumeRecord{
			{Name: "pg-data", Standby: "pg-data", Restored: finalData.Name, SnapshotAt: now.Add(-40 * time.Second), FinalBackup: true, DataLossKnown: true},
			{Name: "pg-wal", Standby: "pg-wal", Restored: finalWal.Name, SnapshotAt: now.Add(-40 * time.Second), FinalBackup: true, DataLossKnown: true},
		}
		return r
	}

	cases := []struct {
		name    string
		plan    *plans.Plan
		east    *cluster.State
		west    *cluster.State
		objects map[cluster.ObjectRef]*unstructured.Unstructured
		expect  func(g Gomega, res Result)
		// now is the clock; the package's now when zero.
		now time.Time
	}{
		{
			name: "failover-start-planned",
			east: east(), west: west(withStandbys()...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1), "the record is written alone")
				w := res.Actions[0].(*WriteFailoverRecord)
				g.Expect(w.Record.Planned).To(BeTrue())
				g.Expect(w.Record.Revision).To(Equal(rev))
				g.Expect(w.ResourceVersion).To(BeEmpty())
			},
		},
		{
			name: "failover-start-unplanned",
			east: unreachable("east"), west: west(withStandbys()...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				w := res.Actions[0].(*WriteFailoverRecord)
				g.Expect(w.Record.Planned).To(BeFalse())
				g.Expect(w.Record.Steps).To(HaveLen(2))
				g.Expect(w.Record.Steps[0].Note).To(ContainSubstring("skipped: primary east"))
			},
		},
		{
			name: "failover-start-waits-for-primary-cache",
			east: &cluster.State{Name: "east", Health: cluster.Health{Reachable: true}}, west: west(withStandbys()...),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-secondary-unobserved",
			east: east(), west: unreachable("west"),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "no record, no fencing, no protection")
			},
		},
		{
			name: "failover-record-of-another-repo",
			east: east(),
			west: west(withStandbys(func() corev1.ConfigMap {
				cm := recordCM(planned(step(StepFinalBackup, 3*time.Minute, -1)))
				cm.Labels[LabelOwner] = "another-repo"
				return cm
			}())...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].Problems).To(ContainElement(ContainSubstring("was not written by this plans repo's agent")))
			},
		},
		{
			name: "failover-final-backup-fences-and-scales-down",
			east: east(), west: west(withStandbys(recordCM(planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.DeleteRecurringJob", "*planner.PatchVolumeLabels", "*planner.PatchVolumeLabels",
					"*planner.WriteFailoverRecord", "*planner.ScaleWorkload", "*planner.ScaleWorkload"))
			},
		},
		{
			// Fencing keeps the source volumes out of every backup job: Longhorn would bind the
			// default group to a volume left with no job label, and a user's backup job would
			// upload stale data into the backup volumes west now writes to.
			name: "failover-fence-disables-other-backup-jobs",
			east: east(sourceVolume("pg-data", map[string]string{
				longhorn.RecurringJobLabel(JobName("payments")):                    longhorn.LabelValueEnabled,
				longhorn.RecurringJobGroupLabel(longhorn.DefaultRecurringJobGroup): longhorn.LabelValueEnabled,
				longhorn.RecurringJobLabel("nightly"):                              longhorn.LabelValueEnabled,
				longhorn.RecurringJobGroupLabel("snaps"):                           longhorn.LabelValueDisabled,
				"team":                                                             "db",
			}), sourceVolume("pg-wal", fenced)),
			west: west(withStandbys(recordCM(planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				patches := map[string]*PatchVolumeLabels{}
				for _, a := range res.Actions {
					if p, ok := a.(*PatchVolumeLabels); ok {
						patches[p.Volume] = p
					}
				}
				g.Expect(patches).To(HaveKey("pg-data"))
				g.Expect(patches).NotTo(HaveKey("pg-wal"), "already fenced")
				p := patches["pg-data"]
				g.Expect(p.Remove).To(ConsistOf(longhorn.RecurringJobLabel(JobName("payments"))))
				g.Expect(p.Set).To(Equal(map[string]string{
					longhorn.RecurringJobGroupLabel(longhorn.DefaultRecurringJobGroup): longhorn.LabelValueDisabled,
					longhorn.RecurringJobLabel("nightly"):                              longhorn.LabelValueDisabled,
				}))
			},
		},
		{
			name: "failover-final-backup-waits-for-detach",
			east: func() *cluster.State {
				r := planned(step(StepFinalBackup, 3*time.Minute, -1))
				s := fencedEast(r)
				s.Volumes[0].Status.State = longhorn.VolumeStateAttached
				return s
			}(),
			west:   west(withStandbys(recordCM(planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-final-backup-takes-snapshots",
			east: fencedEast(planned(step(StepFinalBackup, 3*time.Minute, -1))),
			west: west(withStandbys(recordCM(planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.CreateSnapshot", "*planner.CreateSnapshot"))
				var vols []string
				for _, a := range res.Actions {
					s := a.(*CreateSnapshot).Snapshot
					g.Expect(s.Name).To(Equal(FinalSnapshotName("payments", s.Spec.Volume, rev)))
					g.Expect(s.Spec.CreateSnapshot).To(BeTrue())
					g.Expect(s.Labels).To(HaveKeyWithValue(LabelManagedBy, ManagedByValue), "the agent's cache holds only its own snapshots")
					vols = append(vols, s.Spec.Volume)
				}
				g.Expect(vols).To(ConsistOf("pg-data", "pg-wal"))
				g.Expect(FinalSnapshotName("payments", "pg-data", rev)).NotTo(Equal(FinalSnapshotName("payments", "pg-wal", rev)))
			},
		},
		{
			// Longhorn attaches a volume to take its snapshot: that is no reason to wait.
			name: "failover-final-backup-waits-for-snapshots",
			east: func() *cluster.State {
				s := fencedEast(planned(step(StepFinalBackup, 3*time.Minute, -1)), finalSnapshot("pg-data", false, ""), finalSnapshot("pg-wal", false, ""))
				s.Volumes[0].Status.State = longhorn.VolumeStateAttached
				return s
			}(),
			west: west(withStandbys(recordCM(planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("is being taken in cluster east"))
			},
		},
		{
			name: "failover-final-backup-backs-up-ready-snapshots",
			east: fencedEast(planned(step(StepFinalBackup, 3*time.Minute, -1)), finalSnapshot("pg-data", true, ""), finalSnapshot("pg-wal", false, "")),
			west: west(withStandbys(recordCM(planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.CreateBackup"))
				b := res.Actions[0].(*CreateBackup).Backup
				g.Expect(b.Name).To(Equal(FinalBackupName("payments", "pg-data", rev)))
				g.Expect(longhorn.IsBackupName(b.Name)).To(BeTrue())
				g.Expect(b.Spec.SnapshotName).To(Equal(FinalSnapshotName("payments", "pg-data", rev)))
				g.Expect(b.Labels).To(HaveKeyWithValue(longhorn.LabelBackupVolume, "pg-data"))
			},
		},
		{
			name: "failover-final-backup-snapshot-failed",
			east: fencedEast(planned(step(StepFinalBackup, 3*time.Minute, -1)), finalSnapshot("pg-data", true, ""), finalSnapshot("pg-wal", false, "engine is not running")),
			west: west(withStandbys(recordCM(planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.CreateBackup"), "pg-data goes on")
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(HavePrefix("final snapshot " + FinalSnapshotName("payments", "pg-wal", rev) +
					" of volume pg-wal failed: engine is not running (delete that Snapshot CR in cluster east to take it again)"))
			},
		},
		{
			name: "failover-final-backup-in-secondary-requests-sync",
			// pg-data's final backup completed in this very second.
			east: fencedEast(planned(step(StepFinalBackup, 3*time.Minute, -1)), func() longhorn.Backup {
				b := finalData
				b.Status.BackupCreatedAt = longhorn.NewTimestamp(now.Add(300 * time.Millisecond))
				return b
			}(), func() longhorn.Backup {
				b := finalWal
				b.Status.State = longhorn.BackupStateInProgress
				return b
			}()),
			// West's backup volume of pg-data synced a second before: ask it to read the store again.
			west: west(append(withStandbys(recordCM(planned(step(StepFinalBackup, 3*time.Minute, -1)))),
				syncedAt(backupVolume("pg-data", "backup-b2", nil), now.Add(-time.Second)))...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				g.Expect(res.Actions[0].(*RequestSync).At).To(Equal(now))
				g.Expect(res.RequeueAfter).To(BeZero())
			},
		},
		{
			name: "failover-final-backup-sync-waits-for-next-second",
			now:  now.Add(400 * time.Millisecond),
			east: fencedEast(planned(step(StepFinalBackup, 3*time.Minute, -1)), func() longhorn.Backup {
				b := finalData
				b.Status.BackupCreatedAt = longhorn.NewTimestamp(now.Add(100 * time.Millisecond))
				return b
			}(), finalWal),
			// West's backup volume of pg-data synced in this very second, before the backup was
			// there: a request stamped in this second would be ignored, so it waits for the next.
			west: west(append(withStandbys(recordCM(planned(step(StepFinalBackup, 3*time.Minute, -1))), finalWal),
				syncedAt(backupVolume("pg-data", "backup-b2", nil), now))...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.RequeueAfter).To(Equal(600 * time.Millisecond))
			},
		},
		{
			name: "failover-wave-activation-waits-for-next-second",
			now:  now.Add(400 * time.Millisecond),
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbWave)), finalData, finalWal),
			west: caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave))), fData, fWal,
				syncedAt(backupVolume("pg-data", finalData.Name, nil), now)),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "activation without the sync Longhorn would honour is not done")
				g.Expect(res.RequeueAfter).To(Equal(600 * time.Millisecond))
			},
		},
		{
			name: "failover-final-backup-done",
			east: fencedEast(planned(step(StepFinalBackup, 3*time.Minute, -1)), finalData, finalWal),
			west: west(withStandbys(recordCM(planned(step(StepFinalBackup, 3*time.Minute, -1))), finalData, finalWal)...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				w := res.Actions[0].(*WriteFailoverRecord)
				g.Expect(w.ResourceVersion).To(Equal("42"))
				g.Expect(w.Record.Steps).To(HaveLen(2))
				g.Expect(w.Record.Steps[1].Name).To(Equal(StepCatchUp))
			},
		},
		{
			name: "failover-final-backup-given-up-after-deadline",
			east: unreachable("east"),
			west: west(withStandbys(recordCM(rec(true, 11*time.Minute, step(StepFinalBackup, 11*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				g.Expect(res.Actions[0].(*WriteFailoverRecord).Record.Steps[0].Note).To(ContainSubstring("given up"))
			},
		},
		{
			name: "failover-catch-up-requests-sync",
			east: fencedEast(planned(finalDone, catchUp), finalData, finalWal),
			west: west(withStandbys(recordCM(planned(finalDone, catchUp)), finalData, finalWal)...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.RequestSync", "*planner.RequestSync"))
			},
		},
		{
			name: "failover-catch-up-restoring",
			east: fencedEast(planned(finalDone, catchUp), finalData, finalWal),
			west: west(withStandbys(recordCM(planned(finalDone, catchUp)), finalData, finalWal,
				syncedAt(backupVolume("pg-data", finalData.Name, nil), now.Add(-55*time.Second)),
				syncedAt(backupVolume("pg-wal", finalWal.Name, nil), now.Add(-55*time.Second)))...),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-catch-up-done-zero-loss",
			east: fencedEast(planned(finalDone, catchUp), finalData, finalWal),
			west: caughtUpWest(recordCM(planned(finalDone, catchUp)), fData, fWal),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				w := res.Actions[0].(*WriteFailoverRecord)
				g.Expect(w.Record.Volumes).To(HaveLen(2))
				for _, v := range w.Record.Volumes {
					g.Expect(v.FinalBackup).To(BeTrue())
					g.Expect(v.DataLoss.Duration).To(BeZero())
				}
			},
		},
		{
			name: "failover-catch-up-timeout-goes-on",
			east: unreachable("east"),
			west: func() *cluster.State {
				r := rec(false, 11*time.Minute, step(StepFinalBackup, 11*time.Minute, 11*time.Minute), step(StepCatchUp, 11*time.Minute, -1))
				lagging, laggingEngine := standby("pg-data", "pg-data", "backup-b3", "backup-b2")
				return west(recordCM(r), lagging, laggingEngine, pgWal, pgWalEngine, backup("backup-b3", "pg-data", time.Minute),
					syncedAt(backupVolume("pg-data", "backup-b3", nil), now.Add(-10*time.Minute)),
					syncedAt(backupVolume("pg-wal", "backup-w1", nil), now.Add(-10*time.Minute)))
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				w := res.Actions[0].(*WriteFailoverRecord)
				g.Expect(w.Record.Steps[1].Note).To(ContainSubstring("timed out after 10m0s"))
				g.Expect(w.Record.Volumes[0].DataLoss.Duration).To(Equal(5 * time.Minute))
			},
		},
		{
			name: "failover-wave-activates",
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbWave)), finalData, finalWal),
			west: caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave))), fData, fWal),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1), "only the db wave's volume")
				a := res.Actions[0].(*ActivateVolume)
				g.Expect(a.Volume).To(Equal("pg-data"))
				g.Expect(a.Frontend).To(Equal(longhorn.VolumeFrontendBlockDev))
				g.Expect(a.SyncAt.After(now.Add(-55 * time.Second))).To(BeTrue())
			},
		},
		{
			name: "failover-wave-degraded-held-by-plan",
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbWave)), finalData, finalWal),
			west: caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave))),
				withRobustness(fData, longhorn.VolumeRobustnessDegraded), fWal),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-wave-degraded-held-by-setting",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Activation.AllowDegraded = true }),
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbWave)), finalData, finalWal),
			west: func() *cluster.State {
				s := caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave))),
					withRobustness(fData, longhorn.VolumeRobustnessDegraded), fWal)
				s.Settings[0].Value = "false"
				return s
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("allow-volume-creation-with-degraded-availability is false"))
			},
		},
		{
			name: "failover-wave-degraded-allowed",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Activation.AllowDegraded = true }),
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbWave)), finalData, finalWal),
			west: caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave))),
				withRobustness(fData, longhorn.VolumeRobustnessDegraded), fWal),
			expect: func(g Gomega, res Result) { g.Expect(kinds(res)).To(ConsistOf("*planner.ActivateVolume")) },
		},
		{
			name: "failover-wave-activation-settling",
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbWave)), finalData, finalWal),
			west: caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave))), activated(fData, false), fWal,
				func() longhorn.BackupVolume {
					bv := syncedAt(backupVolume("pg-data", finalData.Name, ptr.To(now.Add(5*time.Second))), now.Add(-55*time.Second))
					return bv
				}()),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-wave-creates-claims",
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbWave)), finalData, finalWal),
			west: caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave))), dbActive, fWal),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.CreatePersistentVolume", "*planner.CreatePersistentVolumeClaim"))
				pv := res.Actions[0].(*CreatePersistentVolume).PV
				g.Expect(pv.Spec.CSI.Driver).To(Equal("driver.longhorn.io"))
				g.Expect(pv.Spec.CSI.VolumeHandle).To(Equal("pg-data"))
				g.Expect(pv.Spec.PersistentVolumeReclaimPolicy).To(Equal(corev1.PersistentVolumeReclaimRetain))
				g.Expect(res.Actions[1].(*CreatePersistentVolumeClaim).PVC.Spec.VolumeName).To(Equal("pg-data"))
			},
		},
		{
			name: "failover-wave-scales",
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbWave)), finalData, finalWal),
			west: caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave))), dbActive, fWal,
				ourPV("pg-data"), ourPVC("prod", "data-postgres-0")),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				g.Expect(res.Actions[0].(*ScaleWorkload).Replicas).To(Equal(int32(3)))
			},
		},
		{
			name: "failover-wave-waits-for-gates",
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbWave)), finalData, finalWal),
			west: func() *cluster.State {
				s := caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave))), dbActive, fWal,
					ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
				s.StatefulSets[0] = statefulSet("postgres", 3, false)
				return s
			}(),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-wave-gate-timeout-stalls",
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, step(WaveStep("db"), 11*time.Minute, -1))), finalData, finalWal),
			west: func() *cluster.State {
				s := caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, step(WaveStep("db"), 11*time.Minute, -1)))), dbActive, fWal,
					ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
				s.StatefulSets[0] = statefulSet("postgres", 3, false)
				return s
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].FailoverStatus.Phase).To(Equal(FailoverStalled))
			},
		},
		{
			name: "failover-wave-done-next-starts",
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbWave)), finalData, finalWal),
			west: func() *cluster.State {
				s := caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave))), dbActive, fWal,
					ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
				s.StatefulSets[0] = statefulSet("postgres", 3, true)
				return s
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				w := res.Actions[0].(*WriteFailoverRecord)
				g.Expect(w.Record.Steps).To(HaveLen(4))
				g.Expect(w.Record.Steps[3].Name).To(Equal("wave/apps"))
			},
		},
		{
			name: "failover-last-wave-completes",
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbDone, appsWave)), finalData, finalWal),
			west: func() *cluster.State {
				s := caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbDone, appsWave))), dbActive, walActive,
					ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
				s.StatefulSets[0] = statefulSet("postgres", 3, true)
				s.Deployments[0] = deployment("web", 2, true)
				return s
			}(),
			objects: map[cluster.ObjectRef]*unstructured.Unstructured{jobRef: completedJob()},
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				g.Expect(res.Actions[0].(*WriteFailoverRecord).Record.FinishedAt).To(Equal(now))
			},
		},
		{
			name: "failover-last-wave-gate-not-read",
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbDone, appsWave)), finalData, finalWal),
			west: func() *cluster.State {
				s := caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbDone, appsWave))), dbActive, walActive,
					ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
				s.StatefulSets[0] = statefulSet("postgres", 3, true)
				s.Deployments[0] = deployment("web", 2, true)
				return s
			}(),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-complete",
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbDone, step(WaveStep("apps"), 20*time.Second, 5*time.Second))), finalData, finalWal),
			west: func() *cluster.State {
				r := withVolumes(planned(finalDone, catchUpDone, dbDone, step(WaveStep("apps"), 20*time.Second, 5*time.Second)))
				r.FinishedAt = now.Add(-5 * time.Second)
				return caughtUpWest(recordCM(r), dbActive, walActive, ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				fs := res.Report.Plans[0].FailoverStatus
				g.Expect(fs.Phase).To(Equal(FailoverComplete))
				g.Expect(fs.RTO.Duration).To(Equal(3*time.Minute - 5*time.Second))
				g.Expect(fs.DataLossKnown).To(BeTrue())
			},
		},
		{
			name: "failover-complete-primary-back-is-fenced",
			east: east(finalData, finalWal),
			west: func() *cluster.State {
				r := withVolumes(rec(false, 3*time.Minute, step(StepFinalBackup, 3*time.Minute, 3*time.Minute), catchUpDone, dbDone,
					step(WaveStep("apps"), 20*time.Second, 5*time.Second)))
				r.FinishedAt = now.Add(-5 * time.Second)
				return caughtUpWest(recordCM(r), dbActive, walActive, ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.DeleteRecurringJob", "*planner.PatchVolumeLabels", "*planner.PatchVolumeLabels", "*planner.WriteFailoverRecord"))
				for _, a := range res.Actions {
					g.Expect(a.Cluster()).To(Equal("east"), "nothing changes in west once complete")
				}
			},
		},
		{
			name: "failover-reverted-after-activation",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Failover = false }),
			east: fencedEast(withVolumes(planned(finalDone, catchUpDone, dbWave)), finalData, finalWal),
			west: caughtUpWest(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave))), dbActive, fWal),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "no protection, no activation, nothing undone")
				g.Expect(res.Report.Plans[0].FailoverStatus.Phase).To(Equal(FailoverReverted))
				g.Expect(res.Report.Plans[0].Problems).To(ContainElement(ContainSubstring("failback is a new plan with the roles swapped (primary west, secondary east)")))
			},
		},
		{
			name: "failover-reverted-active-by-hand",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Failover = false }),
			east: east(),
			west: west(activated(pgData, true), pgDataEngine, pgWal, pgWalEngine),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "without a record there is nothing to fence with; protection stays off")
				g.Expect(res.Report.Plans[0].FailoverStatus.Phase).To(Equal(FailoverReverted))
			},
		},
		{
			name: "failover-reverted-secondary-down-primary-copy",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Failover = false }),
			east: east(recordCM(withVolumes(planned(finalDone, catchUpDone, dbWave)))),
			west: unreachable("west"),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.DeleteRecurringJob", "*planner.PatchVolumeLabels", "*planner.PatchVolumeLabels"),
					"the job is not re-applied: the primary's copy of the record says it was failed over from")
			},
		},
		{
			name: "failover-protection-waits-for-secondary-cache",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Failover = false }),
			east: east(),
			west: &cluster.State{Name: "west", Health: cluster.Health{Reachable: true}},
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "until west is known, east is not protected again by mistake")
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			pl := tc.plan
			if pl == nil {
				pl = p
			}
			if tc.objects != nil {
				tc.west.Objects = tc.objects
			}
			clock := tc.now
			if clock.IsZero() {
				clock = now
			}
			in := Input{Plans: []*plans.Plan{pl}, Clusters: map[string]*cluster.State{"east": tc.east, "west": tc.west},
				Now: clock, Namespace: ns, Owner: owner, Revision: rev}
			res := Decide(in)
			checkGolden(t, tc.name, renderFailover(t, res))
			tc.expect(g, res)
			g.Expect(renderFailover(t, Decide(in))).To(Equal(renderFailover(t, res)), "deciding again gives the same answer")
		})
	}
}

func kinds(res Result) []string {
	out := make([]string, len(res.Actions))
	for i, a := range res.Actions {
		out[i] = fmt.Sprintf("%T", a)
	}
	return out
}

func TestSyncStamp(t *testing.T) {
	at := func(d time.Duration) *metav1.Time { x := metav1.NewTime(now.Add(d)); return &x }
	cases := []struct {
		name     string
		now      time.Time
		last     *metav1.Time
		want     time.Time
		wantWait time.Duration
	}{
		{"never synced", now.Add(300 * time.Millisecond), nil, now, 0},
		{"synced a second before", now.Add(300 * time.Millisecond), at(-time.Second), now, 0},
		{"synced in this very second: wait for the next", now.Add(300 * time.Millisecond), at(0), time.Time{}, 700 * time.Millisecond},
		{"synced a second ahead: wait, within the clock skew allowed", now, at(time.Second), time.Time{}, 2 * time.Second},
		{"synced far ahead (clock skew): stamp just after it", now, at(3 * time.Second), now.Add(4 * time.Second), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, wait := SyncStamp(tc.now, tc.last)
			g := NewWithT(t)
			g.Expect(got).To(Equal(tc.want))
			g.Expect(wait).To(Equal(tc.wantWait))
			if tc.last != nil && wait == 0 {
				g.Expect(got.After(tc.last.Time)).To(BeTrue(), "Longhorn syncs only on a request after lastSyncedAt")
			}
		})
	}
}

func TestFinalBackupName(t *testing.T) {
	cases := []struct {
		name                      string
		plan, volume, revision    string
		samePlan, sameVol, sameRv string
		wantSame                  bool
	}{
		{"same inputs, same name", "payments", "pg-data", rev, "payments", "pg-data", rev, true},
		{"another volume", "payments", "pg-data", rev, "payments", "pg-wal", rev, false},
		{"another revision", "payments", "pg-data", rev, "payments", "pg-data", "ffff", false},
		{"another plan", "payments", "pg-data", rev, "billing", "pg-data", rev, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			a, b := FinalBackupName(tc.plan, tc.volume, tc.revision), FinalBackupName(tc.samePlan, tc.sameVol, tc.sameRv)
			g.Expect(longhorn.IsBackupName(a)).To(BeTrue(), "Longhorn's form: %s", a)
			g.Expect(a == b).To(Equal(tc.wantSame))
		})
	}
}

func TestFailoverReads(t *testing.T) {
	tgt := target("s3://backups@us-east-1/")
	running := rec(true, 3*time.Minute, step(StepFinalBackup, 3*time.Minute, time.Minute), step(StepCatchUp, time.Minute, time.Minute),
		step(WaveStep("db"), time.Minute, 30*time.Second), step(WaveStep("apps"), 30*time.Second, -1))
	finished := rec(true, 3*time.Minute, running.Steps...)
	finished.FinishedAt = now
	cases := []struct {
		name string
		plan *plans.Plan
		west *cluster.State
		want map[string][]cluster.ObjectRef
	}{
		{"steady state reads nothing", failoverPlan(func(d *plans.DRPlan) { d.Spec.Failover = false }), fstate("west", tgt, recordCM(running)), map[string][]cluster.ObjectRef{}},
		{"no record yet", failoverPlan(), fstate("west", tgt), map[string][]cluster.ObjectRef{}},
		{"db wave under way: its gate is cached", failoverPlan(), fstate("west", tgt, recordCM(rec(true, time.Minute, step(WaveStep("db"), time.Minute, -1)))), map[string][]cluster.ObjectRef{}},
		{"apps wave under way: the Job gate", failoverPlan(), fstate("west", tgt, recordCM(running)), map[string][]cluster.ObjectRef{"west": {jobRef}}},
		{"finished", failoverPlan(), fstate("west", tgt, recordCM(finished)), map[string][]cluster.ObjectRef{}},
		{"secondary down", failoverPlan(), unreachable("west"), map[string][]cluster.ObjectRef{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := FailoverReads(Input{Plans: []*plans.Plan{tc.plan}, Clusters: map[string]*cluster.State{"west": tc.west}, Owner: owner, Now: now})
			NewWithT(t).Expect(got).To(Equal(tc.want))
		})
	}
}
