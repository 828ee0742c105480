package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// installNamespace and installServiceAccount are what examples/deploy/rbac.yaml (part of the
// install) creates in each cluster.
const (
	installNamespace      = "drplan-system"
	installServiceAccount = "drplan-agent"
)

// TestInstallCredentials: the agent runs with exactly the credentials the install creates, the
// drplan-agent ServiceAccount's token in each cluster (as `kubectl create token` makes it), not
// an admin's nor the lab's agent user: it protects a plan and fails it over, a gated wave
// included, and writes its status object.
func TestInstallCredentials(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	// The install's RBAC is in the lab's clusters once an agent kubeconfig was asked for.
	_, err := lab.AgentKubeconfigs(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	kc := map[string]string{}
	for name, c := range lab.Clusters {
		kc[name] = serviceAccountKubeconfig(t, c, installNamespace, installServiceAccount)
	}
	p := foPlan{name: "inst", catchUp: "30s",
		waves:   []foWave{{name: "app", workload: foWorkload{"Deployment", "app", 1}}},
		volumes: []foVolume{{name: "inst-a", wave: "app", pvcNamespace: "inst", pvcName: "data"}}}
	setup := protectForFailover(t, lab, east, west, p, agentOpts{kubeconfigs: kc})
	ready := watchReady(t, west, p)
	go playKubelet(ctx, east, p)
	p.failover = true
	setup.repo.commit(t, "fail over inst to west", map[string]string{"inst.yaml": p.yaml()})
	rec := waitFailoverDone(t, west, p.name, 3*time.Minute)
	checkWaveOrder(t, west, p, rec, ready.snapshot())
	checkClaims(t, west, p)
	checkFenced(t, east, p)
	waitFailoverStatus(t, setup.agent, planner.FailoverComplete)
	g.Eventually(func(g Gomega) {
		out, code := runCLI(t, "status", "--config", setup.agent.config, "--address", "127.0.0.1:1")
		g.Expect(code).To(Equal(0), out)
		g.Expect(out).To(MatchRegexp(`(?m)^inst\s+FailedOver\s+True\s`))
	}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
}

// serviceAccountKubeconfig writes a kubeconfig for the cluster holding a token of the
// ServiceAccount, requested through the TokenRequest API as `kubectl create token` does.
func serviceAccountKubeconfig(t *testing.T, c *drlab.Cluster, namespace, name string) string {
	t.Helper()
	g := NewWithT(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	admin, err := client.New(c.API.Config, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(admin.SubResource("token").Create(t.Context(), sa, tr)).To(Succeed())
	g.Expect(tr.Status.Token).NotTo(BeEmpty())
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[c.Name] = &clientcmdapi.Cluster{Server: c.API.Config.Host, CertificateAuthorityData: c.API.Config.CAData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts[c.Name] = &clientcmdapi.Context{Cluster: c.Name, AuthInfo: name}
	cfg.CurrentContext = c.Name
	path := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%s.kubeconfig", c.Name, name))
	g.Expect(clientcmd.WriteToFile(*cfg, path)).To(Succeed())
	g.Expect(os.Chmod(path, 0o600)).To(Succeed())
	return path
}

// TestInstallRuleRemoved: with one rule taken out of the install's ClusterRole (create on
// Longhorn volumes, in the secondary), the agent says at start exactly which permission it
// lacks (log, status), and the standby volume it cannot create fails with that reason.
func TestInstallRuleRemoved(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	_, err := lab.AgentKubeconfigs(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	// A copy of the install's role and identity, so the other tests keep the full role.
	const narrow = "drplan-agent-narrow"
	// The lab's client knows Longhorn's and the core kinds; this one client-go's.
	admin, err := client.New(west.API.Config, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	g.Expect(admin.Get(ctx, client.ObjectKey{Name: installServiceAccount}, role)).To(Succeed())
	var rules []rbacv1.PolicyRule
	removed := false
	for _, r := range role.Rules {
		if slices.Equal(r.APIGroups, []string{"longhorn.io"}) && slices.Equal(r.Resources, []string{"volumes"}) {
			r.Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == "create" })
			removed = true
		}
		rules = append(rules, r)
	}
	g.Expect(removed).To(BeTrue(), "the install's role has the volumes rule")
	g.Expect(admin.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: narrow}, Rules: rules})).To(Succeed())
	g.Expect(admin.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: installNamespace, Name: narrow}})).To(Succeed())
	g.Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: narrow},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: narrow},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: installNamespace, Name: narrow}}})).To(Succeed())
	kc := map[string]string{
		"east": serviceAccountKubeconfig(t, east, installNamespace, installServiceAccount),
		"west": serviceAccountKubeconfig(t, west, installNamespace, narrow),
	}
	sourceVolume(t, east, "narrow-a", randomBytes(t, 64<<10))
	repo := newPlanRepo(t, lab, "narrow")
	repo.commit(t, "protect narrow-a", map[string]string{"narrow.yaml": planYAML("narrow", "@every 1h", "2h", "narrow-a")})
	a := startAgent(t, lab, repo, agentOpts{kubeconfigs: kc})
	const want = "create volumes.longhorn.io in namespace " + ns

	t.Log("at start: the log and the status name the missing permission")
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Clusters["west"].MissingPermissions).To(Equal([]string{want}))
		g.Expect(st.Clusters["east"].MissingPermissions).To(BeEmpty())
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	g.Expect(agentLog(t, a)).To(MatchRegexp(`"msg":"missing permissions".*"cluster":"west"`))
	out, code := runCLI(t, "status", "--address", a.status)
	g.Expect(code).To(Equal(0))
	g.Expect(out).To(ContainSubstring(want))

	t.Log("the standby volume it cannot create: the action fails, saying why")
	g.Eventually(func(g Gomega) {
		src := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("narrow-a"), src)).To(Succeed())
		g.Expect(src.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-narrow", "enabled"))
		_, err := east.Sim.RunRecurringJob(ctx, "drplan-narrow")
		g.Expect(err).NotTo(HaveOccurred())
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(strings.Join(st.LastPass.Errors, "\n")).To(And(ContainSubstring("forbidden"),
			ContainSubstring("the agent's ClusterRole lacks this permission")))
	}).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	g.Expect(west.Client.Get(ctx, key("narrow-a"), &longhorn.Volume{})).NotTo(Succeed(), "no standby volume")
}
