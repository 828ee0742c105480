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

// paymentsFailover is the failover of payments as a preview would show it, lag now.
func paymentsFailover(lagData, lagWAL time.Duration, walKnown bool) Failover {
	return Failover{
		Plan: "payments", Primary: "east", Secondary: "west", RPO: 30 * time.Minute, Revision: sha2,
		Steps: []Step{
			{Name: "final backup"},
			{Name: "catch-up"},
			{Name: "wave databases", Wave: "databases",
				Volumes: []Volume{{Name: "pg-data", State: "caught-up", Lag: lagData, LagKnown: true}, {Name: "pg-wal", State: "restoring", Lag: lagWAL, LagKnown: walKnown}},
				Gates:   []Gate{{Kind: "StatefulSet", Namespace: "prod", Name: "postgres", Timeout: 10 * time.Minute}},
				Scale:   []string{"StatefulSet prod/postgres to 3"}},
			{Name: "wave apps", Wave: "apps",
				Volumes: []Volume{{Name: "uploads", State: "caught-up", Lag: 4 * time.Minute, LagKnown: true}},
				Gates:   []Gate{{Kind: "Deployment", Namespace: "prod", Name: "api", Timeout: 5 * time.Minute}},
				Scale:   []string{"Deployment prod/api to 4", "Deployment prod/worker to 2"}},
		},
	}
}

// runningFailover is payments failing over, stopped at the second wave's gate.
func runningFailover(stalled bool) Failover {
	start := now.Add(-6*time.Minute - 12*time.Second)
	f := Failover{
		Plan: "payments", Primary: "east", Secondary: "west", RPO: 30 * time.Minute, Revision: sha3,
		Phase: PhaseRunning, Planned: true, StartedAt: start,
		Waiting: "Deployment prod/api: 1 of 4 replicas ready",
		Steps: []Step{
			{Name: "final backup", State: StepDone, StartedAt: start, FinishedAt: start.Add(41 * time.Second), Note: "backup-8a1 of pg-data, backup-8a2 of pg-wal"},
			{Name: "catch-up", State: StepDone, StartedAt: start.Add(41 * time.Second), FinishedAt: start.Add(2*time.Minute + 3*time.Second)},
			{Name: "wave databases", Wave: "databases", State: StepDone, StartedAt: start.Add(2*time.Minute + 3*time.Second), FinishedAt: start.Add(4*time.Minute + 30*time.Second),
				Volumes: []Volume{{Name: "pg-data", Active: true, Lag: 0, LagKnown: true}, {Name: "pg-wal", Active: true, Lag: 0, LagKnown: true}},
				Gates:   []Gate{{Kind: "StatefulSet", Namespace: "prod", Name: "postgres", Timeout: 10 * time.Minute, Ready: true}}},
			{Name: "wave apps", Wave: "apps", State: StepRunning, StartedAt: start.Add(4*time.Minute + 30*time.Second),
				Waiting: "Deployment prod/api: 1 of 4 replicas ready",
				Volumes: []Volume{{Name: "uploads", Active: true, Lag: 3 * time.Minute, LagKnown: true}},
				Gates:   []Gate{{Kind: "Deployment", Namespace: "prod", Name: "api", Timeout: 5 * time.Minute, Message: "1 of 4 replicas ready"}}},
			{Name: "wave edge", Wave: "edge", State: StepPending, Volumes: []Volume{{Name: "cache"}},
				Gates: []Gate{{Kind: "Service", Namespace: "prod", Name: "edge", Timeout: 2 * time.Minute}}},
		},
		Timeline: []Event{
			{start, "failover started: planned switchover (primary east reachable), revision c0ffee00d1e2"},
			{start, "final backup started"},
			{start.Add(41 * time.Second), "final backup done in 41s"},
			{start.Add(41 * time.Second), "catch-up started"},
			{start.Add(2*time.Minute + 3*time.Second), "catch-up done in 1m22s"},
			{start.Add(2*time.Minute + 3*time.Second), "wave databases started"},
			{start.Add(4*time.Minute + 30*time.Second), "wave databases done in 2m27s"},
			{start.Add(4*time.Minute + 30*time.Second), "wave apps started"},
		},
	}
	if stalled {
		f.Phase = PhaseStalled
		f.Steps[3].State = StepStalled
		f.Steps[3].Waiting = "gate Deployment prod/api not ready after 5m: 1 of 4 replicas ready"
		f.Steps[3].Gates[0].TimedOut = true
		f.Waiting = f.Steps[3].Waiting
		f.Notes = []string{"wave apps stalled: fix the workload or change the plan; the failover resumes when the gate turns ready"}
	}
	return f
}

// completeFailover is an unplanned failover of payments, done.
func completeFailover() Failover {
	f := runningFailover(false)
	start := f.StartedAt
	f.Phase, f.Planned, f.Waiting = PhaseComplete, false, ""
	f.Steps = f.Steps[1:] // no final backup: the primary was unreachable
	f.Steps[0].Note = "pg-wal did not catch up in 10m: activated with what it restored"
	f.Steps[0].StartedAt = start
	for i := range f.Steps {
		f.Steps[i].State = StepDone
	}
	f.Steps[0].Volumes = nil
	f.Steps[1].Volumes = []Volume{{Name: "pg-data", Active: true, Lag: 7*time.Minute + 40*time.Second, LagKnown: true}, {Name: "pg-wal", Active: true, Lag: 11 * time.Minute, LagKnown: true}}
	f.Steps[2].FinishedAt = start.Add(5*time.Minute + 50*time.Second)
	f.Steps[2].Waiting = ""
	f.Steps[2].Gates[0].Ready = true
	f.Steps[3].StartedAt, f.Steps[3].FinishedAt = start.Add(5*time.Minute+50*time.Second), start.Add(7*time.Minute+12*time.Second)
	f.Steps[3].Volumes = []Volume{{Name: "cache", Active: true, Lag: 2 * time.Minute, LagKnown: true}}
	f.Steps[3].Gates[0].Ready = true
	f.FinishedAt = start.Add(7*time.Minute + 12*time.Second)
	f.Notes = []string{"primary east unreachable: its RecurringJob drplan-payments was not removed; fence east before it comes back"}
	f.Timeline = []Event{
		{start, "failover started: unplanned failover (primary east unreachable), revision c0ffee00d1e2"},
		{start, "catch-up started"},
		{start.Add(2*time.Minute + 3*time.Second), "catch-up done in 2m3s: pg-wal did not catch up in 10m: activated with what it restored"},
		{start.Add(2*time.Minute + 3*time.Second), "wave databases started"},
		{start.Add(4*time.Minute + 30*time.Second), "wave databases done in 2m27s"},
		{start.Add(4*time.Minute + 30*time.Second), "wave apps started"},
		{start.Add(5*time.Minute + 50*time.Second), "wave apps done in 1m20s"},
		{start.Add(5*time.Minute + 50*time.Second), "wave edge started"},
		{start.Add(7*time.Minute + 12*time.Second), "wave edge done in 1m22s"},
		{start.Add(7*time.Minute + 12*time.Second), "failover complete: RTO 7m12s"},
	}
	return f
}

var errConflict = errors.New(`apply RecurringJob longhorn-system/drplan-orders in cluster east: Operation cannot be fulfilled: the object has been modified`)
