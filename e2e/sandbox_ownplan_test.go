package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/sandbox"
	"github.com/drplan/drplan/internal/status"
	"github.com/drplan/drplan/internal/testenv"
)

// The sandbox as a lab for a plan of one's own, as a user runs it: `drplan sandbox --no-agent`
// started from a directory that is no checkout, the components named by flags only; a plan of
// the test's own pushed to the sandbox's Gitea, its volumes, claims and workloads created on
// east (a StatefulSet with a claim template, a Deployment mounting a claim, and a volume no
// workload mounts); the agent run as its own process with the command the sandbox printed. The
// stand-in kubelet attaches the mounted volumes, the stand-in applications fill all three with
// data, backups restore on west; a planned switchover committed to Git scales east to zero (the
// kubelet detaches the volumes there), activates west (the kubelet attaches them there), and
// west ends with exactly east's data.
func TestSandboxOwnPlanSwitchover(t *testing.T) {
	requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	start := time.Now()

	tools, err := testenv.FindTools()
	g.Expect(err).NotTo(HaveOccurred())
	work, state := t.TempDir(), filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() {
		// Whatever happened, nothing of the sandbox's outlives the test.
		cmd := exec.Command(shared.bin, "sandbox", "--down", "--state-dir", state)
		_ = cmd.Run()
		if t.Failed() {
			logTail(t, filepath.Join(state, "lab.log"), `"(volume|workload)":"lab`, 40)
		}
	})
	statusAddr := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	sb := startProc(t, work, "sandbox", shared.bin, "sandbox", "--no-agent", "--state-dir", state, "--status-listen", statusAddr,
		"--kube-assets", filepath.Dir(tools.KubeAPIServer), "--gitea-dir", filepath.Dir(tools.Gitea))
	sb.waitFor(regexp.MustCompile(`^ready in `), 2*time.Minute)
	summary := sb.waitFor(regexp.MustCompile(`stops everything`), 10*time.Second)
	t.Logf("sandbox ready after %s", time.Since(start).Round(100*time.Millisecond))
	g.Expect(summary).NotTo(ContainSubstring("starting the agent"))

	cmdLine := regexp.MustCompile(`(?m)^\s*drplan (agent --config .*)$`).FindStringSubmatch(summary)
	g.Expect(cmdLine).NotTo(BeNil(), "the summary prints the agent's command:\n%s", summary)
	agentArgs := strings.Fields(cmdLine[1])
	g.Expect(agentArgs).To(ContainElements(filepath.Join(state, "agent", "agent.yaml"), "--cache-dir", "--resync"))
	forge := regexp.MustCompile(`Gitea\s+(http\S+)\s+login (\S+) / (\S+)`).FindStringSubmatch(summary)
	g.Expect(forge).NotTo(BeNil())

	east, west := sandboxClient(t, state, "east"), sandboxClient(t, state, "west")
	t.Log("volumes, claims and workloads of our own on east; the workloads at zero on west")
	for _, v := range labVolumes {
		g.Expect(east.Create(ctx, &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: v.name, Namespace: ns},
			Spec: longhorn.VolumeSpec{Size: 64 << 20, Frontend: longhorn.VolumeFrontendBlockDev, NumberOfReplicas: 3}})).To(Succeed())
	}
	for _, c := range []client.Client{east, west} {
		g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "lab"}})).To(Succeed())
	}
	for _, v := range labVolumes {
		if v.claim == "" {
			continue
		}
		pv, pvc := labClaim(v.name, v.claim)
		g.Expect(east.Create(ctx, pv)).To(Succeed())
		g.Expect(east.Create(ctx, pvc)).To(Succeed())
	}
	for c, replicas := range map[client.Client]int32{east: 1, west: 0} {
		for _, w := range labWorkloads(replicas) {
			g.Expect(c.Create(ctx, w)).To(Succeed())
		}
	}

	t.Log("the plan pushed to the sandbox's repo, the agent started with the printed command")
	api, err := gitea.NewClient(forge[1], gitea.SetBasicAuth(forge[2], forge[3]), gitea.SetContext(ctx))
	g.Expect(err).NotTo(HaveOccurred())
	_, _, err = api.CreateFile(forge[2], "plans", "lab.yaml", gitea.CreateFileOptions{
		FileOptions: gitea.FileOptions{Message: "Add plan lab", BranchName: "main"},
		Content:     base64.StdEncoding.EncodeToString([]byte(labPlan(false)))})
	g.Expect(err).NotTo(HaveOccurred())
	agent := startProc(t, work, "agent", shared.bin, agentArgs...)

	t.Log("the kubelet attaches the mounted volumes, the applications fill every volume")
	g.Eventually(func(g Gomega) {
		for _, v := range labVolumes {
			vol := &longhorn.Volume{}
			g.Expect(east.Get(ctx, key(v.name), vol)).To(Succeed())
			if v.claim != "" {
				g.Expect(vol.Status.State).To(Equal(longhorn.VolumeStateAttached), "volume %s", v.name)
			} else {
				g.Expect(vol.Spec.NodeID).To(BeEmpty(), "volume %s: no workload mounts it", v.name)
			}
			b, err := os.ReadFile(sandbox.VolumeDataPath(state, "east", v.name))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(b).NotTo(BeEmpty())
		}
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

	g.Eventually(func(g Gomega) {
		p := planStatus(ctx, g, statusAddr, "lab")
		g.Expect(p.Volumes).To(HaveLen(len(labVolumes)))
		for _, v := range p.Volumes {
			g.Expect(v.State).To(Equal(planner.StandbyCaughtUp), "volume %s", v.Name)
		}
	}).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(Succeed())
	t.Logf("standby volumes caught up %s after start", time.Since(start).Round(time.Second))

	t.Log("planned switchover: failover: true committed")
	contents, _, err := api.GetContents(forge[2], "plans", "main", "lab.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	_, _, err = api.UpdateFile(forge[2], "plans", "lab.yaml", gitea.UpdateFileOptions{
		FileOptions: gitea.FileOptions{Message: "Fail plan lab over to west", BranchName: "main"},
		SHA:         contents.SHA, Content: base64.StdEncoding.EncodeToString([]byte(labPlan(true)))})
	g.Expect(err).NotTo(HaveOccurred())
	committed := time.Now()
	g.Eventually(func(g Gomega) {
		fs := planStatus(ctx, g, statusAddr, "lab").FailoverStatus
		g.Expect(fs).NotTo(BeNil())
		g.Expect(fs.Phase).To(Equal(planner.FailoverComplete), "steps: %+v", fs.Steps)
		g.Expect(fs.Planned).To(BeTrue())
		g.Expect(fs.DataLossKnown).To(BeTrue())
		g.Expect(fs.DataLoss.Duration).To(BeZero())
	}).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(Succeed())
	t.Logf("failover complete %s after the commit", time.Since(committed).Round(time.Second))

	g.Eventually(func(g Gomega) {
		for _, v := range labVolumes {
			src, dst := &longhorn.Volume{}, &longhorn.Volume{}
			g.Expect(east.Get(ctx, key(v.name), src)).To(Succeed())
			g.Expect(west.Get(ctx, key(v.name), dst)).To(Succeed())
			g.Expect(src.Spec.NodeID).To(BeEmpty(), "volume %s on east: its workload is at zero", v.name)
			if v.claim != "" {
				g.Expect(dst.Status.State).To(Equal(longhorn.VolumeStateAttached), "volume %s on west: its workload runs", v.name)
			}
		}
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	for _, v := range labVolumes {
		want, err := os.ReadFile(sandbox.VolumeDataPath(state, "east", v.name))
		g.Expect(err).NotTo(HaveOccurred())
		got, err := os.ReadFile(sandbox.VolumeDataPath(state, "west", v.name))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(want).NotTo(BeEmpty())
		g.Expect(bytes.Equal(got, want)).To(BeTrue(), "volume %s on west holds east's data (%d and %d bytes)", v.name, len(got), len(want))
	}

	stopping := time.Now()
	agent.stop(t, syscall.SIGTERM, 30*time.Second)
	sb.stop(t, syscall.SIGINT, 2*time.Minute)
	t.Logf("agent and sandbox stopped in %s", time.Since(stopping).Round(100*time.Millisecond))
	g.Expect(sb.output()).To(ContainSubstring("stopped"))
	g.Expect(processesNaming(state)).To(BeEmpty())
	t.Logf("whole test: %s", time.Since(start).Round(time.Second))
}

// Without the components, the sandbox says so in one line naming `make tools`, at once.
func TestSandboxMissingTools(t *testing.T) {
	requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	missing := filepath.Join(t.TempDir(), "nothing-here")
	cmd := exec.CommandContext(t.Context(), shared.bin, "sandbox", "--no-agent", "--state-dir", filepath.Join(t.TempDir(), "state"),
		"--kube-assets", missing)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	g.Expect(err).To(HaveOccurred(), "%s", out)
	g.Expect(string(out)).To(ContainSubstring(filepath.Join(missing, "kube-apiserver") + " is missing"))
	g.Expect(string(out)).To(ContainSubstring("run `make tools`"))
}

type labVolume struct{ name, claim string }

// labVolumes are the plan's volumes: one per claim template ordinal of StatefulSet lab-db, one
// mounted by Deployment lab-web, one no workload mounts.
var labVolumes = []labVolume{{"lab-db-data", "data-lab-db-0"}, {"lab-files", "files"}, {"lab-scratch", ""}}

func labPlan(failover bool) string {
	return fmt.Sprintf(`apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: lab
spec:
  primary: east
  secondary: west
  schedule: {cron: "* * * * *", retain: 60}
  rpo: 10m
  volumes:
    - {name: lab-db-data, wave: db, pvc: {namespace: lab, name: data-lab-db-0}}
    - {name: lab-files, wave: app, pvc: {namespace: lab, name: files}}
    - {name: lab-scratch, wave: app}
  waves:
    - name: db
      scale: [{kind: StatefulSet, namespace: lab, name: lab-db, replicas: 1}]
      gates: [{kind: StatefulSet, namespace: lab, name: lab-db, timeout: 2m}]
    - name: app
      scale: [{kind: Deployment, namespace: lab, name: lab-web, replicas: 2}]
  failover: %t
`, failover)
}

// labClaim is a PersistentVolume of a Longhorn volume and the claim bound to it.
func labClaim(volume, claim string) (*corev1.PersistentVolume, *corev1.PersistentVolumeClaim) {
	size := corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")}
	rwo := []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	sc := "longhorn-static"
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: volume}, Spec: corev1.PersistentVolumeSpec{
		Capacity: size, AccessModes: rwo, StorageClassName: sc,
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
			Driver: planner.LonghornCSIDriver, VolumeHandle: volume, FSType: "ext4"}},
	}}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: claim, Namespace: "lab"}, Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: rwo, Resources: corev1.VolumeResourceRequirements{Requests: size}, StorageClassName: &sc, VolumeName: volume,
	}}
	return pv, pvc
}

// labWorkloads are StatefulSet lab-db (claim template data) and Deployment lab-web (claim
// files), at replicas.
func labWorkloads(replicas int32) []client.Object {
	tpl := func(name string, claims ...string) corev1.PodTemplateSpec {
		t := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "registry.invalid/lab/" + name + ":1"}}}}
		for _, c := range claims {
			t.Spec.Volumes = append(t.Spec.Volumes, corev1.Volume{Name: c,
				VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
		}
		return t
	}
	sel := func(name string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
	}
	return []client.Object{
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "lab-db", Namespace: "lab"}, Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To(replicas), ServiceName: "lab-db", Selector: sel("lab-db"), Template: tpl("lab-db"),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")}},
			}}},
		}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "lab-web", Namespace: "lab"}, Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas * 2), Selector: sel("lab-web"), Template: tpl("lab-web", "files"),
		}},
	}
}

// sandboxClient is an admin client of one of the sandbox's clusters, through the kubeconfig it
// wrote.
func sandboxClient(t *testing.T, state, cluster string) client.Client {
	t.Helper()
	g := NewWithT(t)
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: filepath.Join(state, "kubeconfig")},
		&clientcmd.ConfigOverrides{CurrentContext: cluster}).ClientConfig()
	g.Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, longhorn.AddToScheme} {
		g.Expect(add(scheme)).To(Succeed())
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	return c
}

// planStatus is one plan's report in the agent's status.
func planStatus(ctx context.Context, g Gomega, addr, plan string) planner.PlanReport {
	st, _, err := status.Fetch(ctx, addr)
	g.Expect(err).NotTo(HaveOccurred())
	for _, p := range st.Plans {
		if p.Name == plan {
			return p
		}
	}
	g.Expect(st.Plans).To(ContainElement(HaveField("Name", plan)))
	return planner.PlanReport{}
}

// proc is a drplan process of the test's: its output kept, its lines readable as they come.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	lines chan string
	out   strings.Builder // what waitFor read
	log   string          // everything, in a file
	done  chan struct{}
}

// startProc runs bin with args in dir, without the components' environment variables (only
// flags name them), and kills it when the test ends; on failure its output's tail is logged.
func startProc(t *testing.T, dir, name, bin string, args ...string) *proc {
	t.Helper()
	g := NewWithT(t)
	p := &proc{t: t, name: name, lines: make(chan string, 1000), log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, testenv.EnvKubeAssets+"=") && !strings.HasPrefix(e, testenv.EnvGiteaDir+"=") {
			p.cmd.Env = append(p.cmd.Env, e)
		}
	}
	logf, err := os.Create(p.log)
	g.Expect(err).NotTo(HaveOccurred())
	stdout, err := p.cmd.StdoutPipe()
	g.Expect(err).NotTo(HaveOccurred())
	p.cmd.Stderr = logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	g.Expect(p.cmd.Start()).To(Succeed())
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
		_ = p.cmd.Wait()
		_ = logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t, syscall.SIGTERM, time.Minute)
		if t.Failed() {
			logTail(t, p.log, "", 60)
		}
	})
	return p
}

// logTail logs the last n lines of a file that match re.
func logTail(t *testing.T, path, re string, n int) {
	b, _ := os.ReadFile(path)
	match := regexp.MustCompile(re)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if match.MatchString(l) {
			lines = append(lines, l)
		}
	}
	lines = lines[max(0, len(lines)-n):]
	t.Logf("%s (tail):\n%s", path, strings.Join(lines, "\n"))
}

// waitFor reads lines until one matches re, and returns everything read so far.
func (p *proc) waitFor(re *regexp.Regexp, within time.Duration) string {
	p.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("%s exited before %q; output:\n%s", p.name, re, p.out.String())
			}
			p.out.WriteString(l + "\n")
			if re.MatchString(l) {
				return p.out.String()
			}
		case <-deadline:
			p.t.Fatalf("%s: no %q within %s; output:\n%s", p.name, re, within, p.out.String())
		}
	}
}

// output is everything the process wrote to stdout, once it has exited.
func (p *proc) output() string {
	<-p.done
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// stop signals the process and waits for it; it is killed after within.
func (p *proc) stop(t *testing.T, sig syscall.Signal, within time.Duration) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop within %s of %s", p.name, within, sig)
	}
}
