package planner

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/plans"
)

// catchUpDeadline is when the steps before activation stop waiting: the record's startedAt
// plus the plan's catch-up timeout.
func (f *failoverRun) catchUpDeadline() time.Time {
	return f.rec.StartedAt.Add(f.p.Spec.Activation.CatchUpTimeout.Duration)
}

// FinalBackupAttachAllowance is added to the catch-up timeout for the final backup: Longhorn
// takes a snapshot and a backup of a detached volume only after attaching it (one attach and
// detach cycle for each, REFERENCE §10.9), and the volumes were just detached.
const FinalBackupAttachAllowance = time.Minute

// finalBackup is the planned switchover's first step: the plan's workloads on the primary
// scaled to zero, the source volumes detached, one final backup of each, and each seen in the
// secondary. Zero data loss. Waiting is bounded by the catch-up deadline: after it the step
// ends with what it has, and says so.
func (f *failoverRun) finalBackup() stepResult {
	deadline := f.catchUpDeadline().Add(FinalBackupAttachAllowance)
	late := !f.now.Before(deadline)
	wait := func(why string) stepResult {
		if late {
			return stepResult{done: true, warning: true, note: why + "; final backup given up at the catch-up timeout"}
		}
		return stepResult{waiting: fmt.Sprintf("%s (the final backup waits until %s)", why, deadline.UTC().Format(time.RFC3339))}
	}
	prim := f.prim
	if !prim.Observed() {
		return wait(fmt.Sprintf("primary %s does not answer%s", f.p.Spec.Primary, downSince(prim)))
	}
	if scaling := f.scaleDownPrimary(); len(scaling) > 0 {
		return wait(fmt.Sprintf("scaling the plan's workloads in cluster %s to 0: %s", prim.Name, joinFirst(scaling, 3)))
	}
	var attached, missing []string
	for _, v := range f.p.Spec.Volumes {
		vol := prim.Volume(v.Name)
		switch {
		case vol == nil:
			missing = append(missing, v.Name)
		case prim.Snapshot(FinalSnapshotName(f.p.Name(), v.Name, f.rec.Revision)) != nil:
			// Snapshot taken or under way: Longhorn attaches the volume itself to take it and to
			// upload the backup, so attached is no news.
		case vol.Status.State != longhorn.VolumeStateDetached:
			attached = append(attached, fmt.Sprintf("%s (%s)", v.Name, stateOrUnknown(vol.Status.State)))
		}
	}
	if len(attached) > 0 {
		return wait(fmt.Sprintf("source volumes still attached in cluster %s: %s", prim.Name, joinFirst(attached, 3)))
	}
	var waiting, failed []string
	taken := 0
	hooked := map[string][]*longhorn.Snapshot{} // wave: the snapshots its hooks wrap
	for _, v := range f.p.Spec.Volumes {
		if prim.Volume(v.Name) == nil {
			continue
		}
		snapName := FinalSnapshotName(f.p.Name(), v.Name, f.rec.Revision)
		snap := prim.Snapshot(snapName)
		name := FinalBackupName(f.p.Name(), v.Name, f.rec.Revision)
		b := prim.Backup(name)
		switch {
		// Longhorn admits a Backup CR only of an existing Snapshot CR, and uploads it only once
		// the snapshot is ready: snapshot first, then the backup of it.
		case b == nil && snap == nil && f.hooksOf(v.Wave) != nil:
			hooked[v.Wave] = append(hooked[v.Wave], f.finalSnapshotCR(v, snapName))
			waiting = append(waiting, fmt.Sprintf("final snapshot %s of volume %s requested between wave %s's backup hooks", snapName, v.Name, v.Wave))
		case b == nil && snap == nil:
			f.d.add(&CreateSnapshot{Target: Target{prim.Name, f.p.Name()}, Snapshot: f.finalSnapshotCR(v, snapName), Reason: "final snapshot of a planned switchover"})
			waiting = append(waiting, fmt.Sprintf("final snapshot %s of volume %s requested", snapName, v.Name))
		case b == nil && longhorn.SnapshotWaitsForAttachment(snap):
			waiting = append(waiting, fmt.Sprintf("final snapshot %s of volume %s waits for Longhorn to attach the detached volume in cluster %s (each snapshot and backup of a detached volume costs an attach and a detach)", snapName, v.Name, prim.Name))
		case b == nil && snap.Status.Error != "":
			failed = append(failed, fmt.Sprintf("final snapshot %s of volume %s failed: %s (delete that Snapshot CR in cluster %s to take it again)", snapName, v.Name, snap.Status.Error, prim.Name))
		case b == nil && !snap.Status.ReadyToUse:
			waiting = append(waiting, fmt.Sprintf("final snapshot %s of volume %s is being taken in cluster %s", snapName, v.Name, prim.Name))
		case b == nil:
			f.d.add(&CreateBackup{Target: Target{prim.Name, f.p.Name()}, Backup: f.finalBackupCR(v, name, snap), Reason: "final backup of a planned switchover"})
			waiting = append(waiting, fmt.Sprintf("final backup %s of volume %s requested", name, v.Name))
		case b.Status.State == longhorn.BackupStateError:
			failed = append(failed, fmt.Sprintf("final backup %s of volume %s failed: %s (delete that Backup CR in cluster %s to take it again)", name, v.Name, b.Status.Error, prim.Name))
		case b.Status.State != longhorn.BackupStateCompleted:
			waiting = append(waiting, fmt.Sprintf("final backup %s of volume %s is %s in cluster %s", name, v.Name, stateOr(string(b.Status.State), "new"), prim.Name))
		default:
			if sb := f.sec.Backup(name); sb != nil && sb.Status.State == longhorn.BackupStateCompleted {
				taken++
				continue
			}
			reason := fmt.Sprintf("final backup %s of volume %s is not in cluster %s yet", name, v.Name, f.sec.Name)
			f.syncSecondary(v.Name, b.Status.BackupCreatedAt.Time.Time, reason)
			waiting = append(waiting, reason)
		}
	}
	for _, w := range f.p.Spec.Waves {
		snaps := hooked[w.Name]
		if len(snaps) == 0 {
			continue
		}
		a := &TakeSnapshots{Target: Target{prim.Name, f.p.Name()}, Wave: w.Name, Hooks: w.BackupHooks, Snapshots: snaps,
			Reason: "final snapshot of a planned switchover"}
		if fail, ok := f.d.in.HookFailures[a.Key()]; ok && f.now.Before(fail.RetryAt) {
			failed = append(failed, fmt.Sprintf("wave %s's final snapshots between its hooks failed at %s: %s (tried again at %s)",
				w.Name, fail.At.UTC().Format(time.RFC3339), fail.Message, fail.RetryAt.UTC().Format(time.RFC3339)))
			f.d.requeueAfter(fail.RetryAt.Sub(f.now))
			continue
		}
		f.d.add(a)
	}
	if len(failed)+len(waiting) > 0 {
		// A failure needs a person: it goes first, whatever else is under way.
		return wait(joinFirst(append(failed, waiting...), 3))
	}
	note := fmt.Sprintf("%d final backups taken in cluster %s and seen in cluster %s", taken, prim.Name, f.sec.Name)
	if len(missing) > 0 {
		note += fmt.Sprintf("; source volumes not found in cluster %s: %s", prim.Name, joinFirst(missing, 5))
	}
	return stepResult{done: true, note: note}
}

// scaleDownPrimary scales the plan's workloads (every wave's scale targets, same namespace and
// name) to zero in the primary. It returns the ones still above zero there.
func (f *failoverRun) scaleDownPrimary() []string {
	var pending []string
	seen := map[string]bool{}
	for _, w := range f.p.Spec.Waves {
		for _, sc := range w.Scale {
			key := sc.APIVersion + "/" + sc.Kind + "/" + sc.Namespace + "/" + sc.Name
			if seen[key] {
				continue
			}
			seen[key] = true
			scale := &ScaleWorkload{Target: Target{f.prim.Name, f.p.Name()}, APIVersion: sc.APIVersion, Kind: sc.Kind,
				Namespace: sc.Namespace, Name: sc.Name, Replicas: 0, Reason: "planned switchover: stop writes on the primary"}
			replicas, found, cached := workloadReplicas(f.prim, sc.APIVersion, sc.Kind, sc.Namespace, sc.Name)
			switch {
			case !cached:
				// Not observed: scaling is idempotent, so it is asked for on every pass of the step.
				f.d.add(scale)
			case !found:
			case replicas != 0:
				f.d.add(scale)
				pending = append(pending, fmt.Sprintf("%s %s/%s (%d replicas)", sc.Kind, sc.Namespace, sc.Name, replicas))
			}
		}
	}
	return pending
}

// finalSnapshotCR is the Snapshot CR a final backup is made from, created in the primary.
func (f *failoverRun) finalSnapshotCR(v plans.Volume, name string) *longhorn.Snapshot {
	s := &longhorn.Snapshot{}
	s.APIVersion, s.Kind = longhorn.SchemeGroupVersion.String(), "Snapshot"
	s.Name, s.Namespace = name, f.d.in.Namespace
	s.Labels = ownedLabels(f.d.in.Owner, map[string]string{LabelPlan: f.p.Name(), LabelSourceVolume: v.Name})
	s.Spec = longhorn.SnapshotSpec{
		Volume:         v.Name,
		CreateSnapshot: true,
		Labels:         map[string]string{LabelPlan: f.p.Name()},
	}
	return s
}

// hooksOf are the backup hooks of the wave, nil when it has none.
func (f *failoverRun) hooksOf(wave string) *plans.BackupHooks {
	for _, w := range f.p.Spec.Waves {
		if w.Name == wave && w.BackupHooks != nil && len(w.BackupHooks.Pre)+len(w.BackupHooks.Post) > 0 {
			return w.BackupHooks
		}
	}
	return nil
}

// SnapshotConsistency is what a Snapshot CR captured: application when it was taken between
// backup hooks that all succeeded (the executor annotates it), crash otherwise.
func SnapshotConsistency(s *longhorn.Snapshot) plans.Consistency {
	if s != nil && s.Annotations[LabelConsistency] == string(plans.ApplicationConsistent) {
		return plans.ApplicationConsistent
	}
	return plans.CrashConsistent
}

// finalBackupCR is the Backup CR of a final backup of snapshot, created in the primary. Its
// spec.labels say whether it is application-consistent; Longhorn keeps them with the backup in
// the store, and the secondary's copy shows them.
func (f *failoverRun) finalBackupCR(v plans.Volume, name string, snap *longhorn.Snapshot) *longhorn.Backup {
	snapshot := snap.Name
	b := &longhorn.Backup{}
	b.APIVersion, b.Kind = longhorn.SchemeGroupVersion.String(), "Backup"
	b.Name, b.Namespace = name, f.d.in.Namespace
	labels := longhorn.BackupVolumeLabels(f.p.Spec.BackupTarget, v.Name)
	labels[LabelPlan] = f.p.Name()
	b.Labels = ownedLabels(f.d.in.Owner, labels)
	b.Spec = longhorn.BackupSpec{
		SnapshotName: snapshot,
		Labels:       map[string]string{LabelPlan: f.p.Name(), LabelConsistency: string(SnapshotConsistency(snap))},
		BackupMode:   longhorn.BackupModeIncremental,
	}
	return b
}

// catchUp waits until every standby volume has restored the newest backup, after its
// BackupVolume read the store at least once since the step began, up to the catch-up deadline.
// Then it records each volume's data-loss window.
func (f *failoverRun) catchUp(st *StepRecord) stepResult {
	deadline := f.catchUpDeadline()
	var behind []string
	for _, v := range f.p.Spec.Volumes {
		if why := f.caughtUp(v, st.StartedAt); why != "" {
			behind = append(behind, why)
		}
	}
	res := stepResult{done: true}
	switch {
	case len(behind) == 0:
	case f.now.Before(deadline):
		return stepResult{waiting: fmt.Sprintf("catch-up: %s (until %s)", joinFirst(behind, 3), deadline.UTC().Format(time.RFC3339))}
	default:
		res.warning = true
		res.note = fmt.Sprintf("timed out after %s: going on with what is restored; %s",
			f.p.Spec.Activation.CatchUpTimeout.Duration, joinFirst(behind, 5))
	}
	res.volumes = f.dataLoss()
	return res
}

// caughtUp says what volume v still waits for, "" when its standby volume is caught up.
func (f *failoverRun) caughtUp(v plans.Volume, since time.Time) string {
	vol, problem := f.standbyOf(v)
	if vol == nil {
		return problem
	}
	if !vol.Spec.Standby {
		return "" // activated already: nothing left to catch up
	}
	bv, err := f.sec.BackupVolumeOf(f.p.Spec.BackupTarget, v.Name)
	if err != nil {
		return err.Error()
	}
	if bv == nil {
		reason := fmt.Sprintf("cluster %s has no backup volume of %s", f.sec.Name, v.Name)
		f.d.requestSync(f.p, f.sec, SyncBackupTarget, f.p.Spec.BackupTarget, reason)
		return reason
	}
	if !f.syncAfter(bv, since, fmt.Sprintf("failover catch-up: read the store for %s", v.Name)) {
		return fmt.Sprintf("backup volume %s has not read the store since the failover began", bv.Name)
	}
	view := longhorn.DRView{Volume: vol, Engine: f.sec.ActiveEngine(vol.Name), BackupVolume: bv,
		LatestBackup: f.sec.Backup(bv.Status.LastBackupName), AllowDegraded: true}
	if ok, why := longhorn.StandbyCaughtUp(view, f.wantBackup(v)); !ok {
		return why
	}
	return ""
}

// wantBackup is the backup a standby volume must have restored to be caught up: the final
// backup when there is one, else the primary's newest when the primary answers, else "" (the
// newest the secondary knows).
func (f *failoverRun) wantBackup(v plans.Volume) string {
	if f.rec.Planned {
		name := FinalBackupName(f.p.Name(), v.Name, f.rec.Revision)
		if b := f.sec.Backup(name); b != nil && b.Status.State == longhorn.BackupStateCompleted {
			return name
		}
	}
	if f.prim.Observed() {
		if b := f.prim.NewestCompletedBackup(v.Name); b != nil {
			return b.Name
		}
	}
	return ""
}

// dataLoss is each volume's data-loss window at the end of catch-up: zero when it restored
// its final backup, else now minus the snapshot time of the backup it restored.
func (f *failoverRun) dataLoss() []VolumeRecord {
	out := make([]VolumeRecord, 0, len(f.p.Spec.Volumes))
	for _, v := range f.p.Spec.Volumes {
		r := VolumeRecord{Name: v.Name, Standby: v.StandbyName}
		if vol := f.sec.Volume(v.StandbyName); vol != nil {
			if e := f.sec.ActiveEngine(vol.Name); e != nil {
				r.Restored = e.Status.LastRestoredBackup
			}
		}
		if b := f.sec.Backup(r.Restored); b != nil {
			r.SnapshotAt = b.Status.SnapshotCreatedAt.UTC()
			r.FinalBackup = f.rec.Planned && r.Restored == FinalBackupName(f.p.Name(), v.Name, f.rec.Revision)
			r.DataLossKnown = true
			if !r.FinalBackup {
				r.DataLoss = metav1.Duration{Duration: max(f.now.Sub(r.SnapshotAt), 0)}
			}
		}
		out = append(out, r)
	}
	return out
}

// syncSecondary asks the secondary to read the store for a source volume's backups, after
// since: its BackupVolume, or the BackupTarget while it has none.
func (f *failoverRun) syncSecondary(volume string, since time.Time, reason string) {
	bv, err := f.sec.BackupVolumeOf(f.p.Spec.BackupTarget, volume)
	switch {
	case err != nil:
	case bv == nil:
		f.d.requestSync(f.p, f.sec, SyncBackupTarget, f.p.Spec.BackupTarget, reason)
	default:
		f.syncAfter(bv, since, reason)
	}
}

// syncAfter reports whether BackupVolume bv read the store after since (at the API's
// one-second precision: lastSyncedAt in a later second). When it did not, it asks for a sync,
// unless a request made after since is pending and younger than the sync interval.
func (f *failoverRun) syncAfter(bv *longhorn.BackupVolume, since time.Time, reason string) bool {
	floor := since.UTC().Truncate(time.Second)
	last, req := metaTime(bv.Status.LastSyncedAt), metaTime(bv.Spec.SyncRequestedAt)
	if last != nil && last.After(floor) {
		return true
	}
	pending := req != nil && req.After(floor) && (last == nil || last.Before(*req))
	if pending && f.now.Sub(*req) < f.d.in.SyncInterval {
		return false
	}
	at, wait := SyncStamp(f.now, bv.Status.LastSyncedAt)
	if wait > 0 {
		// The backup volume synced in this very second: a request now would be ignored.
		f.d.requeueAfter(wait)
		return false
	}
	key := f.sec.Name + "/" + string(SyncBackupVolume) + "/" + bv.Name
	if !f.d.synced[key] {
		f.d.synced[key] = true
		f.d.add(&RequestSync{Target: Target{f.sec.Name, f.p.Name()}, Kind: SyncBackupVolume, Namespace: f.d.in.Namespace,
			Name: bv.Name, At: at, Reason: reason})
	}
	return false
}

// maxClockSkew bounds how long SyncStamp waits for the next second: a lastSyncedAt further in
// the future than this is the cluster's clock running ahead, not a sync in this second.
const maxClockSkew = 2 * time.Second

// SyncStamp is the spec.syncRequestedAt to write so that Longhorn honours a sync request, and how
// long to wait before writing it. Longhorn syncs only when syncRequestedAt is after
// lastSyncedAt, both kept in whole seconds: a request in the second of the last sync would be
// ignored (and the activation gate would pass without reading the store again). So the request
// waits for the next second (wait > 0, at most a second). When lastSyncedAt is further ahead
// than maxClockSkew (the cluster's clock runs ahead), the request is stamped just after it
// instead of waiting.
func SyncStamp(now time.Time, lastSynced *metav1.Time) (at time.Time, wait time.Duration) {
	at = now.UTC().Truncate(time.Second)
	if lastSynced == nil {
		return at, 0
	}
	next := lastSynced.UTC().Truncate(time.Second).Add(time.Second)
	switch {
	case !at.Before(next):
		return at, 0
	case next.Sub(now) > maxClockSkew:
		return next, 0
	}
	return time.Time{}, next.Sub(now)
}

func stateOrUnknown(s longhorn.VolumeState) string { return stateOr(string(s), "in no state yet") }

func stateOr(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}
