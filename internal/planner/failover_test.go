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

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
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
func fstate(name string, objs ...any) *observed.State {
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

// finalBackup is a completed final backup of volume, as the failover names it.
func finalBackup(volume string, age time.Duration) longhorn.Backup {
	return backup(FinalBackupName("payments", volume, rev), volume, age)
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

// failoverWorld is "payments" failing over from east to west: the clusters before, during and
// after, and the steps of a planned failover as its record holds them.
type failoverWorld struct {
	tgt  longhorn.BackupTarget
	plan *plans.Plan
	// fenced are the labels that keep a source volume out of every backup job.
	fenced map[string]string

	// The standby volumes in west, caught up with the last scheduled backups.
	pgData, pgWal             longhorn.Volume
	pgDataEngine, pgWalEngine longhorn.Engine
	// The final backups, and the standby volumes caught up with them (fData, fWal) and then
	// activated (dbActive, walActive).
	finalData, finalWal     longhorn.Backup
	fData, fWal             longhorn.Volume
	fDataEngine, fWalEngine longhorn.Engine
	dbActive, walActive     longhorn.Volume

	// Steps of a planned failover, under way or done.
	finalDone, catchUp, catchUpDone, dbWave, dbDone, appsWave StepRecord
}

func newFailoverWorld() *failoverWorld {
	f := &failoverWorld{
		tgt:  target("s3://backups@us-east-1/"),
		plan: failoverPlan(),
		fenced: map[string]string{
			longhorn.RecurringJobGroupLabel(longhorn.DefaultRecurringJobGroup): longhorn.LabelValueDisabled,
		},
		finalData: finalBackup("pg-data", 40*time.Second),
		finalWal:  finalBackup("pg-wal", 40*time.Second),

		finalDone:   step(StepFinalBackup, 3*time.Minute, time.Minute),
		catchUp:     step(StepCatchUp, time.Minute, -1),
		catchUpDone: step(StepCatchUp, time.Minute, 50*time.Second),
		dbWave:      step(WaveStep("db"), 50*time.Second, -1),
		dbDone:      step(WaveStep("db"), 50*time.Second, 20*time.Second),
		appsWave:    step(WaveStep("apps"), 20*time.Second, -1),
	}
	f.pgData, f.pgDataEngine = standby("pg-data", "pg-data", "backup-b2", "backup-b2")
	f.pgWal, f.pgWalEngine = standby("pg-wal", "pg-wal", "backup-w1", "backup-w1")
	f.fData, f.fDataEngine = standby("pg-data", "pg-data", f.finalData.Name, f.finalData.Name)
	f.fWal, f.fWalEngine = standby("pg-wal", "pg-wal", f.finalWal.Name, f.finalWal.Name)
	f.dbActive, f.walActive = activated(f.fData, true), activated(f.fWal, true)
	return f
}

// east is east before the failover: protected, workloads running, volumes attached.
func (f *failoverWorld) east(extra ...any) *observed.State {
	return fstate("east", append([]any{f.tgt, job(f.plan),
		sourceVolume("pg-data", bound("payments")), sourceVolume("pg-wal", bound("payments")),
		backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
		statefulSet("postgres", 3, true), deployment("web", 2, true)}, extra...)...)
}

// fencedEast is east once fenced and stopped: no job, the default group disabled, the record's
// copy, workloads at 0.
func (f *failoverWorld) fencedEast(r *FailoverRecord, extra ...any) *observed.State {
	return fstate("east", append([]any{f.tgt, recordCM(r),
		detached(sourceVolume("pg-data", f.fenced)), detached(sourceVolume("pg-wal", f.fenced)),
		backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
		statefulSet("postgres", 0, true), deployment("web", 0, true)}, extra...)...)
}

// west is west with its backup volumes synced to the last scheduled backups and workloads at
// 0; the standby volumes come with withStandbys.
func (f *failoverWorld) west(extra ...any) *observed.State {
	return fstate("west", append([]any{f.tgt, setting("true"),
		backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
		backupVolume("pg-data", "backup-b2", nil), backupVolume("pg-wal", "backup-w1", nil),
		statefulSet("postgres", 0, true), deployment("web", 0, true)}, extra...)...)
}

// caughtUpWest is west once catch-up restored the final backups.
func (f *failoverWorld) caughtUpWest(extra ...any) *observed.State {
	return f.west(append([]any{f.finalData, f.finalWal,
		syncedAt(backupVolume("pg-data", f.finalData.Name, nil), now.Add(-55*time.Second)),
		syncedAt(backupVolume("pg-wal", f.finalWal.Name, nil), now.Add(-55*time.Second)),
		f.fDataEngine, f.fWalEngine}, extra...)...)
}

// withStandbys is the standby volumes caught up with the last scheduled backups, then extra.
func (f *failoverWorld) withStandbys(extra ...any) []any {
	return append([]any{f.pgData, f.pgDataEngine, f.pgWal, f.pgWalEngine}, extra...)
}

// planned is the record of a planned failover started three minutes ago, with steps.
func (f *failoverWorld) planned(steps ...StepRecord) *FailoverRecord {
	return rec(true, 3*time.Minute, steps...)
}

// withVolumes records in r the final backups restored, with no data lost.
func (f *failoverWorld) withVolumes(r *FailoverRecord) *FailoverRecord {
	r.Volumes = []VolumeRecord{
		{Name: "pg-data", Standby: "pg-data", Restored: f.finalData.Name, SnapshotAt: now.Add(-40 * time.Second), FinalBackup: true, DataLossKnown: true},
		{Name: "pg-wal", Standby: "pg-wal", Restored: f.finalWal.Name, SnapshotAt: now.Add(-40 * time.Second), FinalBackup: true, DataLossKnown: true},
	}
	return r
}

// failoverCase is one failover scenario: the clusters as observed and what Decide must do. Its
// output is compared with testdata/<name>.golden.
type failoverCase struct {
	name string
	// plan is failoverPlan() when nil.
	plan    *plans.Plan
	east    *observed.State
	west    *observed.State
	objects map[observed.ObjectRef]*unstructured.Unstructured
	// namespaced is the secondary's discovery of its manifests' kinds (observed.State.Namespaced).
	namespaced map[observed.Kind]bool
	expect     func(g Gomega, res Result)
	// now is the clock; the package's now when zero.
	now time.Time
	// hookFailures is Input.HookFailures.
	hookFailures map[string]HookFailure
}

// runFailoverCases decides each case, checks the output against its golden file and the case's
// expectations, and that deciding again gives the same answer.
func runFailoverCases(t *testing.T, cases []failoverCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			pl := tc.plan
			if pl == nil {
				pl = failoverPlan()
			}
			if tc.objects != nil {
				tc.west.Objects = tc.objects
			}
			if tc.namespaced != nil {
				tc.west.Namespaced = tc.namespaced
			}
			clock := tc.now
			if clock.IsZero() {
				clock = now
			}
			in := Input{Plans: &plans.Set{Plans: []*plans.Plan{pl}}, Clusters: map[string]*observed.State{"east": tc.east, "west": tc.west},
				Now: clock, Namespace: ns, Owner: owner, Revision: rev, HookFailures: tc.hookFailures}
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

// scenarios ----------------------------------------------------------------------------------------

// TestFailoverStartGolden covers the start of a failover: writing the first record, or not
// while a cluster is unknown, and records this agent did not write.
func TestFailoverStartGolden(t *testing.T) {
	f := newFailoverWorld()
	runFailoverCases(t, []failoverCase{
		{
			name: "failover-start-planned",
			east: f.east(), west: f.west(f.withStandbys()...),
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
			east: unreachable("east"), west: f.west(f.withStandbys()...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				w := res.Actions[0].(*WriteFailoverRecord)
				g.Expect(w.Record.Planned).To(BeFalse())
				g.Expect(w.Record.Steps).To(HaveLen(2))
				g.Expect(w.Record.Steps[0].Note).To(ContainSubstring("skipped: primary east"))
			},
		},
		{
			name: "failover-start-blocked-without-standby",
			east: f.east(), west: f.west(f.pgData, f.pgDataEngine),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "nothing is written in either cluster")
				p := res.Report.Plans[0]
				g.Expect(p.FailoverStatus.Phase).To(Equal(FailoverBlocked))
				g.Expect(p.FailoverStatus.Waiting).To(ContainSubstring("nothing to activate in cluster west for every volume (volume pg-wal has no standby volume)"))
				g.Expect(p.Problems).To(ContainElement(ContainSubstring("the failover cannot start")))
			},
		},
		{
			name: "failover-start-blocked-by-faulted-standby",
			east: f.east(), west: f.west(withRobustness(f.pgData, longhorn.VolumeRobustnessFaulted), f.pgDataEngine, f.pgWal, f.pgWalEngine),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "nothing is written in either cluster")
				fs := res.Report.Plans[0].FailoverStatus
				g.Expect(fs.Phase).To(Equal(FailoverBlocked))
				g.Expect(fs.Waiting).To(ContainSubstring("the standby volume pg-data of volume pg-data is faulted"))
			},
		},
		{
			name: "failover-start-adopts-volumes-active-already",
			east: f.east(), west: f.west(activated(f.pgData, true), f.pgDataEngine, f.pgWal, f.pgWalEngine),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(Equal([]string{"*planner.WriteFailoverRecord"}), "a volume activated by hand does not block the failover, which adopts it")
			},
		},
		{
			name: "failover-start-waits-for-primary-cache",
			east: &observed.State{Name: "east", Health: observed.Health{Reachable: true}}, west: f.west(f.withStandbys()...),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-secondary-unobserved",
			east: f.east(), west: unreachable("west"),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "no record, no fencing, no protection")
			},
		},
		{
			name: "failover-record-of-another-repo",
			east: f.east(),
			west: f.west(f.withStandbys(func() corev1.ConfigMap {
				cm := recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1)))
				cm.Labels[LabelOwner] = "another-repo"
				return cm
			}())...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].Problems).To(ContainElement(ContainSubstring("was not written by this plans repo's agent")))
			},
		},
	})
}
