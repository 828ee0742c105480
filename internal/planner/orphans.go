package planner

import (
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// orphans labels the standby volumes of plan p whose volume left the plan. They stay: the data
// may be the last copy; a human deletes them.
func (d *decider) orphans(p *plans.Plan, sec *observed.State) []string {
	wanted := map[string]bool{}
	for _, v := range p.Spec.Volumes {
		wanted[v.StandbyName] = true
	}
	var out []string
	for i := range sec.Volumes {
		v := &sec.Volumes[i]
		if v.Labels[LabelPlan] != p.Name() || !owned(d.in.Owner, v.Labels) || wanted[v.Name] || hasKey(v.Labels, LabelDrill) {
			continue // a drill's copy is no standby: its drill tears it down
		}
		out = append(out, v.Name)
		if v.Labels[LabelOrphaned] != "true" && updatable(sec, v) {
			d.add(&PatchVolumeLabels{Target: Target{sec.Name, p.Name()}, Namespace: v.Namespace, Volume: v.Name,
				Set: map[string]string{LabelOrphaned: "true"}})
		}
	}
	sort.Strings(out)
	return out
}

// updatable reports whether Longhorn admits an update of the volume: its volume mutator denies
// every update of a standby volume whose fromBackup Backup CR is gone (REFERENCE §10.3), such as
// a standby that faulted because the primary pruned the backup it restored. Such a volume is
// still reported as an orphan, but not labelled: every pass would be refused again.
func updatable(s *observed.State, v *longhorn.Volume) bool {
	if !v.Spec.Standby || v.Spec.FromBackup == "" {
		return true
	}
	u, err := longhorn.ParseBackupURL(v.Spec.FromBackup)
	if err != nil || u.BackupName == "" {
		return true
	}
	return s.Backup(u.BackupName) != nil
}

// orphanedPlans reports, and labels, drplan's standby volumes whose plan is no longer in Git at
// all (neither valid nor invalid). Each such plan gets a report of its own.
func (d *decider) orphanedPlans() []PlanReport {
	known := d.knownPlans()
	byPlan := map[string]*PlanReport{}
	for _, name := range sortedClusterNames(d.in.Clusters) {
		s := d.in.Clusters[name]
		if !s.Observed() {
			continue
		}
		for i := range s.Volumes {
			v := &s.Volumes[i]
			plan := v.Labels[LabelPlan]
			if plan == "" || known[plan] || !owned(d.in.Owner, v.Labels) || hasKey(v.Labels, LabelDrill) {
				continue
			}
			r := byPlan[plan]
			if r == nil {
				r = &PlanReport{Name: plan, Secondary: name, Removed: true,
					Problems: []string{fmt.Sprintf("plan %s is no longer in Git; its standby volumes are kept and labelled %s=true", plan, LabelOrphaned)}}
				byPlan[plan] = r
			}
			r.Orphans = append(r.Orphans, name+"/"+v.Name)
			if v.Labels[LabelOrphaned] != "true" && updatable(s, v) {
				d.add(&PatchVolumeLabels{Target: Target{name, plan}, Namespace: v.Namespace, Volume: v.Name,
					Set: map[string]string{LabelOrphaned: "true"}})
			}
		}
	}
	out := make([]PlanReport, 0, len(byPlan))
	for _, name := range sortedKeys(boolKeys(byPlan)) {
		out = append(out, *byPlan[name])
	}
	return out
}

func sortedClusterNames(m map[string]*observed.State) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func boolKeys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func metaTime(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	tt := t.Time
	return &tt
}
