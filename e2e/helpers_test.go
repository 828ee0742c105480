package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/drlab"
	"github.com/drplan/drplan/internal/freeport"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/status"
)

const (
	ns   = longhorn.DefaultNamespace
	poll = 100 * time.Millisecond
)

func key(name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// sourceVolume creates an attached, healthy Longhorn volume holding data in cluster c, as an
// application on the primary would have it. drplan labels it; the test does not.
func sourceVolume(t *testing.T, c *drlab.Cluster, name string, data []byte) {
	t.Helper()
	g := NewWithT(t)
	v := &longhorn.Volume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       longhorn.VolumeSpec{Size: 16 << 20, Frontend: longhorn.VolumeFrontendBlockDev, NumberOfReplicas: 3},
	}
	g.Expect(c.Client.Create(t.Context(), v)).To(Succeed())
	g.Expect(c.Sim.Attach(t.Context(), name)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(c.Client.Get(t.Context(), key(name), v)).To(Succeed())
		g.Expect(v.Status.State).To(Equal(longhorn.VolumeStateAttached))
		g.Expect(v.Status.Robustness).To(Equal(longhorn.VolumeRobustnessHealthy))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
	if len(data) > 0 {
		g.Expect(c.Sim.WriteVolume(t.Context(), name, 0, data)).To(Succeed())
	}
}

// planRepo is a plans repository in Gitea, written through go-git.
type planRepo struct {
	Name string
	URL  string
	repo *git.Repository
	auth *githttp.BasicAuth
}

func newPlanRepo(t *testing.T, lab *drlab.Lab, name string) *planRepo {
	t.Helper()
	g := NewWithT(t)
	url, err := lab.Gitea.CreateRepo(t.Context(), name)
	g.Expect(err).NotTo(HaveOccurred())
	r, err := git.Init(memory.NewStorage(), memfs.New())
	g.Expect(err).NotTo(HaveOccurred())
	_, err = r.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{url}})
	g.Expect(err).NotTo(HaveOccurred())
	return &planRepo{Name: name, URL: url, repo: r, auth: &githttp.BasicAuth{Username: lab.Gitea.Admin, Password: lab.Gitea.Token}}
}

// commit writes files (path: content; empty content deletes) and pushes to main. It returns the SHA.
func (p *planRepo) commit(t *testing.T, msg string, files map[string]string) string {
	t.Helper()
	return p.commitWith(t, msg, files, &git.CommitOptions{})
}

// commitWith commits and pushes as commit does, with opts (a signing key).
func (p *planRepo) commitWith(t *testing.T, msg string, files map[string]string, opts *git.CommitOptions) string {
	t.Helper()
	g := NewWithT(t)
	wt, err := p.repo.Worktree()
	g.Expect(err).NotTo(HaveOccurred())
	for path, content := range files {
		if content == "" {
			_, err := wt.Remove(path)
			g.Expect(err).NotTo(HaveOccurred())
			continue
		}
		g.Expect(wt.Filesystem.MkdirAll(filepath.Dir(path), 0o755)).To(Succeed())
		f, err := wt.Filesystem.Create(path)
		g.Expect(err).NotTo(HaveOccurred())
		_, err = f.Write([]byte(content))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(f.Close()).To(Succeed())
		_, err = wt.Add(path)
		g.Expect(err).NotTo(HaveOccurred())
	}
	opts.Author = &object.Signature{Name: "e2e", Email: "e2e@drplan.test", When: time.Now()}
	sha, err := wt.Commit(msg, opts)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.repo.PushContext(t.Context(), &git.PushOptions{Auth: p.auth,
		RefSpecs: []gitconfig.RefSpec{"refs/heads/master:refs/heads/main"}})).To(Succeed())
	return sha.String()
}

// pull brings the local clone to the remote main, after a merge made on the forge.
func (p *planRepo) pull(t *testing.T) {
	t.Helper()
	g := NewWithT(t)
	err := p.repo.FetchContext(t.Context(), &git.FetchOptions{Auth: p.auth, RefSpecs: []gitconfig.RefSpec{"+refs/heads/main:refs/remotes/origin/main"}})
	if !errors.Is(err, git.NoErrAlreadyUpToDate) {
		g.Expect(err).NotTo(HaveOccurred())
	}
	ref, err := p.repo.Reference("refs/remotes/origin/main", true)
	g.Expect(err).NotTo(HaveOccurred())
	wt, err := p.repo.Worktree()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(wt.Reset(&git.ResetOptions{Commit: ref.Hash(), Mode: git.HardReset})).To(Succeed())
}

// agentProc is a drplan agent running as its own process.
type agentProc struct {
	t      *testing.T
	dir    string
	config string
	status string
	metric string
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process exited
	log    string
	debug  bool     // --log-level debug: every API request is logged
	args   []string // more command-line flags
	lease  []string // leader-election flags
}

type agentOpts struct {
	interval string   // repo poll interval; default 2s
	resync   string   // default 1s
	forge    bool     // comment on the repo's pull requests in Gitea
	debug    bool     // log at debug level, every API request included
	shard    string   // the AgentConfig's shard, a YAML flow mapping; none when empty
	args     []string // more command-line flags
	webhook  bool     // a webhook listener, and a Gitea webhook on the repo pointing at it
	// leaseFlags replace the short leader-election settings the tests run with.
	leaseFlags []string
	// kubeconfigs replace the lab's agent user (bound to examples/deploy/rbac.yaml) per cluster.
	kubeconfigs map[string]string
	// config is appended to the AgentConfig (top-level YAML fields).
	config string
}

// startAgent writes a config for the lab's clusters and repo and starts the agent.
func startAgent(t *testing.T, lab *drlab.Lab, repo *planRepo, o agentOpts) *agentProc {
	t.Helper()
	g := NewWithT(t)
	if o.interval == "" {
		o.interval = "2s"
	}
	if o.resync == "" {
		o.resync = "1s"
	}
	dir := t.TempDir()
	g.Expect(os.WriteFile(filepath.Join(dir, "token"), []byte(lab.Gitea.Token), 0o600)).To(Succeed())
	ports := freePorts(t, 3)
	a := &agentProc{t: t, dir: dir, config: filepath.Join(dir, "agent.yaml"),
		status: fmt.Sprintf("127.0.0.1:%d", ports[0]), metric: fmt.Sprintf("127.0.0.1:%d", ports[1]), log: filepath.Join(dir, "agent.log"),
		debug: o.debug, args: o.args, lease: o.leaseFlags}
	// The agent runs as a user bound to examples/deploy/rbac.yaml's ClusterRole only: a
	// permission missing there fails the test.
	kc, err := lab.AgentKubeconfigs(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	if o.kubeconfigs != nil {
		kc = o.kubeconfigs
	}
	cfg := fmt.Sprintf(`apiVersion: drplan.io/v1alpha1
kind: AgentConfig
clusters:
  - {name: east, kubeconfig: %s}
  - {name: west, kubeconfig: %s}
longhornNamespace: %s
repo:
  url: %s
  ref: {branch: main}
  interval: %s
  auth: {tokenFile: token}
status: {listen: "%s"}
metrics: {listen: "%s"}
health: {listen: "127.0.0.1:%d"}
leaderElection: {enabled: true, cluster: west}
`, kc["east"], kc["west"], ns, repo.URL, o.interval, a.status, a.metric, ports[2])
	if o.webhook {
		secret := "bench-webhook-secret"
		g.Expect(os.WriteFile(filepath.Join(dir, "webhook-secret"), []byte(secret), 0o600)).To(Succeed())
		listen := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
		cfg += fmt.Sprintf("webhook: {listen: %q, secretFile: webhook-secret}\n", listen)
		api, err := lab.Gitea.Client(t.Context())
		g.Expect(err).NotTo(HaveOccurred())
		_, _, err = api.CreateRepoHook(lab.Gitea.Admin, repo.Name, gitea.CreateHookOption{
			Type: gitea.HookTypeGitea, Active: true, Events: []string{"push", "pull_request"},
			Config: map[string]string{"url": "http://" + listen + "/hooks/git", "content_type": "json", "secret": secret},
		})
		g.Expect(err).NotTo(HaveOccurred())
	}
	if o.shard != "" {
		cfg += "shard: " + o.shard + "\n"
	}
	cfg += o.config
	if o.forge {
		cfg += fmt.Sprintf("forge: {kind: gitea, url: %q, repo: %s/%s, tokenFile: token}\n", lab.Gitea.URL, lab.Gitea.Admin, repo.Name)
	}
	g.Expect(os.WriteFile(a.config, []byte(cfg), 0o600)).To(Succeed())
	a.start(o.resync)
	t.Cleanup(a.stop)
	return a
}

func (a *agentProc) start(resync string) {
	a.t.Helper()
	logf, err := os.OpenFile(a.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	NewWithT(a.t).Expect(err).NotTo(HaveOccurred())
	lease := a.lease
	if lease == nil {
		lease = []string{"--leader-election-lease-duration=4s", "--leader-election-renew-deadline=3s", "--leader-election-retry-period=500ms"}
	}
	a.cmd = exec.Command(shared.bin, append([]string{"agent", "--config", a.config, "--cache-dir", filepath.Join(a.dir, "cache"),
		"--resync", resync}, lease...)...)
	if a.debug {
		a.cmd.Args = append(a.cmd.Args, "--log-level", "debug")
	}
	a.cmd.Args = append(a.cmd.Args, a.args...)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	NewWithT(a.t).Expect(a.cmd.Start()).To(Succeed())
	done := make(chan struct{})
	a.done = done
	go func() { _ = a.cmd.Wait(); _ = logf.Close(); close(done) }()
}

// stop ends the agent (SIGTERM, then SIGKILL) and, on failure, prints its log's tail.
func (a *agentProc) stop() {
	if a.cmd == nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	a.cmd = nil
	if a.t.Failed() {
		b, _ := os.ReadFile(a.log)
		lines := strings.Split(string(b), "\n")
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		a.t.Logf("agent log (tail):\n%s", strings.Join(lines, "\n"))
	}
}

// apiRequests returns the API requests the agent logged (at debug level) since from, one
// "ts cluster method path?query" line each.
func (a *agentProc) apiRequests(from time.Time) []string {
	b, err := os.ReadFile(a.log)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		var e struct {
			TS      string `json:"ts"`
			Msg     string `json:"msg"`
			Cluster string `json:"cluster"`
			Method  string `json:"method"`
			Path    string `json:"path"`
			Query   string `json:"query"`
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Msg != "API request" {
			continue
		}
		if ts, err := time.Parse(time.RFC3339Nano, e.TS); err == nil && !ts.Before(from) {
			out = append(out, fmt.Sprintf("%s %s %s %s?%s", e.TS, e.Cluster, e.Method, e.Path, e.Query))
		}
	}
	return out
}

// getStatus reads the agent's status endpoint.
func (a *agentProc) getStatus() (status.Status, error) {
	st, _, err := status.Fetch(a.t.Context(), a.status)
	return st, err
}

// metricValue reads a series' value from the agent's metrics endpoint, given as its name and
// some of its labels as they appear in the exposition format (e.g.
// `drplan_cluster_requests_total{cluster="west"}`): the sum of every series of that name whose
// labels include those.
func (a *agentProc) metricValue(series string) (float64, error) {
	resp, err := http.Get("http://" + a.metric + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	name, want, _ := strings.Cut(strings.TrimSuffix(series, "}"), "{")
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var sum float64
	found := false
	for sc.Scan() {
		line := sc.Text()
		key, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		n, labels, _ := strings.Cut(strings.TrimSuffix(key, "}"), "{")
		if n != name || !hasLabels(labels, want) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, fmt.Errorf("series %s: %w", key, err)
		}
		sum, found = sum+v, true
	}
	if !found {
		return 0, fmt.Errorf("series %s not found", series)
	}
	return sum, nil
}

// hasLabels reports whether the label list have (a="x",b="y") includes every pair of want.
func hasLabels(have, want string) bool {
	if want == "" {
		return true
	}
	pairs := map[string]bool{}
	for _, p := range strings.Split(have, ",") {
		pairs[p] = true
	}
	for _, p := range strings.Split(want, ",") {
		if !pairs[p] {
			return false
		}
	}
	return true
}

// runCLI runs the drplan binary and returns its stdout and exit code.
func runCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, shared.bin, args...)
	var out strings.Builder
	cmd.Stdout = &out
	stderr, _ := cmd.StderrPipe()
	NewWithT(t).Expect(cmd.Start()).To(Succeed())
	errb, _ := io.ReadAll(stderr)
	err := cmd.Wait()
	code := 0
	if exitErr, ok := errors.AsType[*exec.ExitError](err); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("drplan %v: %v", args, err)
	}
	if len(errb) > 0 {
		t.Logf("drplan %s stderr: %s", strings.Join(args, " "), errb)
	}
	return out.String(), code
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	for range n {
		p, err := freeport.Port()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// planYAML is a DRPlan protecting volumes on east with standby volumes on west.
func planYAML(name, cron, rpo string, volumes ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: %s
spec:
  primary: east
  secondary: west
  schedule: {cron: "%s", retain: 5}
  rpo: %s
  volumes:
`, name, cron, rpo)
	for _, v := range volumes {
		fmt.Fprintf(&b, "    - {name: %s, replicas: 2}\n", v)
	}
	return b.String()
}
