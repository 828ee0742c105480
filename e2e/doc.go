// Package e2e holds drplan's end-to-end tests: the built drplan binary runs as its own process
// against two real API servers with the Longhorn simulator (internal/drlab) and a real Gitea
// serving the plans repo. Scenarios share one lab where they can (distinct plans, volumes and
// repos, one agent each) and run in parallel; scenarios that break a component start their own.
//
// The tools subdirectory builds the real components (make tools).
package e2e
