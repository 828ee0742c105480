//go:build deps

// Package deps pins the chosen dependencies in go.mod while the packages that use them are
// being written in parallel. It is never built; delete it once every import below is real.
package deps

import (
	_ "code.gitea.io/sdk/gitea"
	_ "github.com/fluxcd/cli-utils/pkg/kstatus/status"
	_ "github.com/fluxcd/pkg/runtime/conditions"
	_ "github.com/fluxcd/pkg/runtime/leaderelection"
	_ "github.com/fluxcd/pkg/runtime/logger"
	_ "github.com/fluxcd/pkg/runtime/metrics"
	_ "github.com/fluxcd/pkg/runtime/probes"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/google/go-github/v84/github"
	_ "github.com/invopop/jsonschema"
	_ "github.com/onsi/gomega"
	_ "github.com/robfig/cron/v3"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/spf13/cobra"
	_ "gitlab.com/gitlab-org/api/client-go"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/utils/clock"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
	_ "sigs.k8s.io/yaml"
)
