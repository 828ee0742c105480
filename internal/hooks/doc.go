// Package hooks runs a plan's backup hooks around a snapshot, in the primary cluster where the
// application runs: the pre hooks in order, then the snapshot unless a pre hook with onError
// Fail failed, then the post hooks in order, then the scale-backs of the workloads that pre
// scaleToZero hooks scaled down.
//
// An exec hook runs its command in every running pod its selector selects, through the API
// server's pods/exec subresource as kubectl exec does (websocket, falling back to SPDY). A
// scaleToZero hook scales a workload to zero through its scale subresource and waits until it
// has no replicas.
//
// Invariants:
//
//   - The replicas a workload had are written to its AnnotationReplicasBefore annotation before
//     it is scaled to zero, and the annotation is removed only after the replicas are set back:
//     a crash in between never loses the count, and the next run finds it there.
//   - Once any pre hook ran, every post hook and every scale-back runs, whatever failed before
//     (the pre hooks, the snapshot, another post hook), even when ctx is cancelled: each is
//     bounded by its own timeout only.
//   - A snapshot is application-consistent only when there were pre hooks, every one of them
//     succeeded, and the snapshot was taken.
package hooks
