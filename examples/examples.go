// Package examples is the plans repository to copy (plans/), an agent config (agent.yaml) and
// the agent's RBAC (deploy/rbac.yaml), embedded so that `drplan sandbox` seeds its Gitea with
// exactly these files and the e2e tests run the agent with exactly this RBAC.
package examples

//go:generate go run ./internal/chartgen

import "embed"

// Plans holds plans/*.yaml.
//
//go:embed plans/*.yaml
var Plans embed.FS

// RBAC is deploy/rbac.yaml: the ClusterRole the agent needs in each cluster.
//
//go:embed deploy/rbac.yaml
var RBAC []byte
