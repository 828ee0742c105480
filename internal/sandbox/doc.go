// Package sandbox runs the whole product on one machine: two local clusters ("east" and "west":
// kube-apiservers with the Longhorn simulator, internal/drlab), a Gitea with a plans repository
// seeded from examples/, source volumes with data on east and backups every minute, and the
// agent, all on loopback, with every file under one state directory.
//
// Up runs it until its context ends; Down stops a sandbox running in another process. Demo runs
// the full story by itself.
package sandbox
