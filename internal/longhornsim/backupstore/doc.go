// Package backupstore is the simulated Longhorn backup store: a directory that every
// simulated cluster shares, laid out as longhorn's backupstore lays out an NFS or S3 target
// (REFERENCE §3.4): per backup volume a volume.cfg, backups/backup_<name>.cfg and
// content-addressed blocks. It also holds the block arithmetic of backups and restores:
// SplitBlocks cuts a volume's data into the blocks a backup uploads, PlanRestore lists the
// blocks a restore must move, so that an incremental restore moves only what changed.
//
// It is a library of internal/longhornsim; it knows nothing of Kubernetes.
package backupstore
