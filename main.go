// Command drplan is a GitOps agent for Kubernetes disaster recovery of Longhorn volumes.
// See README.md and docs/architecture.md.
package main

import (
	"os"

	"github.com/drplan/drplan/internal/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:], os.Stdout, os.Stderr))
}
