package planner

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// TestFailoverFinalBackupGolden covers the final backup: fencing and scaling down the primary,
// the final snapshots and backups, and the sync that brings them into the secondary.
func TestFailoverFinalBackupGolden(t *testing.T) {
	f := newFailoverWorld()
	runFailoverCases(t, []failoverCase{
		{
			name: "failover-final-backup-fences-and-scales-down",
			east: f.east(), west: f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.DeleteRecurringJob", "*planner.PatchVolumeLabels", "*planner.PatchVolumeLabels",
					"*planner.WriteFailoverRecord", "*planner.ScaleWorkload", "*planner.ScaleWorkload"))
			},
		},
		{
			name: "failover-final-backup-waits-for-detach",
			east: func() *observed.State {
				r := f.planned(step(StepFinalBackup, 3*time.Minute, -1))
				s := f.fencedEast(r)
				s.Volumes[0].Status.State = longhorn.VolumeStateAttached
				return s
			}(),
			west:   f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-final-backup-takes-snapshots",
			east: f.fencedEast(f.planned(step(StepFinalBackup, 3*time.Minute, -1))),
			west: f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
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
			name: "failover-final-backup-hooks-wrap-a-wave",
			plan: failoverPlan(func(d *plans.DRPlan) {
				d.Spec.Waves[0].BackupHooks = &plans.BackupHooks{Pre: []plans.Hook{{Name: "checkpoint", OnError: plans.HookFail,
					Exec: &plans.ExecHook{Namespace: "prod", Selector: map[string]string{"app": "pg"}, Command: []string{"psql", "-c", "CHECKPOINT"}}}}}
			}),
			east: f.fencedEast(f.planned(step(StepFinalBackup, 3*time.Minute, -1))),
			west: f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.CreateSnapshot", "*planner.TakeSnapshots"))
				for _, a := range res.Actions {
					switch a := a.(type) {
					case *CreateSnapshot:
						g.Expect(a.Snapshot.Spec.Volume).To(Equal("pg-wal"), "the apps wave has no hooks")
					case *TakeSnapshots:
						g.Expect(a.Wave).To(Equal("db"))
						g.Expect(a.Hooks.Pre[0].Name).To(Equal("checkpoint"))
						g.Expect(a.Snapshots).To(HaveLen(1))
						g.Expect(a.Snapshots[0].Name).To(Equal(FinalSnapshotName("payments", "pg-data", rev)))
					}
				}
			},
		},
		{
			name: "failover-final-backup-hooks-failed-wait",
			plan: failoverPlan(func(d *plans.DRPlan) {
				d.Spec.Waves[0].BackupHooks = &plans.BackupHooks{Pre: []plans.Hook{{Name: "checkpoint", OnError: plans.HookFail,
					Exec: &plans.ExecHook{Namespace: "prod", Selector: map[string]string{"app": "pg"}, Command: []string{"false"}}}}}
			}),
			hookFailures: map[string]HookFailure{"east/payments/db/" + FinalSnapshotName("payments", "pg-data", rev): {
				At: now.Add(-10 * time.Second), RetryAt: now.Add(20 * time.Second), Message: "wave db: pre checkpoint failed: exit code 1; no snapshot taken"}},
			east: f.fencedEast(f.planned(step(StepFinalBackup, 3*time.Minute, -1))),
			west: f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.CreateSnapshot"), "the apps wave's snapshot only: the hooked one waits for its retry")
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(HavePrefix("wave db's final snapshots between its hooks failed at "))
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("pre checkpoint failed: exit code 1; no snapshot taken"))
				g.Expect(res.RequeueAfter).To(Equal(20 * time.Second))
			},
		},
		{
			name: "failover-final-backup-says-application-consistent",
			east: func() *observed.State {
				snap := finalSnapshot("pg-data", true, "")
				snap.Annotations = map[string]string{LabelConsistency: "application"}
				return f.fencedEast(f.planned(step(StepFinalBackup, 3*time.Minute, -1)), snap, finalSnapshot("pg-wal", true, ""))
			}(),
			west: f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.CreateBackup", "*planner.CreateBackup"))
				for _, a := range res.Actions {
					b := a.(*CreateBackup).Backup
					want := "crash"
					if b.Spec.SnapshotName == FinalSnapshotName("payments", "pg-data", rev) {
						want = "application"
					}
					g.Expect(b.Spec.Labels).To(HaveKeyWithValue(LabelConsistency, want))
				}
			},
		},
		{
			// Longhorn attaches a volume to take its snapshot: that is no reason to wait.
			name: "failover-final-backup-waits-for-snapshots",
			east: func() *observed.State {
				s := f.fencedEast(f.planned(step(StepFinalBackup, 3*time.Minute, -1)), finalSnapshot("pg-data", false, ""), finalSnapshot("pg-wal", false, ""))
				s.Volumes[0].Status.State = longhorn.VolumeStateAttached
				return s
			}(),
			west: f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("is being taken in cluster east"))
			},
		},
		{
			name: "failover-final-backup-backs-up-ready-snapshots",
			east: f.fencedEast(f.planned(step(StepFinalBackup, 3*time.Minute, -1)), finalSnapshot("pg-data", true, ""), finalSnapshot("pg-wal", false, "")),
			west: f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
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
			east: f.fencedEast(f.planned(step(StepFinalBackup, 3*time.Minute, -1)), finalSnapshot("pg-data", true, ""), finalSnapshot("pg-wal", false, "engine is not running")),
			west: f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.CreateBackup"), "pg-data goes on")
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(HavePrefix("final snapshot " + FinalSnapshotName("payments", "pg-wal", rev) +
					" of volume pg-wal failed: engine is not running (delete that Snapshot CR in cluster east to take it again)"))
			},
		},
		{
			name: "failover-final-backup-snapshot-waits-for-attachment",
			east: f.fencedEast(f.planned(step(StepFinalBackup, 3*time.Minute, -1)), finalSnapshot("pg-data", true, ""),
				finalSnapshot("pg-wal", false, "failed to get engine for snapshot: engine not running. Waiting for the volume to be attached")),
			west: f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.CreateBackup"), "pg-data goes on")
				w := res.Report.Plans[0].FailoverStatus.Waiting
				g.Expect(w).To(ContainSubstring("final snapshot " + FinalSnapshotName("payments", "pg-wal", rev) + " of volume pg-wal waits for Longhorn to attach the detached volume"))
				g.Expect(w).NotTo(ContainSubstring("failed"), "Longhorn's transient wait is no failure")
			},
		},
		{
			name: "failover-final-backup-in-secondary-requests-sync",
			// pg-data's final backup completed in this very second.
			east: f.fencedEast(f.planned(step(StepFinalBackup, 3*time.Minute, -1)), func() longhorn.Backup {
				b := f.finalData
				b.Status.BackupCreatedAt = longhorn.NewTimestamp(now.Add(300 * time.Millisecond))
				return b
			}(), func() longhorn.Backup {
				b := f.finalWal
				b.Status.State = longhorn.BackupStateInProgress
				return b
			}()),
			// West's backup volume of pg-data synced a second before: ask it to read the store again.
			west: f.west(append(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1)))),
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
			east: f.fencedEast(f.planned(step(StepFinalBackup, 3*time.Minute, -1)), func() longhorn.Backup {
				b := f.finalData
				b.Status.BackupCreatedAt = longhorn.NewTimestamp(now.Add(100 * time.Millisecond))
				return b
			}(), f.finalWal),
			// West's backup volume of pg-data synced in this very second, before the backup was
			// there: a request stamped in this second would be ignored, so it waits for the next.
			west: f.west(append(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))), f.finalWal),
				syncedAt(backupVolume("pg-data", "backup-b2", nil), now))...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.RequeueAfter).To(Equal(600 * time.Millisecond))
			},
		},
		{
			name: "failover-final-backup-done",
			east: f.fencedEast(f.planned(step(StepFinalBackup, 3*time.Minute, -1)), f.finalData, f.finalWal),
			west: f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))), f.finalData, f.finalWal)...),
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
			west: f.west(f.withStandbys(recordCM(rec(true, 11*time.Minute, step(StepFinalBackup, 11*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				g.Expect(res.Actions[0].(*WriteFailoverRecord).Record.Steps[0].Note).To(ContainSubstring("given up"))
			},
		},
	})
}

// TestFailoverCatchUpGolden covers catch-up: the standby volumes restoring the final backups, and
// the data lost when they cannot.
func TestFailoverCatchUpGolden(t *testing.T) {
	f := newFailoverWorld()
	runFailoverCases(t, []failoverCase{
		{
			name: "failover-catch-up-requests-sync",
			east: f.fencedEast(f.planned(f.finalDone, f.catchUp), f.finalData, f.finalWal),
			west: f.west(f.withStandbys(recordCM(f.planned(f.finalDone, f.catchUp)), f.finalData, f.finalWal)...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.RequestSync", "*planner.RequestSync"))
			},
		},
		{
			name: "failover-catch-up-restoring",
			east: f.fencedEast(f.planned(f.finalDone, f.catchUp), f.finalData, f.finalWal),
			west: f.west(f.withStandbys(recordCM(f.planned(f.finalDone, f.catchUp)), f.finalData, f.finalWal,
				syncedAt(backupVolume("pg-data", f.finalData.Name, nil), now.Add(-55*time.Second)),
				syncedAt(backupVolume("pg-wal", f.finalWal.Name, nil), now.Add(-55*time.Second)))...),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-catch-up-done-zero-loss",
			east: f.fencedEast(f.planned(f.finalDone, f.catchUp), f.finalData, f.finalWal),
			west: f.caughtUpWest(recordCM(f.planned(f.finalDone, f.catchUp)), f.fData, f.fWal),
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
			name: "failover-catch-up-adopts-active-volume",
			east: f.fencedEast(f.planned(f.finalDone, f.catchUp), f.finalData, f.finalWal),
			west: f.caughtUpWest(recordCM(f.planned(f.finalDone, f.catchUp)), activated(f.pgData, true), f.fWal),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(Equal([]string{"*planner.WriteFailoverRecord"}), "a volume activated by hand is caught up as it is")
				g.Expect(res.Actions[0].(*WriteFailoverRecord).Record.Volumes).To(HaveLen(2), "its data-loss window is recorded like the others'")
			},
		},
		{
			name: "failover-catch-up-timeout-goes-on",
			east: unreachable("east"),
			west: func() *observed.State {
				r := rec(false, 11*time.Minute, step(StepFinalBackup, 11*time.Minute, 11*time.Minute), step(StepCatchUp, 11*time.Minute, -1))
				lagging, laggingEngine := standby("pg-data", "pg-data", "backup-b3", "backup-b2")
				return f.west(recordCM(r), lagging, laggingEngine, f.pgWal, f.pgWalEngine, backup("backup-b3", "pg-data", time.Minute),
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
	})
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
