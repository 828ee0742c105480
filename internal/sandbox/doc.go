// Package sandbox runs the whole product on one machine: two local clusters ("east" and "west":
// kube-apiservers with the Longhorn simulator, internal/drlab), a Gitea with a plans repository
// seeded from examples/, source volumes with data on east and backups every minute, and the
// agent, all on loopback, with every file under one state directory.
//
// Two stand-ins make plans of one's own behave as on real nodes: the kubelet (kubelet.go)
// attaches and detaches Longhorn volumes as the Deployments and StatefulSets mounting their
// claims scale up and down, and the applications (data.go) fill and write every volume that is
// an application's own. With Options.NoAgent the agent does not run: its config is written and
// AgentCommand runs one against the sandbox.
//
// Start brings a sandbox up and Stop tears it down; Down stops a sandbox running in another
// process. Demo runs the full story by itself. docs/sandbox.md is the user's page.
package sandbox
