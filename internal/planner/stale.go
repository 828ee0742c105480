package planner

import (
	"fmt"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// previousFailover is the failover a protecting plan protects again after: a finished
// failover's record, in either cluster, written when the plan's clusters were the other way
// round (its primary was that failover's secondary). Nil when there is none.
func (d *decider) previousFailover(p *plans.Plan, prim, sec *observed.State) *FailoverRecord {
	for _, s := range []*observed.State{sec, prim} {
		_, _, _, previous := ownRecord(s, p, d.in.Owner)
		if previous != nil && previous.rec.Drill == "" && previous.rec.Primary == p.Spec.Secondary &&
			previous.rec.Secondary == p.Spec.Primary && !previous.rec.FinishedAt.IsZero() {
			return previous.rec
		}
	}
	return nil
}

// stale labels the old primary's volumes of the failover the plan protects again after, now in
// its secondary, and, with staleVolumes: Delete, deletes each once the standby volume that
// replaces it restored a backup taken after that failover finished and it is detached. It
// returns the stale volumes still there.
func (d *decider) stale(p *plans.Plan, prev *FailoverRecord, sec *observed.State, volumes []VolumeReport) []string {
	restoredAt := map[string]VolumeReport{}
	for _, v := range volumes {
		restoredAt[v.Name] = v
	}
	var out []string
	for _, old := range prev.Volumes {
		vol := sec.Volume(old.Name)
		if vol == nil || vol.DeletionTimestamp != nil {
			continue
		}
		if owned(d.in.Owner, vol.Labels) && vol.Labels[LabelPlan] == p.Name() {
			continue // the plan's own (a standby under the old name): never stale
		}
		out = append(out, vol.Name)
		t := Target{sec.Name, p.Name()}
		switch {
		case vol.Labels[LabelStale] != "true":
			d.add(&PatchVolumeLabels{Target: t, Namespace: vol.Namespace, Volume: vol.Name, Set: map[string]string{LabelStale: "true"}})
		case p.Spec.StaleVolumes != plans.StaleDelete:
		case !newerThan(restoredAt[old.Standby], prev):
		case vol.Status.State != longhorn.VolumeStateDetached:
		default:
			d.add(&DeleteObject{Target: t, Ref: observed.ObjectRef{APIVersion: longhorn.SchemeGroupVersion.String(), Kind: "Volume", Namespace: vol.Namespace, Name: vol.Name},
				Labels: map[string]string{LabelStale: "true"},
				Reason: fmt.Sprintf("stale volume of the failover of %s: its replacement restored a backup taken after that failover (staleVolumes: Delete)", prev.StartedAt.UTC().Format("2006-01-02 15:04"))})
		}
	}
	return out
}

// newerThan reports whether the standby of v restored a backup whose snapshot was taken after
// the failover of prev finished: newer than anything the old primary's volume holds.
func newerThan(v VolumeReport, prev *FailoverRecord) bool {
	return v.Restored != "" && v.RestoredAt.After(prev.FinishedAt)
}
