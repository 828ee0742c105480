// Package agent wires drplan together: the plans repo (internal/source), the plans (plans),
// the clusters (internal/cluster), the planner, the executor and the reporters (the status
// endpoint of internal/status, Prometheus metrics, Kubernetes Events, logs, and the
// pull-request reporter of internal/pullrequests), under leader election with health probes
// (fluxcd/pkg/runtime and controller-runtime's manager). It holds wiring and the loop only.
//
// A pass is level-triggered: fetch (on the interval or a webhook), load the plans when the
// revision moved, then decide (decide.go: read every cluster's cache and the failover gates the
// caches do not hold, and call the planner), act, report. The pull-request preview and
// `drplan diff` decide through the same path. Passes run on fetches, on any change the caches
// see (debounced), and on a resync tick that keeps lag and RPO figures current. Nothing a pass
// needs lives only in memory.
//
// Beside the loop, every replica checks each cluster's credentials against the agent's
// ClusterRole (permissions.go, internal/permissions) and reports what they lack in the logs, the
// status and the metrics.
package agent
