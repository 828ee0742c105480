package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/authorization"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// RecordKey is the ConfigMap data key that holds the failover record as JSON.
const RecordKey = "record.json"

// Step names of a failover, in order; each wave is a step named WaveStep(wave).
const (
	StepFinalBackup = "final-backup"
	StepCatchUp     = "catch-up"
	// StepTraffic is the last step of a plan with spec.traffic, after every wave.
	StepTraffic = "traffic"
	wavePrefix  = "wave/"
)

// RecordName is the name of a plan's failover record, a ConfigMap in Longhorn's namespace.
func RecordName(plan string) string { return "drplan-failover-" + plan }

// WaveStep is the step name of a wave.
func WaveStep(wave string) string { return wavePrefix + wave }

// FailoverRecord is what a failover remembers that the clusters would not otherwise show. It
// lives in the secondary (it must survive the disaster), is written only by the executor on the
// planner's decision, and is read back through the cache: a restarted agent continues from it.
type FailoverRecord struct {
	Plan      string `json:"plan"`
	Primary   string `json:"primary"`
	Secondary string `json:"secondary"`
	// Revision is the plans repo's commit that started the failover.
	Revision  string    `json:"revision"`
	StartedAt time.Time `json:"startedAt"`
	// Planned is true when the primary answered at the start: a planned switchover, with a final
	// backup of every source volume. False is an unplanned failover.
	Planned bool `json:"planned"`
	// Steps are the steps started so far, in order.
	Steps []StepRecord `json:"steps"`
	// Volumes are the data-loss windows, fixed when catch-up ends.
	Volumes []VolumeRecord `json:"volumes,omitempty"`
	// FinishedAt is when the last wave's gates were ready.
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// AuthorizedBy is who authorized the failover, when authorization was required.
	AuthorizedBy *authorization.Verdict `json:"authorizedBy,omitempty"`

	// Drill is the drill's id when the record is a drill's (DrillRecordName), empty for a
	// failover.
	Drill string `json:"drill,omitempty"`
	// Namespace is the drill's namespace.
	Namespace string `json:"namespace,omitempty"`
	// Failed is true when the drill ended at a step that did not finish in time.
	Failed bool `json:"failed,omitempty"`
	// TornDownAt is when every object the drill created was deleted.
	TornDownAt time.Time `json:"tornDownAt,omitzero"`
}

// StepRecord is one step of a failover.
type StepRecord struct {
	Name       string    `json:"name"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// Note says how the step ended.
	Note string `json:"note,omitempty"`
	// Warning marks a note a person must know: the step was skipped, given up or timed out.
	Warning bool `json:"warning,omitempty"`
}

// VolumeRecord is the data a volume's failover kept, as known when catch-up ended.
type VolumeRecord struct {
	Name    string `json:"name"`
	Standby string `json:"standby"`
	// Restored is the backup the standby volume had restored; empty when none.
	Restored string `json:"restored,omitempty"`
	// SnapshotAt is the snapshot time of Restored.
	SnapshotAt time.Time `json:"snapshotAt,omitzero"`
	// FinalBackup is true when Restored is the final backup of a planned switchover: no data lost.
	FinalBackup bool `json:"finalBackup,omitempty"`
	// DataLoss is the window of writes lost: zero with FinalBackup, else the end of catch-up
	// minus SnapshotAt. DataLossKnown is false when nothing was restored.
	DataLoss      metav1.Duration `json:"dataLoss"`
	DataLossKnown bool            `json:"dataLossKnown"`
}

// step returns the record of the step named name, or nil.
func (r *FailoverRecord) step(name string) *StepRecord {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// clone returns a deep copy, for the planner to change and hand to the executor.
func (r *FailoverRecord) clone() *FailoverRecord {
	c := *r
	c.Steps = slices.Clone(r.Steps)
	c.Volumes = slices.Clone(r.Volumes)
	return &c
}

// storedRecord is a record as found in a cluster.
type storedRecord struct {
	rec             *FailoverRecord
	resourceVersion string
}

// findRecord reads a plan's failover record from a cluster's ConfigMaps. found is false when
// there is none; problem is set when there is one drplan cannot use (another owner, bad JSON).
func findRecord(s *observed.State, plan, owner string) (rec storedRecord, found bool, problem string) {
	return findRecordNamed(s, RecordName(plan), plan, owner)
}

// ownRecord is findRecord for plan p, telling its own failover's record from a previous
// cycle's: a record written when the plan's clusters were the other way round (primary and
// secondary swapped, as in the plan that protects again after a failover and fails back) is
// not p's; it is returned as previous, for a new record to replace (its resourceVersion).
func ownRecord(s *observed.State, p *plans.Plan, owner string) (rec storedRecord, found bool, problem string, previous *storedRecord) {
	rec, found, problem = findRecord(s, p.Name(), owner)
	if found && problem == "" && (rec.rec.Primary != p.Spec.Primary || rec.rec.Secondary != p.Spec.Secondary) {
		prev := rec
		return storedRecord{}, false, "", &prev
	}
	return rec, found, problem, nil
}

// previousRV is the resourceVersion a record write replacing previous needs ("" for none).
func previousRV(previous *storedRecord) string {
	if previous == nil {
		return ""
	}
	return previous.resourceVersion
}

// findRecordNamed reads the record ConfigMap called name, as findRecord does.
func findRecordNamed(s *observed.State, name, plan, owner string) (rec storedRecord, found bool, problem string) {
	if !s.Observed() {
		return storedRecord{}, false, ""
	}
	cm := s.ConfigMap(name)
	if cm == nil {
		return storedRecord{}, false, ""
	}
	if !owned(owner, cm.Labels) || cm.Labels[LabelPlan] != plan {
		return storedRecord{}, true, fmt.Sprintf("ConfigMap %s/%s in cluster %s was not written by this plans repo's agent for plan %s; drplan does not touch it", cm.Namespace, cm.Name, s.Name, plan)
	}
	r := &FailoverRecord{}
	if err := json.Unmarshal([]byte(cm.Data[RecordKey]), r); err != nil {
		return storedRecord{}, true, fmt.Sprintf("record ConfigMap %s/%s in cluster %s cannot be read: %v", cm.Namespace, cm.Name, s.Name, err)
	}
	return storedRecord{rec: r, resourceVersion: cm.ResourceVersion}, true, ""
}

// FinalBackupName is the name of the final backup of a source volume in a planned switchover:
// Longhorn's form (backup- and 16 hex digits), derived from the plan, the volume and the
// revision that started the failover, so every pass and every restarted agent names the same one.
func FinalBackupName(plan, volume, revision string) string {
	sum := sha256.Sum256([]byte("drplan-final\x00" + plan + "\x00" + volume + "\x00" + revision))
	return longhorn.BackupNamePrefix + hex.EncodeToString(sum[:])[:16]
}

// FinalSnapshotName is the name of the Snapshot CR a final backup is made from (Longhorn's
// Backup admission wants it to exist): drplan-final- and 16 hex digits, derived like
// FinalBackupName. Snapshot CRs share one namespace, so the name is per volume.
func FinalSnapshotName(plan, volume, revision string) string {
	sum := sha256.Sum256([]byte("drplan-final-snapshot\x00" + plan + "\x00" + volume + "\x00" + revision))
	return "drplan-final-" + hex.EncodeToString(sum[:])[:16]
}
