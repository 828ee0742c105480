// Package cluster holds one connection per Kubernetes cluster the agent drives: a writing client,
// an informer cache of the Longhorn kinds (and workloads the failover scales or gates on), and the
// cluster's reachability. A pass of the agent reads State from the caches and so makes no API
// request when nothing changed; every request the agent makes is counted per cluster.
//
// An unreachable cluster is an input, not an error: State says since when it does not answer,
// and the caches resume by themselves when it answers again.
package cluster
