package backups

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/hooks"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/plans"
)

// LabelScheduled is "true" on the Snapshot and Backup CRs of a plan's
// application-consistent schedule: retention prunes only those.
const LabelScheduled = "drplan.io/scheduled"

// DefaultBackupTimeout bounds how long a scheduled run waits for its backups to complete.
const DefaultBackupTimeout = 30 * time.Minute

// Schedule runs application-consistent scheduled backups of plans in their primary.
type Schedule struct {
	// Runner runs hooks in the primary; its Client creates and reads the CRs there.
	Runner *hooks.Runner
	// Namespace is Longhorn's namespace.
	Namespace string
	// Owner is the agent's owner label value.
	Owner string
	// SnapshotTimeout and BackupTimeout bound the waits. Defaults: each wave's
	// backupHooks.snapshotTimeout, and DefaultBackupTimeout.
	SnapshotTimeout, BackupTimeout time.Duration
}

// Run is one scheduled run of a plan.
type Run struct {
	Plan              string
	Started, Finished time.Time
	Waves             []WaveRun
}

// WaveRun is one wave's volumes backed up between the wave's hooks.
type WaveRun struct {
	Wave string
	// Hooks is the hooks' summary; empty for a wave without hooks.
	Hooks string
	// Consistency is application when every pre hook succeeded before the snapshots.
	Consistency plans.Consistency
	// Backups are the Backup CRs created, by volume.
	Backups map[string]string
	// Err says what failed: a hook, a snapshot, a backup.
	Err error
}

// Err joins the errors of the run's waves.
func (r Run) Err() error {
	var errs []error
	for _, w := range r.Waves {
		if w.Err != nil {
			errs = append(errs, fmt.Errorf("wave %s: %w", w.Wave, w.Err))
		}
	}
	return errors.Join(errs...)
}

// Run takes one scheduled backup of every volume of p, wave by wave in the plan's order: the
// wave's pre hooks, its volumes' snapshots together, its post hooks, then a Backup CR of each
// snapshot taken. It then waits for the backups and prunes the schedule's backups beyond
// spec.schedule.retain, and its snapshots but the newest, of each volume. at names the run.
func (s *Schedule) Run(ctx context.Context, p *plans.Plan, at time.Time) Run {
	run := Run{Plan: p.Name(), Started: time.Now()}
	var created []*longhorn.Backup
	for _, w := range p.Spec.Waves {
		var snaps []*longhorn.Snapshot
		for _, v := range p.Spec.Volumes {
			if v.Wave == w.Name {
				snaps = append(snaps, s.snapshot(p, v.Name, at))
			}
		}
		if len(snaps) == 0 {
			continue
		}
		wr := WaveRun{Wave: w.Name, Consistency: plans.CrashConsistent, Backups: map[string]string{}}
		out := Hooked(ctx, s.Runner, hooksOrNil(w.BackupHooks), snaps, or(s.SnapshotTimeout, SnapshotTimeout(w.BackupHooks)))
		if w.BackupHooks != nil {
			wr.Hooks = out.Summary()
		}
		if out.Consistent {
			wr.Consistency = plans.ApplicationConsistent
		}
		wr.Err = out.Err()
		if out.Taken {
			for _, snap := range snaps {
				b := s.backup(p, snap, wr.Consistency)
				if err := s.Runner.Client.Create(ctx, b, client.FieldOwner(FieldManager)); err != nil && !apierrors.IsAlreadyExists(err) {
					wr.Err = errors.Join(wr.Err, fmt.Errorf("create Backup %s of volume %s: %w", b.Name, snap.Spec.Volume, err))
					continue
				}
				wr.Backups[snap.Spec.Volume] = b.Name
				created = append(created, b)
			}
		}
		run.Waves = append(run.Waves, wr)
	}
	if err := s.wait(ctx, created); err != nil {
		run.Waves = append(run.Waves, WaveRun{Wave: "(all)", Err: err})
	}
	for _, v := range p.Spec.Volumes {
		if err := s.prune(ctx, p, v.Name); err != nil {
			run.Waves = append(run.Waves, WaveRun{Wave: v.Wave, Err: err})
		}
	}
	run.Finished = time.Now()
	return run
}

func hooksOrNil(h *plans.BackupHooks) *plans.BackupHooks {
	if h == nil || len(h.Pre)+len(h.Post) == 0 {
		return nil
	}
	return h
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ScheduledName is the name of a scheduled run's Snapshot CR (prefix drplan-) or Backup CR
// (prefix backup-, as Longhorn's backup names are) of a volume: derived from the plan, the
// volume and the run's time, so that a run repeated after a crash makes no second one.
func ScheduledName(prefix, plan, volume string, at time.Time) string {
	sum := sha256.Sum256([]byte("drplan-scheduled\x00" + prefix + "\x00" + plan + "\x00" + volume + "\x00" + strconv.FormatInt(at.Unix(), 10)))
	return prefix + hex.EncodeToString(sum[:])[:16]
}

func (s *Schedule) labels(p *plans.Plan, volume string) map[string]string {
	return map[string]string{planner.LabelManagedBy: planner.ManagedByValue, planner.LabelOwner: s.Owner,
		planner.LabelPlan: p.Name(), planner.LabelSourceVolume: volume, LabelScheduled: "true"}
}

func (s *Schedule) snapshot(p *plans.Plan, volume string, at time.Time) *longhorn.Snapshot {
	snap := &longhorn.Snapshot{}
	snap.APIVersion, snap.Kind = longhorn.SchemeGroupVersion.String(), "Snapshot"
	snap.Name, snap.Namespace = ScheduledName("drplan-", p.Name(), volume, at), s.Namespace
	snap.Labels = s.labels(p, volume)
	snap.Spec = longhorn.SnapshotSpec{Volume: volume, CreateSnapshot: true, Labels: map[string]string{planner.LabelPlan: p.Name()}}
	return snap
}

func (s *Schedule) backup(p *plans.Plan, snap *longhorn.Snapshot, c plans.Consistency) *longhorn.Backup {
	b := &longhorn.Backup{}
	b.APIVersion, b.Kind = longhorn.SchemeGroupVersion.String(), "Backup"
	b.Name, b.Namespace = longhorn.BackupNamePrefix+snap.Name[len("drplan-"):], s.Namespace
	b.Labels = s.labels(p, snap.Spec.Volume)
	for k, v := range longhorn.BackupVolumeLabels(p.Spec.BackupTarget, snap.Spec.Volume) {
		b.Labels[k] = v
	}
	b.Spec = longhorn.BackupSpec{
		SnapshotName: snap.Name,
		Labels:       map[string]string{planner.LabelPlan: p.Name(), planner.LabelConsistency: string(c)},
		BackupMode:   longhorn.BackupModeIncremental,
	}
	return b
}

// wait waits until every backup completed or failed, at most BackupTimeout.
func (s *Schedule) wait(ctx context.Context, backups []*longhorn.Backup) error {
	ctx, cancel := context.WithTimeout(ctx, or(s.BackupTimeout, DefaultBackupTimeout))
	defer cancel()
	var failed []error
	for _, b := range backups {
		for {
			var got longhorn.Backup
			err := s.Runner.Client.Get(ctx, client.ObjectKeyFromObject(b), &got)
			if err == nil && got.Status.State == longhorn.BackupStateCompleted {
				break
			}
			if err == nil && got.Status.State == longhorn.BackupStateError {
				failed = append(failed, fmt.Errorf("backup %s of volume %s failed: %s", b.Name, b.Labels[planner.LabelSourceVolume], got.Status.Error))
				break
			}
			select {
			case <-ctx.Done():
				return errors.Join(append(failed, fmt.Errorf("backup %s not completed: %w", b.Name, ctx.Err()))...)
			case <-time.After(time.Second):
			}
		}
	}
	return errors.Join(failed...)
}

// prune deletes the schedule's backups of a volume beyond retain (the oldest first; a Backup CR
// deleted deletes its backup from the store) and its snapshots but the newest.
func (s *Schedule) prune(ctx context.Context, p *plans.Plan, volume string) error {
	sel := client.MatchingLabels{planner.LabelPlan: p.Name(), planner.LabelSourceVolume: volume, LabelScheduled: "true", planner.LabelOwner: s.Owner}
	var bl longhorn.BackupList
	if err := s.Runner.Client.List(ctx, &bl, client.InNamespace(s.Namespace), sel); err != nil {
		return fmt.Errorf("list scheduled backups of volume %s: %w", volume, err)
	}
	var errs []error
	for _, b := range oldest(bl.Items, p.Spec.Schedule.Retain, func(b longhorn.Backup) time.Time { return b.CreationTimestamp.Time }) {
		errs = append(errs, client.IgnoreNotFound(s.Runner.Client.Delete(ctx, &b)))
	}
	var sl longhorn.SnapshotList
	if err := s.Runner.Client.List(ctx, &sl, client.InNamespace(s.Namespace), sel); err != nil {
		return errors.Join(append(errs, fmt.Errorf("list scheduled snapshots of volume %s: %w", volume, err))...)
	}
	for _, snap := range oldest(sl.Items, 1, func(s longhorn.Snapshot) time.Time { return s.CreationTimestamp.Time }) {
		errs = append(errs, client.IgnoreNotFound(s.Runner.Client.Delete(ctx, &snap)))
	}
	return errors.Join(errs...)
}

// oldest returns the items beyond the keep newest ones.
func oldest[T any](items []T, keep int, at func(T) time.Time) []T {
	slices.SortStableFunc(items, func(a, b T) int { return at(b).Compare(at(a)) })
	if len(items) <= keep {
		return nil
	}
	return items[keep:]
}
