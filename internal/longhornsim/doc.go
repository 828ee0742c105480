// Package longhornsim simulates longhorn-manager for the Longhorn objects drplan touches, so
// that the agent can be tested end to end on real API servers where Longhorn itself cannot run
// (it needs nodes, iSCSI and instance managers). One Sim runs in-process against one API
// server (one simulated cluster); every Sim shares one backupstore.Store, a directory laid out like a
// Longhorn backupstore. The specification is ../shared/longhorn/REFERENCE.md, cited below as
// "REFERENCE §n"; each behaviour's doc comment names the section (and longhorn-manager
// function) it follows.
//
// What it reproduces:
//
//   - BackupTarget (REFERENCE §2.1, §3.3): availability of the store (reachable, and the URL
//     naming it), the pollInterval timer that sets spec.syncRequestedAt, syncs when
//     spec.syncRequestedAt is after status.lastSyncedAt; BackupVolume CRs appear from the
//     store with Longhorn's deterministic names.
//   - BackupVolume and Backup (REFERENCE §2.1, §3.1, §3.2, §3.5, §10.10, §10.11): Backup CRs
//     appear from the store on a sync, with status.url in Longhorn's format;
//     lastBackupName/lastBackupAt; deletion removes data from the store unless labelled
//     delete-custom-resource-only. An upload writes the backup's config first, in progress, so
//     another cluster's sync pulls it with an empty status.state; a Backup pulled while its
//     config could not be read carries spec.backupBlockSize -1 for good
//     (AnnotationBackupBlockSize), and no standby volume can be created from it.
//   - RecurringJob (REFERENCE §4, §10.7, §10.8): task backup on its cron (cron.ParseStandard),
//     volumes bound by job or group label, restoreRequired ones skipped, concurrency, retain
//     pruning; the default group; a volume's job labels taken from its PVC when that PVC carries
//     recurring-job.longhorn.io/source: enabled (the PV controller's link, kubernetes_status.go).
//     RunRecurringJob runs a job now, for tests.
//   - Volume data as real bytes: each volume's data is a small file; backups are
//     content-addressed blocks; a restore moves only the blocks that differ, at RestoreRate.
//     WriteVolume and ReadVolume write and read a volume's data.
//   - Snapshot CRs (snapshot_controller.go, the snapshot webhooks): one with
//     spec.createSnapshot is taken (the volume's data as of then is kept apart) after
//     Latencies.Snapshot, once its volume is attached: a detached volume is attached for it
//     (an attachment ticket, attachment.go) with the transient status.error "... engine not
//     running. Waiting for the volume to be attached", then detached again; then readyToUse
//     with creationTime, size, restoreSize, userCreated and labels; the mutator refuses one
//     whose volume is missing and adds the longhornvolume label, the finalizer and an owner
//     reference to the volume. A Backup CR of a snapshot attaches its volume the same way,
//     uploads the snapshot's data, snapshotCreatedAt being the snapshot's time; admission
//     refuses it without its Snapshot CR or when the snapshot's volume or target differs from
//     its labels; it waits Pending while the snapshot is not ready, and fails after
//     maxCreationRetry looks, one per backupResync (backup_controller.go checkMonitor). The
//     simulator's own backups (recurring jobs, Backup) make a ready Snapshot CR first; a
//     backup job keeps only its newest Snapshot CR per volume, and the settings
//     auto-cleanup-snapshot-after-on-demand-backup-completed and
//     auto-cleanup-when-delete-backup delete a backup's snapshot as Longhorn's do.
//   - Standby volumes (REFERENCE §1.5-§1.7, §10.1-§10.4): admission by Longhorn's webhooks
//     (registered with the API server, see WebhookInstallOptions) with Longhorn's messages,
//     volume names corrected or refused as Longhorn does, every update of a standby whose
//     fromBackup Backup CR is gone denied (its deletion stays in Deleting); restore init;
//     following new backups (Engine requestedBackupRestore/lastRestoredBackup), growing
//     spec.size with a larger backup (checkSizeBeforeRestoration); a restore error fails the
//     replicas and faults the volume for good; activation through the simulator's own port of
//     checkAndFinishVolumeRestore (gate.go, never the agent's predicates), then detached.
//   - The standby limitations of REFERENCE §6: the BackupTarget webhook check, and the REST
//     actions (Activate, Backup, Expand, CreatePV, CreatePVC, Attach, Detach) with Longhorn's
//     messages (ErrRefused).
//   - Backup admission (backupMutator, backupValidator): labels and backupMode defaults, the
//     target label, the target available, the snapshot checks above.
//   - Knobs (knobs.go): poll interval (the BackupTarget's), RestoreRate, Latencies (Attach is
//     also the attach for a snapshot or backup of a detached volume), FailReplicas (degraded or
//     faulted), FailRestore, PruneBackup, SetBackupConfigsReadable, SetStoreReachable and
//     Store.SetReachable, SetPaused (a cluster whose Longhorn stops answering).
//
// The simulator records what it did as annotations on the Volume (AnnotationPrefix, for
// example AnnotationActivationFinishedAt): observable by tests, and kept across restarts.
//
// Optionally (Options.Workloads) it also runs a workload readiness loop that stands in for
// kube-controller-manager, absent from the test clusters: it marks Deployments and
// StatefulSets ready after a delay, so that kstatus gates can pass; given a node
// (WorkloadOptions.NodeName), it also runs Jobs, one pod at a time bound to that node, and
// completes or fails them from their pods' phases (workload_job.go).
//
// What it does not do: snapshot chains (status.parent, children, checksum), reverting,
// purging or cloning snapshots (deleting a Snapshot CR drops its data at once), VolumeAttachment
// CRs (tickets are kept in memory), what the engine of a standby volume would do with a
// Snapshot CR (not refused, as neither Longhorn's admission nor its controller refuses it),
// status.messages of a Backup while the CRD does not hold it, the fields drplan's
// types do not hold (spec.backupBlockSize and status.kubernetesStatus are written but pruned by
// its CRDs; the simulator keeps AnnotationBackupBlockSize and memory instead), the
// kubernetesStatus a restored volume takes from its backup, replicas as objects (no rebuild of a
// failed replica), engine upgrades, v2 data engine specifics, backing images, linked clones,
// RWX, the REST API itself (its actions are Go methods), and the webhook checks on fields
// drplan's types do not hold.
package longhornsim
