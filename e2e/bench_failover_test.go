package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// The failover benchmark: three plans of n volumes in benchWaves waves, protected by the agent;
// then, one after another on the same lab, the same activation three ways:
//   - limit: a bare client-go program with the agent's QPS and burst, every patch of a wave at
//     once, waiting on a watch for the wave's volumes to settle;
//   - manual: the Longhorn docs' way, one `kubectl patch` per volume and a `kubectl wait` per
//     wave;
//   - drplan: the agent failing over its plan after a commit sets failover: true.
// One watch on the secondary times every route alike: a route's waves take from the first
// activation request it makes to the last of its volumes settled (activated and detached by
// Longhorn, longhorn.ActivationSettled).

const benchWaves = 4

// Routes, by the prefix of their plan and volumes.
const (
	routeDrplan = "drplan"
	routeLimit  = "limit"
	routeManual = "manual"
)

// failoverBench is one size's results.
type failoverBench struct {
	Volumes int `json:"volumes"`
	// Backups is how long the simulated primary took to take the first backup of every source
	// volume (the recurring jobs run at once): the simulator's work, before drplan's.
	Backups time.Duration `json:"backupsNs"`
	// Protect is from those backups taken to every standby volume of the three plans created
	// and caught up (3×Volumes standby volumes).
	Protect time.Duration `json:"protectNs"`
	// Waves is each route's time from its first activation request to its last volume settled.
	Waves map[string]time.Duration `json:"wavesNs"`
	// WaveTimes is each route's time per wave, the same way.
	WaveTimes map[string][]time.Duration `json:"waveTimesNs"`
	// DrplanTotal is from the failover revision fetched (the agent's "plans loaded" log line)
	// to every volume settled.
	DrplanTotal time.Duration `json:"drplanTotalNs"`
	// Steady is the agent's cost while nothing changes, with 3×Volumes volumes protected.
	Steady steadyBench `json:"steady"`
}

// steadyBench is what the agent costs while nothing changes.
type steadyBench struct {
	// Window is how long the agent was watched, with one pass per second (resync 1s).
	Window time.Duration `json:"windowNs"`
	Passes float64       `json:"passes"`
	// Requests are the API requests the agent made in the window, both clusters.
	Requests float64 `json:"requests"`
	// CPUPerPass is the agent's CPU time per pass in the window.
	CPUPerPass time.Duration `json:"cpuPerPassNs"`
	// RSS is the agent's resident memory at the end of the window, in bytes.
	RSS int64 `json:"rssBytes"`
}

func benchVolume(route string, i int) string { return fmt.Sprintf("%s-%04d", route, i) }

// benchPlanYAML is a plan of n volumes of route in benchWaves waves, without gates.
func benchPlanYAML(route string, n int, failover bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: %s
spec:
  primary: east
  secondary: west
  schedule: {cron: "@every 1h", retain: 3, concurrency: 20}
  rpo: 2h
  failover: %t
  volumes:
`, route, failover)
	for i := range n {
		fmt.Fprintf(&b, "    - {name: %s, replicas: 1, wave: w%d}\n", benchVolume(route, i), waveOf(i, n)+1)
	}
	b.WriteString("  waves:\n")
	for w := range benchWaves {
		fmt.Fprintf(&b, "    - name: w%d\n", w+1)
	}
	return b.String()
}

// waveOf is volume i's wave (0-based) of n volumes spread evenly.
func waveOf(i, n int) int { return i * benchWaves / n }

// runFailoverBench runs the whole failover benchmark at n volumes per route on a lab of its own
// (the simulator answering at once) with the plans repo in the shared lab's Gitea.
func runFailoverBench(t *testing.T, n int) failoverBench {
	t.Helper()
	g := NewWithT(t)
	ctx := t.Context()
	_, lab := ownLab(t, fmt.Sprintf("bench-%d", n))
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	res := failoverBench{Volumes: n, Waves: map[string]time.Duration{}, WaveTimes: map[string][]time.Duration{}}
	routes := []string{routeDrplan, routeLimit, routeManual}

	var names []string
	for _, r := range routes {
		for i := range n {
			names = append(names, benchVolume(r, i))
		}
	}
	createSourceVolumes(t, east, names)
	t.Logf("n=%d: %d source volumes attached", n, len(names))

	repo := newPlanRepo(t, lab, fmt.Sprintf("bench-%d", n))
	files := map[string]string{}
	for _, r := range routes {
		files[r+".yaml"] = benchPlanYAML(r, n, false)
	}
	repo.commit(t, "protect three plans", files)
	keep := os.Getenv("DRPLAN_BENCH_KEEP_LOGS")
	pprofAddr := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	agent := startAgent(t, lab, repo, agentOpts{interval: "1s", resync: "1s", args: []string{"--pprof-listen", pprofAddr}})
	if keep != "" {
		t.Cleanup(func() {
			b, _ := os.ReadFile(agent.log)
			_ = os.WriteFile(filepath.Join(keep, fmt.Sprintf("bench-agent-%d.log", n)), b, 0o644)
		})
	}

	// Protection: every source volume labelled, one backup each, every standby caught up.
	g.Eventually(func(g Gomega) {
		var vols longhorn.VolumeList
		g.Expect(east.Client.List(ctx, &vols, client.InNamespace(ns))).To(Succeed())
		labelled := 0
		for _, v := range vols.Items {
			for _, r := range routes {
				if v.Labels["recurring-job.longhorn.io/drplan-"+r] == "enabled" {
					labelled++
				}
			}
		}
		g.Expect(labelled).To(Equal(len(names)))
	}).WithTimeout(5 * time.Minute).WithPolling(time.Second).Should(Succeed())
	// The primary's backups first (the simulator's work alone), then the agent's protection:
	// every standby volume created from them and caught up.
	start := time.Now()
	var wg sync.WaitGroup
	for _, r := range routes {
		wg.Go(func() {
			_, err := east.Sim.RunRecurringJob(ctx, "drplan-"+r)
			g.Expect(err).NotTo(HaveOccurred())
		})
	}
	wg.Wait()
	res.Backups = time.Since(start)
	start = time.Now()
	waitCaughtUp(t, agent, routes, n, 10*time.Minute)
	res.Protect = time.Since(start)
	t.Logf("n=%d: %d backups taken in %s; standby volumes created and caught up %s later", n, len(names), res.Backups.Round(time.Millisecond), res.Protect.Round(time.Millisecond))

	if keep != "" {
		go profileAgent(pprofAddr, filepath.Join(keep, fmt.Sprintf("bench-agent-%d.steady.pprof", n)), 12)
	}
	res.Steady = measureSteady(t, agent, 15*time.Second)
	t.Logf("n=%d: steady state: %+v", n, res.Steady)
	agent.stop()

	w := watchSettled(t, west)
	// limit
	limitCfg, err := clientcmd.BuildConfigFromFlags("", mustAgentKubeconfig(t, lab, "west"))
	g.Expect(err).NotTo(HaveOccurred())
	limitCfg.QPS, limitCfg.Burst = cluster.DefaultQPS, cluster.DefaultBurst
	limit, err := client.New(limitCfg, client.Options{Scheme: cluster.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	// The BackupVolume of each volume, read once beforehand, as drplan has them in its cache.
	var bvs longhorn.BackupVolumeList
	g.Expect(limit.List(ctx, &bvs, client.InNamespace(ns))).To(Succeed())
	bvOf := map[string]string{}
	for _, bv := range bvs.Items {
		bvOf[bv.Labels[longhorn.LabelBackupVolume]] = bv.Name
	}
	for wave := range benchWaves {
		var wg sync.WaitGroup
		vols := waveVolumes(routeLimit, n, wave)
		for _, v := range vols {
			wg.Go(func() { activateLikeDrplan(ctx, g, limit, v, bvOf[v]) })
		}
		wg.Wait()
		w.waitSettled(t, vols, 10*time.Minute)
	}
	res.Waves[routeLimit], res.WaveTimes[routeLimit] = w.route(routeLimit, n)
	t.Logf("n=%d: limit: %s %v", n, res.Waves[routeLimit], res.WaveTimes[routeLimit])

	// manual: the Longhorn docs' way, from a shell.
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for wave := range benchWaves {
		vols := waveVolumes(routeManual, n, wave)
		for _, v := range vols {
			fmt.Fprintf(&script, "kubectl -n %s patch volumes.longhorn.io %s --type merge -p '{\"spec\":{\"Standby\":false,\"frontend\":\"blockdev\"}}' >/dev/null\n", ns, v)
		}
		fmt.Fprintf(&script, "kubectl -n %s wait --timeout=10m --for=jsonpath='{.status.state}'=detached volumes.longhorn.io %s >/dev/null\n", ns, strings.Join(vols, " "))
	}
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Env = append(os.Environ(), "KUBECONFIG="+mustAgentKubeconfig(t, lab, "west"))
	out, err := cmd.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), "manual route: %s", out)
	w.waitSettled(t, allVolumes(routeManual, n), time.Minute)
	res.Waves[routeManual], res.WaveTimes[routeManual] = w.route(routeManual, n)
	t.Logf("n=%d: manual: %s %v", n, res.Waves[routeManual], res.WaveTimes[routeManual])

	// drplan: the agent again, then the failover commit, a planned switchover: the applications
	// on the primary were stopped first, so their volumes are detached.
	agent.start("1s")
	waitCaughtUp(t, agent, []string{routeDrplan}, n, 5*time.Minute)
	for _, v := range allVolumes(routeDrplan, n) {
		g.Expect(east.Sim.Detach(ctx, v)).To(Succeed())
	}
	if keep != "" {
		// A CPU profile of the agent through the failover.
		go profileAgent(pprofAddr, filepath.Join(keep, fmt.Sprintf("bench-agent-%d.failover.pprof", n)), 20)
	}
	pushed := time.Now()
	rev := repo.commit(t, "fail over "+routeDrplan, map[string]string{routeDrplan + ".yaml": benchPlanYAML(routeDrplan, n, true)})
	w.waitSettled(t, allVolumes(routeDrplan, n), 10*time.Minute)
	res.Waves[routeDrplan], res.WaveTimes[routeDrplan] = w.route(routeDrplan, n)
	fetched := agent.loggedAt("plans loaded", "revision", rev)
	if fetched.IsZero() {
		fetched = pushed
	}
	res.DrplanTotal = w.lastSettled(allVolumes(routeDrplan, n)).Sub(fetched)
	t.Logf("n=%d: drplan: waves %s %v, total from fetch %s", n, res.Waves[routeDrplan], res.WaveTimes[routeDrplan], res.DrplanTotal)
	g.Eventually(func(g Gomega) {
		st, err := agent.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		for _, p := range st.Plans {
			if p.Name == routeDrplan {
				g.Expect(p.FailoverStatus).NotTo(BeNil())
				g.Expect(p.FailoverStatus.Phase).To(Equal(planner.FailoverComplete))
			}
		}
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	return res
}

// activateLikeDrplan makes the requests drplan's activation makes (and Longhorn's own activate):
// a sync request on the volume's BackupVolume bv, then spec.Standby false.
func activateLikeDrplan(ctx context.Context, g Gomega, c client.Client, volume, bv string) {
	stamp := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"syncRequestedAt":"`+stamp+`"}}`))
	g.Expect(c.Patch(ctx, &longhorn.BackupVolume{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: bv}}, patch)).To(Succeed())
	patch = client.RawPatch(types.MergePatchType, []byte(`{"spec":{"Standby":false,"frontend":"blockdev"}}`))
	g.Expect(c.Patch(ctx, &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: volume}}, patch)).To(Succeed())
}

// createSourceVolumes creates and attaches every named volume on c, 16 at a time, and waits
// until all are attached and healthy.
func createSourceVolumes(t *testing.T, c *drlab.Cluster, names []string) {
	t.Helper()
	g := NewWithT(t)
	ctx := t.Context()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, name := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			v := &longhorn.Volume{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec:       longhorn.VolumeSpec{Size: 16 << 20, Frontend: longhorn.VolumeFrontendBlockDev, NumberOfReplicas: 1},
			}
			g.Expect(c.Client.Create(ctx, v)).To(Succeed())
			g.Expect(c.Sim.Attach(ctx, name)).To(Succeed())
		})
	}
	wg.Wait()
	g.Eventually(func(g Gomega) {
		var vols longhorn.VolumeList
		g.Expect(c.Client.List(ctx, &vols, client.InNamespace(ns))).To(Succeed())
		ready := 0
		for _, v := range vols.Items {
			if v.Status.State == longhorn.VolumeStateAttached && v.Status.Robustness == longhorn.VolumeRobustnessHealthy {
				ready++
			}
		}
		g.Expect(ready).To(BeNumerically(">=", len(names)))
	}).WithTimeout(5 * time.Minute).WithPolling(time.Second).Should(Succeed())
}

// waitCaughtUp waits until the agent reports every volume of the plans caught up.
func waitCaughtUp(t *testing.T, a *agentProc, plans []string, n int, within time.Duration) {
	t.Helper()
	want := map[string]bool{}
	for _, p := range plans {
		want[p] = true
	}
	NewWithT(t).Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		caught := 0
		for _, p := range st.Plans {
			if !want[p.Name] {
				continue
			}
			for _, v := range p.Volumes {
				if v.State == planner.StandbyCaughtUp {
					caught++
				}
			}
		}
		g.Expect(caught).To(Equal(n*len(plans)), "volumes caught up")
	}).WithTimeout(within).WithPolling(500 * time.Millisecond).Should(Succeed())
}

// measureSteady watches the agent idle for window: passes, API requests, CPU, memory.
func measureSteady(t *testing.T, a *agentProc, window time.Duration) steadyBench {
	t.Helper()
	g := NewWithT(t)
	read := func() (passes, requests, cpu float64) {
		var err error
		passes, err = a.metricValue("drplan_pass_duration_seconds_count")
		g.Expect(err).NotTo(HaveOccurred())
		requests, err = a.metricValue("drplan_cluster_requests_total")
		g.Expect(err).NotTo(HaveOccurred())
		cpu, err = a.metricValue("process_cpu_seconds_total")
		g.Expect(err).NotTo(HaveOccurred())
		return passes, requests, cpu
	}
	// Let the passes that caught the standby volumes up settle first.
	time.Sleep(3 * time.Second)
	p0, r0, c0 := read()
	time.Sleep(window)
	p1, r1, c1 := read()
	st := steadyBench{Window: window, Passes: p1 - p0, Requests: r1 - r0, RSS: a.rss()}
	if st.Passes > 0 {
		st.CPUPerPass = time.Duration((c1 - c0) / st.Passes * float64(time.Second))
	}
	return st
}

// profileAgent writes a CPU profile of the agent over the next seconds to file (make bench
// with DRPLAN_BENCH_KEEP_LOGS set: what the benchmark's note quotes comes from these).
func profileAgent(addr, file string, seconds int) {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds))
	if err != nil {
		return
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	_ = os.WriteFile(file, b, 0o644)
}

// rss is the agent process's resident memory in bytes, 0 when unknown.
func (a *agentProc) rss() int64 {
	if a.cmd == nil || a.cmd.Process == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			_, _ = fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb)
			return kb << 10
		}
	}
	return 0
}

// loggedAt is the time of the agent's first log line with message msg and key equal to value;
// zero when there is none.
func (a *agentProc) loggedAt(msg, key, value string) time.Time {
	b, err := os.ReadFile(a.log)
	if err != nil {
		return time.Time{}
	}
	for _, line := range strings.Split(string(b), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil || e["msg"] != msg || fmt.Sprint(e[key]) != value {
			continue
		}
		if ts, ok := e["ts"].(string); ok {
			if at, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				return at
			}
		}
	}
	return time.Time{}
}

func mustAgentKubeconfig(t *testing.T, lab *drlab.Lab, name string) string {
	t.Helper()
	kc, err := lab.AgentKubeconfigs(t.Context())
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return kc[name]
}

func waveVolumes(route string, n, wave int) []string {
	var out []string
	for i := range n {
		if waveOf(i, n) == wave {
			out = append(out, benchVolume(route, i))
		}
	}
	return out
}

func allVolumes(route string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, benchVolume(route, i))
	}
	return out
}

// settleWatch times, from one watch on the secondary's volumes, when each volume's activation
// was first requested (spec.Standby false) and when it settled.
type settleWatch struct {
	mu        sync.Mutex
	requested map[string]time.Time
	settled   map[string]time.Time
	changed   chan struct{}
}

func watchSettled(t *testing.T, c *drlab.Cluster) *settleWatch {
	t.Helper()
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := &settleWatch{requested: map[string]time.Time{}, settled: map[string]time.Time{}, changed: make(chan struct{}, 1)}
	// An informer, not a bare watch: the API server ends watch streams now and then, and an
	// informer resumes where it stood.
	ca, err := cache.New(c.API.Config, cache.Options{Scheme: cluster.Scheme, DefaultNamespaces: map[string]cache.Config{ns: {}}})
	g.Expect(err).NotTo(HaveOccurred())
	inf, err := ca.GetInformer(ctx, &longhorn.Volume{})
	g.Expect(err).NotTo(HaveOccurred())
	synced := false
	var mu sync.Mutex
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			mu.Lock()
			live := synced
			mu.Unlock()
			if v, ok := obj.(*longhorn.Volume); ok && live {
				w.see(v, time.Now())
			}
		},
	})
	g.Expect(err).NotTo(HaveOccurred())
	go func() { _ = ca.Start(ctx) }()
	g.Expect(ca.WaitForCacheSync(ctx)).To(BeTrue())
	mu.Lock()
	synced = true
	mu.Unlock()
	return w
}

// see records v as seen at; a zero at (the initial list) records nothing for volumes already
// activated, which belong to no route's timing.
func (w *settleWatch) see(v *longhorn.Volume, at time.Time) {
	if at.IsZero() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !v.Spec.Standby {
		if _, ok := w.requested[v.Name]; !ok {
			w.requested[v.Name] = at
		}
	}
	if longhorn.ActivationSettled(v) {
		if _, ok := w.settled[v.Name]; !ok {
			w.settled[v.Name] = at
		}
	}
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *settleWatch) waitSettled(t *testing.T, names []string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		w.mu.Lock()
		missing := 0
		for _, n := range names {
			if _, ok := w.settled[n]; !ok {
				missing++
			}
		}
		w.mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case <-w.changed:
		case <-time.After(time.Second):
		case <-deadline:
			t.Fatalf("%d of %d volumes not settled after %s", missing, len(names), within)
		}
	}
}

// route is a route's time from its first request to its last settle, whole and per wave.
func (w *settleWatch) route(route string, n int) (time.Duration, []time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	span := func(names []string) time.Duration {
		var first, last time.Time
		for _, v := range names {
			if r := w.requested[v]; first.IsZero() || r.Before(first) {
				first = r
			}
			if s := w.settled[v]; s.After(last) {
				last = s
			}
		}
		return last.Sub(first)
	}
	var waves []time.Duration
	for wave := range benchWaves {
		waves = append(waves, span(waveVolumes(route, n, wave)))
	}
	return span(allVolumes(route, n)), waves
}

func (w *settleWatch) lastSettled(names []string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var last time.Time
	for _, v := range names {
		if s := w.settled[v]; s.After(last) {
			last = s
		}
	}
	return last
}
