// Package examples is the plans repository to copy (plans/) and an agent config (agent.yaml),
// embedded so that `drplan sandbox` seeds its Gitea with exactly these files.
package examples

import "embed"

// Plans holds plans/*.yaml.
//
//go:embed plans/*.yaml
var Plans embed.FS
