package planner

import (
	"crypto/sha256"
	"encoding/hex"
)

// Labels and values drplan puts on the objects it creates or binds. They are the agent's contract
// with the clusters: never change them without a migration.
const (
	// LabelManagedBy marks objects drplan created, with ManagedByValue.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is LabelManagedBy's value, and the server-side apply field manager.
	ManagedByValue = "drplan"
	// LabelPlan names the plan an object belongs to.
	LabelPlan = "drplan.io/plan"
	// LabelSourceVolume, on a standby volume, names its source volume in the primary.
	LabelSourceVolume = "drplan.io/source-volume"
	// LabelOwner names the plans repository (a short hash of its URL and path, see OwnerID) whose
	// agent created the object. An agent treats as its own, and so as possibly orphaned, only
	// objects with its owner value: agents of other repos may share the clusters.
	LabelOwner = "drplan.io/owner"
	// LabelOrphaned, valued "true", marks a standby volume whose plan or volume left Git. drplan
	// never deletes it: the data may be the last copy.
	LabelOrphaned = "drplan.io/orphaned"
	// AnnotationApplied, on an object a failover applied (a wave's or the traffic step's
	// manifests, a gate's Job), is a digest of what was applied: an object whose digest differs
	// from the manifest's is applied again, one that matches is left alone.
	AnnotationApplied = "drplan.io/applied"
	// LabelConsistency, on a Backup's spec.labels (kept with the backup in the store, so that
	// the secondary's copy shows it in status.labels), is application for a backup taken between
	// the plan's hooks, crash otherwise.
	LabelConsistency = "drplan.io/consistency"
	// LabelDrill, on every object a drill creates, holds the drill's id: its teardown deletes
	// only objects that carry it (and drplan's owner and plan labels).
	LabelDrill = "drplan.io/drill"
	// LabelStale, valued "true", marks a volume of a failed-over plan's old primary, once a plan
	// with the clusters swapped protects again: its data is older than what the failover
	// activated. Kept unless that plan says staleVolumes: Delete.
	LabelStale = "drplan.io/stale"
)

// OwnerID is the LabelOwner value of the agent tracking the plans at path in the repository at
// url (credentials stripped by the caller).
func OwnerID(url, path string) string {
	sum := sha256.Sum256([]byte(url + "\x00" + path))
	return hex.EncodeToString(sum[:])[:12]
}

// JobName is the name of a plan's Longhorn RecurringJob on the primary.
func JobName(plan string) string { return "drplan-" + plan }
