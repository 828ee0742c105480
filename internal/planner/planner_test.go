package planner

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/drplan/drplan/internal/golden"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

const ns = "longhorn-system"

// fixture builders ------------------------------------------------------------------------------

func plan(name string, mutate ...func(*plans.DRPlan)) *plans.Plan {
	p := &plans.Plan{DRPlan: plans.DRPlan{
		APIVersion: plans.APIVersion, Kind: plans.Kind,
		Metadata: plans.Metadata{Name: name},
		Spec: plans.Spec{
			Primary: "east", Secondary: "west",
			Schedule: plans.Schedule{Cron: "*/15 * * * *"},
			RPO:      plans.Duration{Duration: 30 * time.Minute},
			Volumes:  []plans.Volume{{Name: "pg-data"}, {Name: "pg-wal"}},
		},
	}}
	for _, m := range mutate {
		m(&p.DRPlan)
	}
	plans.SetDefaults(&p.DRPlan)
	return p
}

func state(name string, objs ...any) *observed.State {
	s := &observed.State{Name: name, Health: observed.Health{Synced: true, Reachable: true}}
	for _, o := range objs {
		switch o := o.(type) {
		case longhorn.Volume:
			s.Volumes = append(s.Volumes, o)
		case longhorn.Engine:
			s.Engines = append(s.Engines, o)
		case longhorn.Backup:
			s.Backups = append(s.Backups, o)
		case longhorn.BackupVolume:
			s.BackupVolumes = append(s.BackupVolumes, o)
		case longhorn.BackupTarget:
			s.BackupTargets = append(s.BackupTargets, o)
		case longhorn.RecurringJob:
			s.RecurringJobs = append(s.RecurringJobs, o)
		default:
			panic(fmt.Sprintf("unknown fixture %T", o))
		}
	}
	return s
}

func unreachable(name string) *observed.State {
	return &observed.State{Name: name, Health: observed.Health{Synced: true, Reachable: false,
		DownSince: now.Add(-7 * time.Minute), Err: "connection refused"}}
}

func target(url string) longhorn.BackupTarget {
	t := longhorn.BackupTarget{}
	t.Name, t.Namespace = "default", ns
	t.Spec.BackupTargetURL = url
	return t
}

func sourceVolume(name string, labels map[string]string) longhorn.Volume {
	v := longhorn.Volume{}
	v.Name, v.Namespace, v.Labels = name, ns, labels
	v.Spec.NumberOfReplicas = 3
	v.Status.State = longhorn.VolumeStateAttached
	v.Status.Robustness = longhorn.VolumeRobustnessHealthy
	return v
}

func bound(plan string) map[string]string {
	return map[string]string{longhorn.RecurringJobLabel(JobName(plan)): longhorn.LabelValueEnabled}
}

func job(p *plans.Plan) longhorn.RecurringJob { return *desiredJob(p, ns, owner) }

const owner = "0123456789ab"

func backup(name, volume string, age time.Duration) longhorn.Backup {
	b := longhorn.Backup{}
	b.Name, b.Namespace = name, ns
	b.Labels = longhorn.BackupVolumeLabels("default", volume)
	b.Status.State = longhorn.BackupStateCompleted
	b.Status.VolumeName = volume
	b.Status.VolumeSize = "1073741824"
	b.Status.SnapshotCreatedAt = longhorn.NewTimestamp(now.Add(-age))
	b.Status.BackupCreatedAt = longhorn.NewTimestamp(now.Add(-age + 10*time.Second))
	b.Status.URL = "s3://backups@us-east-1/?backup=" + name + "&volume=" + volume
	return b
}

func backupVolume(volume, last string, syncRequested *time.Time) longhorn.BackupVolume {
	bv := longhorn.BackupVolume{}
	bv.Name, bv.Namespace = longhorn.BackupVolumeName(volume, "default"), ns
	bv.Labels = longhorn.BackupVolumeLabels("default", volume)
	bv.Spec.BackupTargetName, bv.Spec.VolumeName = "default", volume
	bv.Status.LastBackupName = last
	synced := metav1.NewTime(now.Add(-time.Minute))
	bv.Status.LastSyncedAt = &synced
	if syncRequested != nil {
		t := metav1.NewTime(*syncRequested)
		bv.Spec.SyncRequestedAt = &t
	}
	return bv
}

// standby is a standby volume of plan "payments" that restored `restored` while the newest is `last`.
func standby(name, source, last, restored string) (longhorn.Volume, longhorn.Engine) {
	v := longhorn.Volume{}
	v.Name, v.Namespace = name, ns
	v.Labels = map[string]string{LabelManagedBy: ManagedByValue, LabelOwner: owner, LabelPlan: "payments", LabelSourceVolume: source}
	v.Spec.Standby, v.Spec.FromBackup, v.Spec.NumberOfReplicas = true, "s3://x", 3
	v.Status.IsStandby, v.Status.RestoreRequired = true, true
	v.Status.State, v.Status.Robustness = longhorn.VolumeStateAttached, longhorn.VolumeRobustnessHealthy
	v.Status.LastBackup = last
	e := longhorn.Engine{}
	e.Name, e.Namespace = longhorn.EngineName(name), ns
	e.Labels = map[string]string{longhorn.LabelLonghornVolume: name}
	e.Spec.VolumeName, e.Spec.Active, e.Spec.RequestedBackupRestore = name, true, last
	e.Status.LastRestoredBackup = restored
	e.Status.ReplicaModeMap = map[string]string{"r1": "RW", "r2": "RW", "r3": "RW"}
	return v, e
}

// golden rendering --------------------------------------------------------------------------------

func render(t *testing.T, res Result) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString("actions:\n")
	for _, a := range res.Actions {
		fmt.Fprintf(&b, "  - [%s] %s\n", a.Cluster(), a.String())
	}
	rep, err := json.Marshal(res.Report)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.JSONToYAML(rep)
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("report:\n")
	for _, line := range strings.Split(strings.TrimRight(string(y), "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	return []byte(b.String())
}

// checkGolden compares got with testdata/<name>.golden; UPDATE_GOLDEN=1 rewrites it.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Assert(t, filepath.Join("testdata", name+".golden"), got)
}

// scenarios ---------------------------------------------------------------------------------------

func TestDecideGolden(t *testing.T) {
	p := plan("payments")
	recent := now.Add(-10 * time.Second)
	old := now.Add(-2 * time.Minute)
	pgData, pgDataEngine := standby("pg-data", "pg-data", "backup-b2", "backup-b2")
	pgWal, pgWalEngine := standby("pg-wal", "pg-wal", "backup-w1", "backup-w1")
	lagging, laggingEngine := standby("pg-data", "pg-data", "backup-b2", "backup-b1")
	tgt := target("s3://backups@us-east-1/")

	steadyEast := func(extra ...any) *observed.State {
		return state("east", append([]any{tgt, job(p),
			sourceVolume("pg-data", bound("payments")), sourceVolume("pg-wal", bound("payments")),
			backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute)}, extra...)...)
	}
	steadyWest := func(extra ...any) *observed.State {
		return state("west", append([]any{tgt,
			backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
			backupVolume("pg-data", "backup-b2", nil), backupVolume("pg-wal", "backup-w1", nil),
			pgData, pgDataEngine, pgWal, pgWalEngine}, extra...)...)
	}

	cases := []struct {
		name       string
		plans      []*plans.Plan
		known      []string
		incomplete bool
		clusters   map[string]*observed.State
		// noActions asserts the decision is empty (steady state), besides the golden file.
		noActions bool
	}{
		{
			name:  "fresh-plan",
			plans: []*plans.Plan{p},
			clusters: map[string]*observed.State{
				"east": state("east", tgt, sourceVolume("pg-data", nil), sourceVolume("pg-wal", nil), sourceVolume("other", nil)),
				"west": state("west", tgt),
			},
		},
		{
			name:  "source-volume-claim-labelled-too",
			plans: []*plans.Plan{p},
			clusters: map[string]*observed.State{
				"east": state("east", tgt, func() longhorn.Volume {
					v := sourceVolume("pg-data", nil)
					v.Status.KubernetesStatus = longhorn.KubernetesStatus{Namespace: "prod", PVCName: "data-postgres-0"}
					return v
				}(), sourceVolume("pg-wal", nil)),
				"west": state("west", tgt),
			},
		},
		{
			name:  "backup-not-yet-in-secondary",
			plans: []*plans.Plan{p},
			clusters: map[string]*observed.State{
				"east": state("east", tgt, job(p), sourceVolume("pg-data", bound("payments")), sourceVolume("pg-wal", bound("payments")),
					backup("backup-b1", "pg-data", time.Minute)),
				"west": state("west", tgt),
			},
		},
		{
			name:  "create-standby-volumes",
			plans: []*plans.Plan{p},
			clusters: map[string]*observed.State{
				"east": steadyEast(),
				"west": state("west", tgt, backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
					backupVolume("pg-data", "backup-b2", nil), backupVolume("pg-wal", "backup-w1", nil)),
			},
		},
		{
			name:      "steady-state",
			plans:     []*plans.Plan{p},
			clusters:  map[string]*observed.State{"east": steadyEast(), "west": steadyWest()},
			noActions: true,
		},
		{
			name:  "newer-backup-on-primary-requests-sync",
			plans: []*plans.Plan{p},
			clusters: map[string]*observed.State{
				"east": steadyEast(backup("backup-b3", "pg-data", 30*time.Second)),
				"west": state("west", tgt, backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
					backupVolume("pg-data", "backup-b2", &old), backupVolume("pg-wal", "backup-w1", nil), pgData, pgDataEngine, pgWal, pgWalEngine),
			},
		},
		{
			name:  "sync-rate-limited",
			plans: []*plans.Plan{p},
			clusters: map[string]*observed.State{
				"east": steadyEast(backup("backup-b3", "pg-data", 30*time.Second)),
				"west": state("west", tgt, backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
					backupVolume("pg-data", "backup-b2", &recent), backupVolume("pg-wal", "backup-w1", nil), pgData, pgDataEngine, pgWal, pgWalEngine),
			},
		},
		{
			name:  "standby-lagging-rpo-breach",
			plans: []*plans.Plan{plan("payments", func(d *plans.DRPlan) { d.Spec.RPO.Duration = 10 * time.Minute })},
			clusters: map[string]*observed.State{
				"east": steadyEast(backup("backup-b1", "pg-data", 45*time.Minute)),
				"west": state("west", tgt, backup("backup-b1", "pg-data", 45*time.Minute), backup("backup-b2", "pg-data", 5*time.Minute),
					backup("backup-w1", "pg-wal", 5*time.Minute),
					backupVolume("pg-data", "backup-b2", nil), backupVolume("pg-wal", "backup-w1", nil), lagging, laggingEngine, pgWal, pgWalEngine),
			},
		},
		{
			name:  "standby-faulted-needs-replacing",
			plans: []*plans.Plan{p},
			clusters: map[string]*observed.State{
				"east": steadyEast(),
				"west": state("west", tgt, backup("backup-b2", "pg-data", 5*time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
					backupVolume("pg-data", "backup-b2", nil), backupVolume("pg-wal", "backup-w1", nil),
					func() longhorn.Volume { v := pgData; v.Status.Robustness = longhorn.VolumeRobustnessFaulted; return v }(), pgDataEngine, pgWal, pgWalEngine),
			},
			noActions: true,
		},
		{
			name:  "backup-target-mismatch",
			plans: []*plans.Plan{p},
			clusters: map[string]*observed.State{
				"east": steadyEast(),
				"west": state("west", target("s3://other@us-west-2/"), backup("backup-b2", "pg-data", 5*time.Minute),
					backupVolume("pg-data", "backup-b2", nil)),
			},
		},
		{
			name:  "primary-unreachable",
			plans: []*plans.Plan{p},
			clusters: map[string]*observed.State{
				"east": unreachable("east"),
				"west": state("west", tgt, backup("backup-b2", "pg-data", 5*time.Minute), backupVolume("pg-data", "backup-b2", nil),
					pgWal, pgWalEngine, backup("backup-w1", "pg-wal", 5*time.Minute), backupVolume("pg-wal", "backup-w1", nil)),
			},
		},
		{
			name: "volume-removed-from-plan",
			plans: []*plans.Plan{plan("payments", func(d *plans.DRPlan) {
				d.Spec.Volumes = []plans.Volume{{Name: "pg-data"}}
			})},
			clusters: map[string]*observed.State{"east": steadyEast(), "west": steadyWest()},
		},
		{
			name: "faulted-standby-replaced-old-one-not-updatable",
			plans: []*plans.Plan{plan("payments", func(d *plans.DRPlan) {
				d.Spec.Volumes = []plans.Volume{{Name: "pg-data", StandbyName: "pg-data-2"}, {Name: "pg-wal"}}
			})},
			clusters: map[string]*observed.State{"east": steadyEast(), "west": state("west", tgt,
				// backup-b2, which the faulted standby pg-data restored, was pruned: Longhorn refuses
				// any update of pg-data, so it is reported as an orphan but not labelled.
				backup("backup-b3", "pg-data", time.Minute), backup("backup-w1", "pg-wal", 5*time.Minute),
				backupVolume("pg-data", "backup-b3", nil), backupVolume("pg-wal", "backup-w1", nil),
				func() longhorn.Volume {
					v := pgData
					v.Spec.FromBackup, _ = longhorn.EncodeBackupURL("backup-b2", "pg-data", "s3://x")
					v.Status.Robustness = longhorn.VolumeRobustnessFaulted
					return v
				}(), pgDataEngine, pgWal, pgWalEngine)},
		},
		{
			name:     "plan-removed-from-git",
			plans:    nil,
			clusters: map[string]*observed.State{"east": steadyEast(), "west": steadyWest()},
		},
		{
			name:       "unparsable-file-orphans-nothing",
			plans:      nil,
			incomplete: true,
			clusters:   map[string]*observed.State{"east": steadyEast(), "west": steadyWest()},
			noActions:  true,
		},
		{
			name:      "invalid-plan-keeps-its-volumes",
			plans:     nil,
			known:     []string{"payments"},
			clusters:  map[string]*observed.State{"east": steadyEast(), "west": steadyWest()},
			noActions: true,
		},
		{
			name:  "other-repos-volumes-are-not-orphans",
			plans: nil,
			clusters: map[string]*observed.State{"east": steadyEast(), "west": steadyWest(func() longhorn.Volume {
				v, _ := standby("theirs", "theirs", "", "")
				v.Labels[LabelOwner] = "another-repo"
				v.Labels[LabelPlan] = "their-plan"
				return v
			}())},
		},
		{
			name:     "unknown-cluster",
			plans:    []*plans.Plan{plan("payments", func(d *plans.DRPlan) { d.Spec.Secondary = "north" })},
			clusters: map[string]*observed.State{"east": steadyEast(), "west": steadyWest()},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			set := planSet(tc.plans, tc.known, tc.incomplete)
			res := Decide(Input{Plans: set, Clusters: tc.clusters, Now: now, Namespace: ns, Owner: owner})
			if tc.noActions {
				g.Expect(res.Actions).To(BeEmpty())
			}
			checkGolden(t, tc.name, render(t, res))
			// Deciding again on the same input gives the same answer: nothing hides in memory.
			again := Decide(Input{Plans: set, Clusters: tc.clusters, Now: now, Namespace: ns, Owner: owner})
			g.Expect(render(t, again)).To(Equal(render(t, res)))
		})
	}
}

// planSet is a loaded plan set: the valid plans, an invalid plan for each name in invalid, and,
// when incomplete, a file that does not parse.
func planSet(valid []*plans.Plan, invalid []string, incomplete bool) *plans.Set {
	set := &plans.Set{Plans: slices.Clone(valid)}
	for _, name := range invalid {
		p := &plans.Plan{DRPlan: plans.DRPlan{Metadata: plans.Metadata{Name: name}, Spec: plans.Spec{Primary: "east", Secondary: "west"}}, File: name + ".yaml"}
		p.Problems = []plans.Problem{{File: p.File, Line: 7, Column: 5, Field: "spec.schedule.cron", Message: "expected 5 fields"}}
		set.Plans = append(set.Plans, p)
	}
	if incomplete {
		set.Unplaced = []plans.Problem{{File: "broken.yaml", Line: 1, Column: 1, Message: "not YAML"}}
	}
	return set
}

func TestSyncAllowed(t *testing.T) {
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	cases := []struct {
		name      string
		requested *time.Time
		want      bool
	}{
		{"never requested", nil, true},
		{"requested 10s ago", at(-10 * time.Second), false},
		{"requested 29s ago", at(-29 * time.Second), false},
		{"requested 30s ago", at(-30 * time.Second), true},
		{"requested 5m ago", at(-5 * time.Minute), true},
	}
	answered := []struct {
		name      string
		requested *time.Time
		want      bool
	}{
		{"answered, requested 2s ago", at(-2 * time.Second), false},
		{"answered, requested 5s ago", at(-5 * time.Second), true},
	}
	for _, tc := range answered {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(syncAllowed(tc.requested, at(-time.Second), now, 30*time.Second)).To(Equal(tc.want))
		})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(syncAllowed(tc.requested, nil, now, 30*time.Second)).To(Equal(tc.want))
		})
	}
}
