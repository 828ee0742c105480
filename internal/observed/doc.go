// Package observed holds what the agent observed of one cluster at one moment: the Longhorn
// objects, workloads and drplan's own objects its caches hold, the objects read on demand for a
// failover's gates, and the cluster's reachability. It is data only: it imports API types and
// nothing that does I/O, so the pure planner can depend on it. internal/cluster fills it from
// its informer caches.
//
// The planner finds objects through State's lookups (Volume, ActiveEngine, BackupVolumeOf,
// NewestCompletedBackup, ...), never by scanning the lists: each lookup indexes its kind once,
// on first use, so a decision stays linear in the number of objects.
//
// A State is read-only. Its objects share their maps and slices with the informer caches they
// came from (internal/cluster reads them without deep copies): whoever needs to change one
// copies it first (DeepCopy), as the planner does when it derives a desired object.
package observed
