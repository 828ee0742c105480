package planner

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
	// LabelOrphaned, valued "true", marks a standby volume whose plan or volume left Git. drplan
	// never deletes it: the data may be the last copy.
	LabelOrphaned = "drplan.io/orphaned"
)

// JobName is the name of a plan's Longhorn RecurringJob on the primary.
func JobName(plan string) string { return "drplan-" + plan }
