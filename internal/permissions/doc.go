// Package permissions tells which permissions the agent's credentials lack in a cluster.
//
// What the agent needs is the ClusterRole of examples/deploy/rbac.yaml (examples.RBAC), the one
// source of truth the e2e tests run every agent with. Required turns its rules into one
// Permission per verb and resource, placed where the agent uses it: in Longhorn's namespace, or
// cluster-wide for the kinds its caches hold in every namespace (workloads, PersistentVolumes
// and claims). Rules of an optional group (the leader-election lease) count only where the
// caller says they apply. Check asks the API server about each with a SelfSubjectAccessReview,
// which every authenticated user may create, and returns those it denies.
package permissions
