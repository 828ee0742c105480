// Package executor carries out the planner's actions on the clusters: server-side apply with
// field manager "drplan" for the objects drplan owns (the RecurringJob), the smallest merge patch
// for single fields of objects it does not own (volume labels, syncRequestedAt, activation,
// replicas through the scale subresource), and create-once for standby volumes, whose spec
// Longhorn owns afterwards, and for what a failover creates (final Backup CRs, PersistentVolumes
// and claims). The failover record is written with the resourceVersion the planner read as a
// precondition, so a stale pass never overwrites a newer record (executor_failover.go).
//
// Every action is idempotent: re-running a pass that was cut short does no harm. Actions run with
// bounded concurrency; one failing action never stops the others. The only deletion is the
// plan's RecurringJob on an old primary when a failover fences it, which deletes no data; the
// executor never deletes a Volume, Backup or BackupVolume.
//
// An action's error names the action and the cluster once; one the API server refused as
// Forbidden adds where the permission is granted (the agent's ClusterRole,
// examples/deploy/rbac.yaml).
package executor
