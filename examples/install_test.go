package examples_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/config"
	"github.com/drplan/drplan/internal/testenv"
)

// installNamespace is where the kustomize base installs and where the chart is rendered.
const installNamespace = "drplan-system"

// The kustomize base and the Helm chart with its default values render the same objects,
// byte for byte once decoded, except the Namespace (helm install --create-namespace makes it).
func TestInstallKustomizeAndChartAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kubectl kustomize and helm template")
	}
	g := NewWithT(t)
	base := renderKustomize(t)
	chart := renderChart(t)
	g.Expect(keys(base)).To(ContainElement("v1/Namespace//drplan-system"))
	delete(base, "v1/Namespace//drplan-system")
	g.Expect(keys(chart)).To(Equal(keys(base)), "the same objects")
	for k, want := range base {
		g.Expect(canonical(t, chart[k])).To(Equal(canonical(t, want)), "%s: the chart renders it otherwise than the kustomize base", k)
	}
	for _, want := range []string{
		"apps/v1/Deployment/drplan-system/drplan-agent",
		"v1/ServiceAccount/drplan-system/drplan-agent",
		"rbac.authorization.k8s.io/v1/ClusterRole//drplan-agent",
		"rbac.authorization.k8s.io/v1/ClusterRoleBinding//drplan-agent",
		"apiextensions.k8s.io/v1/CustomResourceDefinition//drplanstatuses.drplan.io",
		"v1/Service/drplan-system/drplan-agent",
		"monitoring.coreos.com/v1/ServiceMonitor/drplan-system/drplan-agent",
		"monitoring.coreos.com/v1/PrometheusRule/drplan-system/drplan",
		"v1/ConfigMap/drplan-system/drplan-agent-config",
		"v1/ConfigMap/drplan-system/drplan-dashboard",
	} {
		g.Expect(base).To(HaveKey(want))
	}
}

// The AgentConfig the install puts in its ConfigMap is valid, and the Deployment mounts every
// file it names.
func TestInstallAgentConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kubectl kustomize")
	}
	g := NewWithT(t)
	base := renderKustomize(t)
	cm := base["v1/ConfigMap/drplan-system/drplan-agent-config"]
	g.Expect(cm).NotTo(BeNil())
	text, _, _ := unstructured.NestedString(cm.Object, "data", "agent.yaml")
	cfg, problems := config.Parse("agent.yaml", []byte(text))
	g.Expect(problems).To(BeEmpty())
	dep := base["apps/v1/Deployment/drplan-system/drplan-agent"]
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	g.Expect(containers).To(HaveLen(1))
	mounts, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "volumeMounts")
	mounted := func(path string) bool {
		for _, m := range mounts {
			mp := m.(map[string]any)["mountPath"].(string)
			if path == mp || strings.HasPrefix(path, mp+"/") {
				return true
			}
		}
		return false
	}
	files := []string{cfg.Repo.Auth.TokenFile, cfg.Webhook.SecretFile, cfg.Forge.TokenFile}
	for _, c := range cfg.Clusters {
		files = append(files, c.Kubeconfig)
	}
	for _, f := range files {
		if f != "" {
			g.Expect(mounted(f)).To(BeTrue(), "%s is not mounted", f)
		}
	}
	g.Expect(cfg.LeaderElection.Enabled).To(BeTrue())
	g.Expect(cfg.LeaderElection.Namespace).To(Equal(installNamespace))
}

// Both renderings apply to a real API server with server-side dry-run, with no warning (the
// restricted Pod Security Standard among them), once the Namespace and the CRDs they need are
// there.
func TestInstallDryRun(t *testing.T) {
	g := NewWithT(t)
	crds, err := testenv.MonitoringCRDs()
	if err != nil && !testing.Short() {
		t.Fatal(err)
	}
	api := testenv.StartTestCluster(t, "install", testenv.ClusterOptions{CRDDirectoryPaths: []string{crds}})
	warnings := &warningRecorder{}
	cfg := rest.CopyConfig(api.Config)
	cfg.WarningHandler = warnings
	c, err := client.New(cfg, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := t.Context()
	base := renderKustomize(t)
	ns := base["v1/Namespace//drplan-system"]
	g.Expect(c.Apply(ctx, client.ApplyConfigurationFromUnstructured(ns.DeepCopy()), client.FieldOwner("install-test"))).To(Succeed())
	crd := base["apiextensions.k8s.io/v1/CustomResourceDefinition//drplanstatuses.drplan.io"]
	g.Expect(c.Apply(ctx, client.ApplyConfigurationFromUnstructured(crd.DeepCopy()), client.FieldOwner("install-test"))).To(Succeed())
	for name, objs := range map[string]map[string]*unstructured.Unstructured{"kustomize base": base, "helm chart": renderChart(t)} {
		for _, k := range keys(objs) {
			o := objs[k].DeepCopy()
			err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("drplan-install"), client.DryRunAll)
			g.Expect(err).NotTo(HaveOccurred(), "%s: %s", name, k)
		}
	}
	g.Expect(warnings.list()).To(BeEmpty(), "the API server warned")
}

type warningRecorder struct {
	mu sync.Mutex
	ws []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ws = append(w.ws, text)
}

func (w *warningRecorder) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.ws...)
}

func renderKustomize(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	return decode(t, "kubectl kustomize", run(t, "kubectl", "kustomize", "deploy"))
}

func renderChart(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	helm, err := testenv.Helm()
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, "helm template", run(t, helm, "template", "drplan", filepath.Join("deploy", "chart"), "--namespace", installNamespace, "--include-crds"))
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// decode reads a rendered stream into objects keyed by apiVersion/kind/namespace/name.
func decode(t *testing.T, what string, data []byte) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("%s: %v", what, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		k := fmt.Sprintf("%s/%s/%s/%s", u.GetAPIVersion(), u.GetKind(), u.GetNamespace(), u.GetName())
		if _, dup := out[k]; dup {
			t.Fatalf("%s: %s twice", what, k)
		}
		out[k] = u
	}
}

func keys(m map[string]*unstructured.Unstructured) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func canonical(t *testing.T, u *unstructured.Unstructured) string {
	t.Helper()
	if u == nil {
		return "<missing>"
	}
	b, err := json.MarshalIndent(u.Object, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
