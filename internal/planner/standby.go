package planner

import (
	"fmt"
	"net/url"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// secondary wants one standby volume per source volume, created from the newest backup the
// secondary knows, and cuts Longhorn's poll lag with sync requests. It returns what it waits for.
func (d *decider) secondary(p *plans.Plan, prim, sec *observed.State) []string {
	var waiting []string
	target := p.Spec.BackupTarget
	for _, v := range p.Spec.Volumes {
		bv, err := sec.BackupVolumeOf(target, v.Name)
		if err != nil {
			waiting = append(waiting, err.Error())
			continue
		}
		var primNewest *longhorn.Backup
		if prim.Observed() {
			primNewest = prim.NewestCompletedBackup(v.Name)
		}
		standby := sec.Volume(v.StandbyName)

		// The secondary has not seen the primary's newest backup: ask it to read the store now.
		// Backups keep their name in every cluster; times have one-second precision, so compare names.
		if primNewest != nil && sec.Backup(primNewest.Name) == nil {
			if bv == nil {
				d.requestSync(p, sec, SyncBackupTarget, target,
					fmt.Sprintf("backup %s of volume %s is not in cluster %s yet", primNewest.Name, v.Name, sec.Name))
			} else {
				d.requestSync(p, sec, SyncBackupVolume, bv.Name,
					fmt.Sprintf("cluster %s has backup %s of volume %s, cluster %s has %s", prim.Name, primNewest.Name, v.Name, sec.Name, orNone(sec.NewestCompletedBackup(v.Name))))
			}
		}

		if standby != nil {
			continue // Longhorn follows new backups by itself; the spec is never re-applied.
		}
		// Only a volume without standby needs the secondary's newest backup: in steady state the
		// secondary's backups are never grouped by volume.
		switch secNewest := sec.NewestCompletedBackup(v.Name); {
		case secNewest != nil && bv != nil:
			d.add(&CreateStandbyVolume{Target: Target{sec.Name, p.Name()}, Volume: desiredStandby(p, v, secNewest, d.in.Namespace, d.in.Owner), Backup: secNewest.Name})
		case primNewest == nil && secNewest == nil:
			waiting = append(waiting, fmt.Sprintf("volume %s has no completed backup yet", v.Name))
		default:
			waiting = append(waiting, fmt.Sprintf("standby volume %s waits for its backup to appear in cluster %s", v.StandbyName, sec.Name))
		}
	}
	return waiting
}

// requestSync asks for a sync unless one was requested within SyncInterval and is not answered,
// or this pass asked already. The rate limit reads spec.syncRequestedAt from the cluster.
func (d *decider) requestSync(p *plans.Plan, sec *observed.State, kind SyncKind, name, reason string) {
	key := sec.Name + "/" + string(kind) + "/" + name
	if d.synced[key] {
		return
	}
	var requested, synced *time.Time
	switch kind {
	case SyncBackupTarget:
		if t := sec.BackupTarget(name); t != nil {
			requested, synced = metaTime(t.Spec.SyncRequestedAt), metaTime(t.Status.LastSyncedAt)
		} else {
			return
		}
	case SyncBackupVolume:
		if bv := sec.BackupVolume(name); bv != nil {
			requested, synced = metaTime(bv.Spec.SyncRequestedAt), metaTime(bv.Status.LastSyncedAt)
		}
	}
	if !syncAllowed(requested, synced, d.in.Now, d.in.SyncInterval) {
		return
	}
	d.synced[key] = true
	d.add(&RequestSync{Target: Target{sec.Name, p.Name()}, Kind: kind, Namespace: d.in.Namespace, Name: name, At: d.in.Now, Reason: reason})
}

// syncAllowed rate-limits sync requests. A request Longhorn has not answered yet is repeated
// only after interval (it may have been missed); once answered, a new one may follow after
// MinSyncGap, so a new backup is fetched at once but a store that lags cannot make a hot loop.
func syncAllowed(requested, synced *time.Time, now time.Time, interval time.Duration) bool {
	if requested == nil {
		return true
	}
	age := now.Sub(*requested)
	answered := synced != nil && !synced.Before(*requested)
	if answered {
		return age >= MinSyncGap
	}
	return age >= interval
}

// desiredStandby is the standby volume for one plan volume, restoring from backup.
func desiredStandby(p *plans.Plan, v plans.Volume, backup *longhorn.Backup, ns, owner string) *longhorn.Volume {
	vol := &longhorn.Volume{}
	vol.APIVersion = longhorn.SchemeGroupVersion.String()
	vol.Kind = "Volume"
	vol.Name, vol.Namespace = v.StandbyName, ns
	vol.Labels = ownedLabels(owner, map[string]string{LabelPlan: p.Name(), LabelSourceVolume: v.Name})
	size, _ := backup.VolumeSizeBytes()
	vol.Spec = longhorn.VolumeSpec{
		Size:             size,
		FromBackup:       backup.Status.URL,
		Standby:          true,
		BackupTargetName: p.Spec.BackupTarget,
		NumberOfReplicas: v.Replicas,
		DataEngine:       longhorn.DataEngineV1,
	}
	return vol
}

// volumeReports says where each volume of the plan stands.
func (d *decider) volumeReports(p *plans.Plan, prim, sec *observed.State) []VolumeReport {
	out := make([]VolumeReport, 0, len(p.Spec.Volumes))
	for _, v := range p.Spec.Volumes {
		out = append(out, d.volumeReport(p, v, prim, sec))
	}
	return out
}

func (d *decider) volumeReport(p *plans.Plan, v plans.Volume, prim, sec *observed.State) VolumeReport {
	r := VolumeReport{Name: v.Name, Standby: v.StandbyName, Wave: v.Wave, State: StandbyUnknown}
	var newest *longhorn.Backup
	if prim.Observed() {
		newest = prim.NewestCompletedBackup(v.Name)
	}
	if newest == nil && sec.Observed() {
		newest = sec.NewestCompletedBackup(v.Name)
	}
	if newest != nil {
		r.LastBackup, r.LastBackupAt = newest.Name, newest.Status.SnapshotCreatedAt.UTC()
		r.LastBackupConsistency = BackupConsistency(newest)
		r.BackupAge = metav1.Duration{Duration: d.in.Now.Sub(r.LastBackupAt)}
	}
	if !sec.Observed() {
		r.Reason = fmt.Sprintf("cluster %s not observed", p.Spec.Secondary)
		return r
	}
	vol := sec.Volume(v.StandbyName)
	if vol == nil {
		r.State, r.Reason = StandbyMissing, "not created yet"
		return r
	}
	if vol.Labels[LabelPlan] != p.Name() || !owned(d.in.Owner, vol.Labels) {
		r.State = StandbyConflict
		r.Reason = fmt.Sprintf("volume %s in cluster %s was not created by this plan of this plans repo; drplan does not touch it", vol.Name, sec.Name)
		return r
	}
	engine := sec.ActiveEngine(vol.Name)
	if engine != nil && engine.Status.LastRestoredBackup != "" {
		r.Restored = engine.Status.LastRestoredBackup
		if b := sec.Backup(r.Restored); b != nil {
			r.RestoredAt = b.Status.SnapshotCreatedAt.UTC()
			r.RestoredConsistency = BackupConsistency(b)
			r.Lag, r.LagKnown = metav1.Duration{Duration: d.in.Now.Sub(r.RestoredAt)}, true
		}
	}
	bv, _ := sec.BackupVolumeOf(p.Spec.BackupTarget, v.Name)
	view := longhorn.DRView{Volume: vol, Engine: engine, BackupVolume: bv}
	if bv != nil {
		view.LatestBackup = sec.Backup(bv.Status.LastBackupName)
	}
	primNewest := ""
	if prim.Observed() && newest != nil {
		primNewest = newest.Name
	}
	switch {
	case !vol.Spec.Standby && !vol.Status.IsStandby:
		r.State = StandbyActive
	case vol.Status.Robustness == longhorn.VolumeRobustnessFaulted:
		r.State, r.Reason = StandbyFaulted, faultedReason(p, v, sec.Name)
	case restoreFailed(vol):
		r.State, r.Reason = StandbyFailed, restoreFailure(vol)
	default:
		if ok, why := longhorn.StandbyCaughtUp(view, primNewest); ok {
			r.State = StandbyCaughtUp
		} else {
			r.State, r.Reason = StandbyRestoring, why
		}
	}
	if r.State != StandbyActive {
		rpo := p.Spec.RPO.Duration
		r.RPOBreach = (r.LagKnown && r.Lag.Duration > rpo) || (!r.LagKnown && newest != nil && r.BackupAge.Duration > rpo)
	}
	return r
}

// BackupConsistency is what a backup captured, from the labels it was taken with (spec.labels in
// the cluster that took it, status.labels as Longhorn read them back from the store).
func BackupConsistency(b *longhorn.Backup) plans.Consistency {
	if b.Spec.Labels[LabelConsistency] == string(plans.ApplicationConsistent) || b.Status.Labels[LabelConsistency] == string(plans.ApplicationConsistent) {
		return plans.ApplicationConsistent
	}
	return plans.CrashConsistent
}

// faultedReason says why a faulted standby needs a person, and what to do: longhorn-manager
// fails a replica on a restore error and never salvages a standby (REFERENCE §10.1).
func faultedReason(p *plans.Plan, v plans.Volume, cluster string) string {
	return fmt.Sprintf("standby volume %s in cluster %s is faulted: every replica failed while restoring (the backup it restored was pruned, the store was unreachable, "+
		"or it could not grow to a larger backup) and Longhorn never repairs a standby; it cannot be activated. Replace it: set spec.volumes[%d].standbyName to a new name, "+
		"and drplan creates a new standby from the newest backup and keeps this one, labelled orphaned", v.StandbyName, cluster, volumeIndex(p, v.Name))
}

func volumeIndex(p *plans.Plan, name string) int {
	for i, v := range p.Spec.Volumes {
		if v.Name == name {
			return i
		}
	}
	return -1
}

func restoreFailed(v *longhorn.Volume) bool {
	c := longhorn.FindCondition(v.Status.Conditions, longhorn.VolumeConditionTypeRestore)
	return c != nil && c.Reason == longhorn.VolumeConditionReasonRestoreFailure
}

func restoreFailure(v *longhorn.Volume) string {
	c := longhorn.FindCondition(v.Status.Conditions, longhorn.VolumeConditionTypeRestore)
	return fmt.Sprintf("restore failed: %s", c.Message)
}

func orNone(b *longhorn.Backup) string {
	if b == nil {
		return "none"
	}
	return b.Name
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
