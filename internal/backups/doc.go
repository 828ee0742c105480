// Package backups takes the Longhorn snapshots and backups drplan makes itself, rather than
// Longhorn's recurring job: a wave's volumes snapshotted together between the plan's backup
// hooks (the final backup of a planned switchover, and application-consistent scheduled
// backups), the Backup CRs of those snapshots, and their retention.
//
// Snapshots and backups are Longhorn CRs created in the primary: a Snapshot CR with
// spec.createSnapshot, waited for until status.readyToUse (or status.error), then a Backup CR
// of it (Longhorn admits a Backup only of an existing Snapshot CR, REFERENCE §10). A snapshot
// taken between hooks is annotated with drplan.io/consistency and the hooks' summary, and its
// backup carries drplan.io/consistency in spec.labels, which Longhorn stores with the backup so
// that the secondary's copy shows it.
package backups
