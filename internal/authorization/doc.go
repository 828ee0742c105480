// Package authorization decides whether a failover may start: who signed the commit that set
// failover: true, and who approved the pull request that merged it, against the policy of the
// agent's config narrowed by the plan. It holds no I/O: the agent gathers the Evidence (Git
// history, signatures, the forge's reviews and teams) and Decide is a pure function of it.
//
// A failover is the one action drplan takes that cannot be undone, so the rules only ever add
// requirements: a plan can ask for more approvals, a narrower reviewer list or a signature, never
// for less than the agent's config.
package authorization
