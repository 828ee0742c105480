# drplan: run `make help` for the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Pinned versions of the real components and tools. Built once into bin/, keyed by version.
KUBE_VERSION          ?= v1.34.4
GITEA_VERSION         ?= v1.26.0
GOLANGCI_LINT_VERSION ?= v2.15.0
CONTROLLER_GEN_VERSION ?= v0.21.0
# promtool tests the alert rules; Prometheus 3.16.0's Go module is github.com/prometheus/prometheus v0.316.0.
PROMTOOL_VERSION      ?= v0.316.0
HELM_VERSION          ?= v3.22.0
# The ServiceMonitor and PrometheusRule CRDs the install's dry-run test installs.
PROMETHEUS_OPERATOR_VERSION ?= v0.85.0

BIN            := $(CURDIR)/bin
KUBE_ASSETS    := $(BIN)/k8s-$(KUBE_VERSION)
GITEA_DIR      := $(BIN)/gitea-$(GITEA_VERSION)
GOLANGCI_LINT  := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint
CONTROLLER_GEN := $(BIN)/controller-gen-$(CONTROLLER_GEN_VERSION)/controller-gen
PROMTOOL       := $(BIN)/promtool-$(PROMTOOL_VERSION)/promtool
DRPLAN         := $(BIN)/drplan
HELM           := $(BIN)/helm-$(HELM_VERSION)/helm
MONITORING_CRDS := $(BIN)/prometheus-operator-$(PROMETHEUS_OPERATOR_VERSION)/crds

# Tests and the sandbox find the components through these (see internal/testenv).
export DRPLAN_KUBE_ASSETS := $(KUBE_ASSETS)
export DRPLAN_GITEA_DIR   := $(GITEA_DIR)
export DRPLAN_BIN         := $(DRPLAN)
export DRPLAN_PROMTOOL    := $(PROMTOOL)
export DRPLAN_HELM        := $(HELM)
export DRPLAN_MONITORING_CRDS := $(MONITORING_CRDS)
export CONTROLLER_GEN

GO_TEST_ARGS ?= -race
TEST_TIMEOUT ?= 40m
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS      := -X github.com/drplan/drplan/internal/cli.Version=$(VERSION)

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
		/^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Main

.PHONY: sandbox
sandbox: build tools ## Start two local clusters, Gitea and the agent on loopback (the product, end to end).
	$(DRPLAN) sandbox --state-dir $(CURDIR)/.state/sandbox

.PHONY: test
test: build tools ## Run every test: unit, integration and end-to-end (GO_TEST_ARGS=-race by default).
	go test $(GO_TEST_ARGS) -timeout $(TEST_TIMEOUT) ./...

##@ Development

.PHONY: build
build: ## Build bin/drplan.
	go build -trimpath -ldflags '$(LDFLAGS)' -o $(DRPLAN) .

.PHONY: unit
unit: ## Run the tests that need no real components (fast).
	go test $(GO_TEST_ARGS) -short ./...

# Volumes per route of the failover benchmark (see docs/benchmarks.md). Each size starts its own
# lab: 100,500,1000 takes about an hour on 2 cores.
BENCH_SIZES ?= 50,200

.PHONY: bench
bench: build tools ## Run the benchmarks side by side and regenerate docs/benchmarks.md (about 20 minutes on 2 cores).
	DRPLAN_BENCH_SIZES=$(BENCH_SIZES) DRPLAN_BENCH_OUT=$(CURDIR)/docs/benchmarks.md \
		go test -run '^TestBenchmarks$$' -count=1 -v -timeout 90m ./e2e

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Regenerate CRDs, JSON Schema, docs and the Helm chart's copies from their sources.
	go generate ./...
	@# The chart copies the CRD generated above (examples sorts before internal/planstatus).
	go generate ./examples

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (pinned in bin/).
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: generate ## Regenerate everything and fail if the tree changed; then lint.
	go mod tidy
	gofmt -l . | (! grep .) || (echo "gofmt: files above need formatting" && exit 1)
	@git diff --exit-code || (echo "verify: generated files are out of date: run 'make generate' and commit" && exit 1)
	@test -z "$$(git status --porcelain --untracked-files=all)" || (git status --porcelain; echo "verify: untracked files after generate" && exit 1)
	$(MAKE) lint
	$(MAKE) verify-install

.PHONY: verify-install
verify-install: $(HELM) $(MONITORING_CRDS)/.done kubectl $(KUBE_ASSETS)/kube-apiserver etcd ## Render the Helm chart and the kustomize base, check they agree, dry-run both on a test API server.
	go test -count=1 -run '^TestInstall' -v ./examples

##@ Tools (cached in bin/, keyed by version)

.PHONY: tools
tools: $(KUBE_ASSETS)/kube-apiserver $(GITEA_DIR)/gitea etcd kubectl $(HELM) $(PROMTOOL) $(MONITORING_CRDS)/.done ## Build the real kube-apiserver, Gitea, helm and promtool, install etcd and kubectl, fetch the monitoring CRDs.

$(KUBE_ASSETS)/kube-apiserver:
	KUBE_VERSION=$(KUBE_VERSION) e2e/tools/build-kube-apiserver.sh $(KUBE_ASSETS)

$(GITEA_DIR)/gitea:
	GITEA_VERSION=$(GITEA_VERSION) e2e/tools/build-gitea.sh $(GITEA_DIR)

.PHONY: kubectl
kubectl: # The benchmark's manual route runs kubectl, as a person would.
	@command -v kubectl >/dev/null || { echo "installing kubernetes-client (Debian)..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null; }

.PHONY: etcd
etcd:
	@command -v etcd >/dev/null || { echo "installing etcd-server (Debian)..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null; }

$(GOLANGCI_LINT):
	@echo "building golangci-lint $(GOLANGCI_LINT_VERSION) (first run, a few minutes)..."
	GOBIN=$(dir $@) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(HELM):
	@echo "building helm $(HELM_VERSION) (first run, a few minutes)..."
	GOBIN=$(dir $@) go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

# prometheus-operator's CRDs, from its module on the Go module proxy (its example/ directory).
$(MONITORING_CRDS)/.done:
	@mkdir -p $(MONITORING_CRDS)
	dir=$$(cd /tmp && GOFLAGS= go mod download -json github.com/prometheus-operator/prometheus-operator@$(PROMETHEUS_OPERATOR_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); \
		test -n "$$dir" || { echo "could not download prometheus-operator $(PROMETHEUS_OPERATOR_VERSION)"; exit 1; }; \
		install -m 0644 $$dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml \
			$$dir/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml $(MONITORING_CRDS)/
	touch $@

$(PROMTOOL):
	@echo "building promtool $(PROMTOOL_VERSION) (first run, 10 to 20 minutes on 2 cores)..."
	GOBIN=$(dir $@) go install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)

$(CONTROLLER_GEN):
	GOBIN=$(dir $@) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
