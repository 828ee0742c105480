// Package agent wires drplan together: the plans repo (internal/source), the plans
// (plans), the clusters (internal/cluster), the planner, the executor and the reporters
// (status endpoint, Prometheus metrics, Kubernetes Events, logs), under leader election with
// health probes (fluxcd/pkg/runtime and controller-runtime's manager).
//
// A pass is level-triggered: fetch (on the interval or a webhook), load the plans when the
// revision moved, read both clusters from their caches, decide, act, report. Passes run on
// fetches, on any change the caches see (debounced), and on a resync tick that keeps lag and RPO
// figures current. Nothing a pass needs lives only in memory.
package agent
