package report

import (
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// Fixtures: two clusters, east (primary) and west (secondary), and the plans of the examples.

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

const (
	sha1 = "3f2a9c1e5b7d40aa11c2d3e4f5a6b7c8d9e0f1a2"
	sha2 = "8b41d07c9e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b"
	sha3 = "c0ffee00d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"
)

func dur(d time.Duration) metav1.Duration { return metav1.Duration{Duration: d} }

func bothUp() map[string]planner.ClusterReport {
	return map[string]planner.ClusterReport{"east": {Reachable: true, Synced: true}, "west": {Reachable: true, Synced: true}}
}

func eastDown() map[string]planner.ClusterReport {
	return map[string]planner.ClusterReport{
		"east": {Reachable: false, DownSince: now.Add(-17 * time.Minute), Error: "dial tcp 10.0.0.1:6443: connect: connection refused"},
		"west": {Reachable: true, Synced: true},
	}
}

func recurringJob(plan string) planner.Action {
	return &planner.ApplyRecurringJob{
		Target: planner.Target{ClusterName: "east", PlanName: plan},
		Create: true,
		Job: &longhorn.RecurringJob{
			ObjectMeta: metav1.ObjectMeta{Namespace: longhorn.DefaultNamespace, Name: "drplan-" + plan},
			Spec:       longhorn.RecurringJobSpec{Task: "backup", Cron: "*/15 * * * *", Retain: 10, Concurrency: 2},
		},
	}
}

func label(plan, volume string) planner.Action {
	return &planner.PatchVolumeLabels{
		Target:    planner.Target{ClusterName: "east", PlanName: plan},
		Namespace: longhorn.DefaultNamespace, Volume: volume,
		Set: map[string]string{"recurring-job-group.longhorn.io/drplan-" + plan: "enabled"},
	}
}

func standby(plan, volume, backup string) planner.Action {
	return &planner.CreateStandbyVolume{
		Target: planner.Target{ClusterName: "west", PlanName: plan},
		Volume: &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: longhorn.DefaultNamespace, Name: volume},
			Spec: longhorn.VolumeSpec{NumberOfReplicas: 3}},
		Backup: backup,
	}
}

func sync(plan string) planner.Action {
	return &planner.RequestSync{
		Target: planner.Target{ClusterName: "west", PlanName: plan},
		Kind:   planner.SyncBackupVolume, Namespace: longhorn.DefaultNamespace, Name: "pg-data", At: now,
		Reason: "backup backup-7f3 of volume pg-data is newer than the standby's",
	}
}

// payments is a plan whose standby volumes are caught up, lag l.
func payments(l time.Duration) planner.PlanReport {
	return planner.PlanReport{
		Name: "payments", Primary: "east", Secondary: "west", File: "plans/payments.yaml", RPO: dur(30 * time.Minute),
		Volumes: []planner.VolumeReport{
			{Name: "pg-data", Standby: "pg-data", Wave: "databases", State: planner.StandbyCaughtUp, LastBackup: "backup-7f3",
				LastBackupAt: now.Add(-l), BackupAge: dur(l), Restored: "backup-7f3", RestoredAt: now.Add(-l), Lag: dur(l), LagKnown: true},
			{Name: "pg-wal", Standby: "pg-wal", Wave: "databases", State: planner.StandbyCaughtUp, LastBackup: "backup-7f4",
				LastBackupAt: now.Add(-l + time.Minute), BackupAge: dur(l - time.Minute), Restored: "backup-7f4", Lag: dur(l - time.Minute), LagKnown: true},
		},
	}
}

// billing is a plan with one volume per wave, in sync.
func billing() planner.PlanReport {
	return planner.PlanReport{
		Name: "billing", Primary: "east", Secondary: "west", File: "plans/billing.yaml", RPO: dur(time.Hour),
		Volumes: []planner.VolumeReport{
			{Name: "billing-db", Standby: "billing-db", Wave: "default", State: planner.StandbyCaughtUp, LastBackup: "backup-b01",
				BackupAge: dur(6 * time.Minute), Lag: dur(6 * time.Minute), LagKnown: true},
		},
	}
}

// fresh is a plan just added: nothing in the clusters yet.
func fresh() planner.PlanReport {
	return planner.PlanReport{
		Name: "orders", Primary: "east", Secondary: "west", File: "plans/orders.yaml", RPO: dur(15 * time.Minute),
		Volumes: []planner.VolumeReport{
			{Name: "orders-db", Standby: "orders-db", Wave: "default", State: planner.StandbyMissing, Reason: "not created yet"},
		},
		Waiting: []string{"volume orders-db has no completed backup yet"},
	}
}

// paymentsFailover is the failover of payments as a preview shows it: not started (phase
// pending), each volume's data-loss window its lag now.
func paymentsFailover(lagData, lagWAL time.Duration, walKnown bool) *planner.FailoverReport {
	return &planner.FailoverReport{
		Phase: planner.FailoverPending, Planned: true,
		Steps: []planner.FailoverStepReport{
			{Name: planner.StepFinalBackup, State: planner.StepPending},
			{Name: planner.StepCatchUp, State: planner.StepPending},
			{Name: planner.WaveStep("databases"), Wave: "databases", State: planner.StepPending, Volumes: []string{"pg-data", "pg-wal"},
				Gates: []planner.GateReport{{Kind: "StatefulSet", Namespace: "prod", Name: "postgres", Timeout: dur(10 * time.Minute)}},
				Scale: []planner.ScaleReport{{Kind: "StatefulSet", Namespace: "prod", Name: "postgres", Replicas: 3}}},
			{Name: planner.WaveStep("apps"), Wave: "apps", State: planner.StepPending, Volumes: []string{"uploads"},
				Gates: []planner.GateReport{{Kind: "Deployment", Namespace: "prod", Name: "api", Timeout: dur(5 * time.Minute)}},
				Scale: []planner.ScaleReport{{Kind: "Deployment", Namespace: "prod", Name: "api", Replicas: 4}, {Kind: "Deployment", Namespace: "prod", Name: "worker", Replicas: 2}}},
		},
		Volumes: []planner.FailoverVolumeReport{
			{Name: "pg-data", Standby: "pg-data", Wave: "databases", State: planner.StandbyCaughtUp, DataLoss: dur(lagData), DataLossKnown: true},
			{Name: "pg-wal", Standby: "pg-wal", Wave: "databases", State: planner.StandbyRestoring, DataLoss: dur(lagWAL), DataLossKnown: walKnown},
			{Name: "uploads", Standby: "uploads", Wave: "apps", State: planner.StandbyCaughtUp, DataLoss: dur(4 * time.Minute), DataLossKnown: true},
		},
	}
}

// failingOver is the plan report of payments with failover on and status fs.
func failingOver(fs *planner.FailoverReport) planner.PlanReport {
	return planner.PlanReport{Name: "payments", Primary: "east", Secondary: "west", Failover: true, RPO: dur(30 * time.Minute), FailoverStatus: fs}
}

// runningFailover is payments failing over, stopped at the second wave's gate.
func runningFailover(stalled bool) planner.PlanReport {
	start := now.Add(-6*time.Minute - 12*time.Second)
	fs := &planner.FailoverReport{
		Phase: planner.FailoverRunning, Planned: true, Revision: sha3, StartedAt: start,
		Waiting: "Deployment prod/api: 1 of 4 replicas ready",
		Steps: []planner.FailoverStepReport{
			{Name: planner.StepFinalBackup, State: planner.StepDone, StartedAt: start, FinishedAt: start.Add(41 * time.Second), Note: "backup-8a1 of pg-data, backup-8a2 of pg-wal"},
			{Name: planner.StepCatchUp, State: planner.StepDone, StartedAt: start.Add(41 * time.Second), FinishedAt: start.Add(2*time.Minute + 3*time.Second)},
			{Name: planner.WaveStep("databases"), Wave: "databases", State: planner.StepDone, StartedAt: start.Add(2*time.Minute + 3*time.Second), FinishedAt: start.Add(4*time.Minute + 30*time.Second),
				Volumes: []string{"pg-data", "pg-wal"},
				Gates:   []planner.GateReport{{Kind: "StatefulSet", Namespace: "prod", Name: "postgres", Timeout: dur(10 * time.Minute), Ready: true}}},
			{Name: planner.WaveStep("apps"), Wave: "apps", State: planner.StepRunning, StartedAt: start.Add(4*time.Minute + 30*time.Second),
				Waiting: "Deployment prod/api: 1 of 4 replicas ready",
				Volumes: []string{"uploads"},
				Gates:   []planner.GateReport{{Kind: "Deployment", Namespace: "prod", Name: "api", Timeout: dur(5 * time.Minute), Message: "1 of 4 replicas ready"}}},
			{Name: planner.WaveStep("edge"), Wave: "edge", State: planner.StepPending, Volumes: []string{"cache"},
				Gates: []planner.GateReport{{Kind: "Service", Namespace: "prod", Name: "edge", Timeout: dur(2 * time.Minute)}}},
		},
		Volumes: []planner.FailoverVolumeReport{
			{Name: "pg-data", Active: true, DataLossKnown: true},
			{Name: "pg-wal", Active: true, DataLossKnown: true},
			{Name: "uploads", Active: true, DataLoss: dur(3 * time.Minute), DataLossKnown: true},
			{Name: "cache"},
		},
		Timeline: []planner.TimelineEntry{
			{At: start, Event: "failover started: planned switchover (primary east reachable), revision c0ffee00d1e2"},
			{At: start, Event: "final-backup started"},
			{At: start.Add(41 * time.Second), Event: "final-backup done in 41s"},
			{At: start.Add(41 * time.Second), Event: "catch-up started"},
			{At: start.Add(2*time.Minute + 3*time.Second), Event: "catch-up done in 1m22s"},
			{At: start.Add(2*time.Minute + 3*time.Second), Event: "wave/databases started"},
			{At: start.Add(4*time.Minute + 30*time.Second), Event: "wave/databases done in 2m27s"},
			{At: start.Add(4*time.Minute + 30*time.Second), Event: "wave/apps started"},
		},
	}
	if stalled {
		fs.Phase = planner.FailoverStalled
		fs.Steps[3].State = planner.StepStalled
		fs.Steps[3].Waiting = "gate Deployment prod/api not ready after 5m: 1 of 4 replicas ready"
		fs.Steps[3].Gates[0].TimedOut = true
		fs.Waiting = fs.Steps[3].Waiting
		fs.Notes = []string{"wave apps stalled: fix the workload or change the plan; the failover resumes when the gate turns ready"}
	}
	return failingOver(fs)
}

// completeFailover is an unplanned failover of payments, done.
func completeFailover() planner.PlanReport {
	p := runningFailover(false)
	fs := p.FailoverStatus
	start := fs.StartedAt
	fs.Phase, fs.Planned, fs.Waiting = planner.FailoverComplete, false, ""
	fs.Steps = fs.Steps[1:] // no final backup: the primary was unreachable
	fs.Steps[0].Note = "pg-wal did not catch up in 10m: activated with what it restored"
	fs.Steps[0].StartedAt = start
	for i := range fs.Steps {
		fs.Steps[i].State = planner.StepDone
	}
	fs.Steps[2].FinishedAt = start.Add(5*time.Minute + 50*time.Second)
	fs.Steps[2].Waiting = ""
	fs.Steps[2].Gates[0].Ready = true
	fs.Steps[3].StartedAt, fs.Steps[3].FinishedAt = start.Add(5*time.Minute+50*time.Second), start.Add(7*time.Minute+12*time.Second)
	fs.Steps[3].Gates[0].Ready = true
	fs.Volumes = []planner.FailoverVolumeReport{
		{Name: "pg-data", Active: true, DataLoss: dur(7*time.Minute + 40*time.Second), DataLossKnown: true},
		{Name: "pg-wal", Active: true, DataLoss: dur(11 * time.Minute), DataLossKnown: true},
		{Name: "uploads", Active: true, DataLoss: dur(3 * time.Minute), DataLossKnown: true},
		{Name: "cache", Active: true, DataLoss: dur(2 * time.Minute), DataLossKnown: true},
	}
	fs.FinishedAt = start.Add(7*time.Minute + 12*time.Second)
	fs.Notes = []string{"primary east unreachable: its RecurringJob drplan-payments was not removed; fence east before it comes back"}
	fs.Timeline = []planner.TimelineEntry{
		{At: start, Event: "failover started: unplanned failover (primary east unreachable), revision c0ffee00d1e2"},
		{At: start, Event: "catch-up started"},
		{At: start.Add(2*time.Minute + 3*time.Second), Event: "catch-up done in 2m3s: pg-wal did not catch up in 10m: activated with what it restored"},
		{At: start.Add(2*time.Minute + 3*time.Second), Event: "wave/databases started"},
		{At: start.Add(4*time.Minute + 30*time.Second), Event: "wave/databases done in 2m27s"},
		{At: start.Add(4*time.Minute + 30*time.Second), Event: "wave/apps started"},
		{At: start.Add(5*time.Minute + 50*time.Second), Event: "wave/apps done in 1m20s"},
		{At: start.Add(5*time.Minute + 50*time.Second), Event: "wave/edge started"},
		{At: start.Add(7*time.Minute + 12*time.Second), Event: "wave/edge done in 1m22s"},
		{At: start.Add(7*time.Minute + 12*time.Second), Event: "failover complete: RTO 7m12s"},
	}
	return p
}

var errConflict = errors.New(`apply RecurringJob longhorn-system/drplan-orders in cluster east: Operation cannot be fulfilled: the object has been modified`)

// drilled is "payments" after drill q4 succeeded: prepare, then two waves in 2m30s.
func drilled() planner.PlanReport {
	start := now.Add(-10 * time.Minute)
	p := planner.PlanReport{Name: "payments", Primary: "east", Secondary: "west", Lifecycle: planner.LifecycleDrilling}
	p.Drill = &planner.DrillReport{ID: "q4", Namespace: "drill-q4", Phase: planner.DrillSucceeded, Revision: sha3,
		StartedAt: start, FinishedAt: start.Add(5 * time.Minute), KeepUntil: start.Add(70 * time.Minute),
		RTO: dur(2*time.Minute + 30*time.Second), DataLoss: dur(12 * time.Minute), DataLossKnown: true,
		Steps: []planner.FailoverStepReport{
			{Name: planner.StepPrepare, State: planner.StepDone, Duration: dur(150 * time.Second), Note: "2 drill copies restored"},
			{Name: planner.WaveStep("databases"), Wave: "databases", State: planner.StepDone, Duration: dur(100 * time.Second)},
			{Name: planner.WaveStep("apps"), Wave: "apps", State: planner.StepDone, Duration: dur(50 * time.Second)},
		},
		Volumes: []planner.FailoverVolumeReport{
			{Name: "pg-data", Standby: "pg-data-drill", Restored: "backup-1a2b", DataLoss: dur(12 * time.Minute), DataLossKnown: true},
			{Name: "uploads", Standby: "uploads-drill", Restored: "backup-3c4d", DataLoss: dur(4 * time.Minute), DataLossKnown: true},
		},
		Notes: []string{"1 cluster-scoped objects of the waves' manifests are not applied in a drill (they would change cluster west for everyone)"},
	}
	return p
}
