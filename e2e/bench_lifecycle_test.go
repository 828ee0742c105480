package e2e

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// The benchmarks of the agent's reactions, of replication lag and of a crash mid-failover, on
// one lab whose BackupTargets poll the store every lifecyclePoll.

// lifecyclePoll is the lifecycle lab's BackupTarget poll interval: Longhorn's default is 5
// minutes; one minute keeps the poll-alone lag measurable in a benchmark run.
const lifecyclePoll = time.Minute

// fluxLeaseFlags are fluxcd/pkg/runtime's leader-election defaults, the agent's; drLeaseFlags
// are the ones docs/operations.md recommends for DR.
var (
	fluxLeaseFlags = []string{"--leader-election-lease-duration=35s", "--leader-election-renew-deadline=30s", "--leader-election-retry-period=5s"}
	drLeaseFlags   = []string{"--leader-election-lease-duration=10s", "--leader-election-renew-deadline=7s", "--leader-election-retry-period=2s"}
)

// lifecycleBench is what the lifecycle benchmarks measured.
type lifecycleBench struct {
	// RepoInterval is the agents' repo poll interval (the default).
	RepoInterval time.Duration `json:"repoIntervalNs"`
	// PushToWrite is from a push adding a plan to the agent's first write for it (the plan's
	// RecurringJob on the primary), with the forge's webhook and with polling only.
	PushToWriteWebhook time.Duration `json:"pushToWriteWebhookNs"`
	PushToWritePolling time.Duration `json:"pushToWritePollingNs"`
	// PreviewWebhook and PreviewPolling are from a pull request opened to its preview comment.
	PreviewWebhook time.Duration `json:"previewWebhookNs"`
	PreviewPolling time.Duration `json:"previewPollingNs"`
	// Poll is the lab's BackupTarget poll interval; LagSync and LagPoll are from a backup
	// completed on the primary to the standby volume having restored it, with drplan's sync
	// requests and with Longhorn's poll alone (the agent stopped).
	Poll     time.Duration `json:"pollNs"`
	LagSync  time.Duration `json:"lagSyncNs"`
	LagPoll  time.Duration `json:"lagPollNs"`
	Failover crashBench    `json:"crash"`
}

// crashBench is a failover's time to every volume settled, from the failover commit, without a
// crash and with the leader killed (SIGKILL) once its first wave is under way, under each
// leader-election setting.
type crashBench struct {
	Volumes      int           `json:"volumes"`
	NoCrash      time.Duration `json:"noCrashNs"`
	FluxDefaults time.Duration `json:"fluxDefaultsNs"`
	DRSettings   time.Duration `json:"drSettingsNs"`
}

func runLifecycleBench(t *testing.T, crashVolumes int) lifecycleBench {
	t.Helper()
	_, lab := ownLabPolling(t, "bench-lifecycle", lifecyclePoll)
	res := lifecycleBench{RepoInterval: time.Minute, Poll: lifecyclePoll}
	res.PushToWriteWebhook, res.PreviewWebhook = reaction(t, lab, "react-hook", true)
	res.PushToWritePolling, res.PreviewPolling = reaction(t, lab, "react-poll", false)
	t.Logf("reaction: push to first write %s (webhook) / %s (polling); pull request to preview %s / %s",
		res.PushToWriteWebhook, res.PushToWritePolling, res.PreviewWebhook, res.PreviewPolling)
	res.LagSync, res.LagPoll = lag(t, lab)
	t.Logf("lag: %s with sync requests, %s with a %s poll alone", res.LagSync, res.LagPoll, lifecyclePoll)
	res.Failover = crashCost(t, lab, crashVolumes)
	t.Logf("crash: %+v", res.Failover)
	return res
}

// reaction measures, for an agent with or without the forge's webhook (the repo polled at the
// default interval): a push adding a plan to the plan's RecurringJob on the primary, and a
// pull request opened to its preview comment.
func reaction(t *testing.T, lab *drlab.Lab, name string, webhook bool) (push, preview time.Duration) {
	t.Helper()
	g := NewWithT(t)
	ctx := t.Context()
	east := lab.Clusters["east"]
	vols := []string{name + "-a", name + "-b"}
	for _, v := range vols {
		sourceVolume(t, east, v, nil)
	}
	repo := newPlanRepo(t, lab, name)
	repo.commit(t, "a first plan", map[string]string{"a.yaml": planYAML(name+"-a", "@every 1h", "2h", vols[0])})
	agent := startAgent(t, lab, repo, agentOpts{interval: "1m", forge: true, webhook: webhook})
	g.Eventually(func(g Gomega) {
		g.Expect(east.Client.Get(ctx, key(planner.JobName(name+"-a")), &longhorn.RecurringJob{})).To(Succeed())
	}).WithTimeout(2 * time.Minute).WithPolling(100 * time.Millisecond).Should(Succeed())
	// The agent has fetched; a new push now waits for the webhook or the next poll.
	start := time.Now()
	repo.commit(t, "a second plan", map[string]string{"b.yaml": planYAML(name+"-b", "@every 1h", "2h", vols[1])})
	g.Eventually(func(g Gomega) {
		g.Expect(east.Client.Get(ctx, key(planner.JobName(name+"-b")), &longhorn.RecurringJob{})).To(Succeed())
	}).WithTimeout(3 * time.Minute).WithPolling(50 * time.Millisecond).Should(Succeed())
	push = time.Since(start)

	api, err := lab.Gitea.Client(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	owner := lab.Gitea.Admin
	file, _, err := api.UpdateFile(owner, repo.Name, "a.yaml", gitea.UpdateFileOptions{
		FileOptions: gitea.FileOptions{Message: "a longer RPO", BranchName: "main", NewBranchName: "rpo"},
		SHA:         blobSHA(t, api, owner, repo.Name, "a.yaml"),
		Content:     base64.StdEncoding.EncodeToString([]byte(planYAML(name+"-a", "@every 1h", "3h", vols[0]))),
	})
	g.Expect(err).NotTo(HaveOccurred())
	start = time.Now()
	pr := openPR(t, api, owner, repo.Name, "rpo", "A longer RPO")
	g.Eventually(func(g Gomega) {
		cs := agentComments(t, api, owner, repo.Name, pr.Index)
		g.Expect(cs).To(HaveLen(1))
		g.Expect(cs[0]).To(ContainSubstring("revision=" + file.Commit.SHA))
	}).WithTimeout(3 * time.Minute).WithPolling(100 * time.Millisecond).Should(Succeed())
	preview = time.Since(start)
	agent.stop()
	return push, preview
}

// blobSHA is the SHA of a file on main, for an update through Gitea's API.
func blobSHA(t *testing.T, api *gitea.Client, owner, repo, path string) string {
	t.Helper()
	c, _, err := api.GetContents(owner, repo, "main", path)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return c.SHA
}

// lag measures from a backup completed on the primary to the standby volume having restored it,
// with the agent running (its sync requests) and with the agent stopped (Longhorn's poll alone).
func lag(t *testing.T, lab *drlab.Lab) (withSync, pollAlone time.Duration) {
	t.Helper()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	const vol = "lag-a"
	sourceVolume(t, east, vol, randomBytes(t, 64<<10))
	repo := newPlanRepo(t, lab, "lag")
	repo.commit(t, "protect", map[string]string{"lag.yaml": planYAML("lag", "@every 1h", "2h", vol)})
	agent := startAgent(t, lab, repo, agentOpts{})
	backupAndWait := func() time.Duration {
		data := randomBytes(t, 64<<10)
		NewWithT(t).Expect(east.Sim.WriteVolume(t.Context(), vol, 0, data)).To(Succeed())
		var names []string
		NewWithT(t).Eventually(func(g Gomega) {
			var err error
			names, err = east.Sim.RunRecurringJob(t.Context(), "drplan-lag")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(names).NotTo(BeEmpty())
		}).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
		done := time.Now()
		waitStandbyRestored(t, west, vol, data, 2*lifecyclePoll+time.Minute)
		return time.Since(done)
	}
	// Protected first: the volume bound to the plan's job, one backup, its standby restored it.
	NewWithT(t).Eventually(func(g Gomega) {
		src := &longhorn.Volume{}
		g.Expect(east.Client.Get(t.Context(), key(vol), src)).To(Succeed())
		g.Expect(src.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-lag", "enabled"))
	}).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
	backupAndWait()
	withSync = backupAndWait()
	agent.stop()
	pollAlone = backupAndWait()
	return withSync, pollAlone
}

// crashCost fails over three plans of n volumes in benchWaves waves, each driven by two
// replicas of the agent: once without a crash, and twice with the leader killed as its first
// wave gets under way, under fluxcd's default lease and under the DR settings.
func crashCost(t *testing.T, lab *drlab.Lab, n int) crashBench {
	t.Helper()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	variants := []string{"none", "flux", "dr"}
	var names []string
	for _, v := range variants {
		names = append(names, allVolumes("crash-"+v, n)...)
	}
	createSourceVolumes(t, east, names)
	repo := newPlanRepo(t, lab, "crash")
	files := map[string]string{}
	for _, v := range variants {
		files[v+".yaml"] = benchPlanYAML("crash-"+v, n, false)
	}
	repo.commit(t, "protect", files)
	w := watchSettled(t, west)
	out := crashBench{Volumes: n}
	for _, v := range variants {
		plan := "crash-" + v
		flags := drLeaseFlags
		if v == "flux" {
			flags = fluxLeaseFlags
		}
		replicas := []*agentProc{
			startAgent(t, lab, repo, agentOpts{interval: "2s", leaseFlags: flags}),
			startAgent(t, lab, repo, agentOpts{interval: "2s", leaseFlags: flags}),
		}
		leader := waitLeader(t, replicas)
		// Protected: every source volume bound to the plan's job, one backup each, every
		// standby volume caught up.
		g.Eventually(func(g Gomega) {
			for _, vol := range allVolumes(plan, n) {
				src := &longhorn.Volume{}
				g.Expect(east.Client.Get(ctx, key(vol), src)).To(Succeed())
				g.Expect(src.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-"+plan, "enabled"))
			}
			_, err := east.Sim.RunRecurringJob(ctx, "drplan-"+plan)
			g.Expect(err).NotTo(HaveOccurred())
		}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
		waitCaughtUp(t, leader, []string{plan}, n, 5*time.Minute)
		for _, vol := range allVolumes(plan, n) {
			g.Expect(east.Sim.Detach(ctx, vol)).To(Succeed())
		}
		start := time.Now()
		repo.commit(t, "fail over "+plan, map[string]string{v + ".yaml": benchPlanYAML(plan, n, true)})
		if v != "none" {
			// Killed as the first wave gets under way.
			w.waitRequested(t, waveVolumes(plan, n, 0)[:1], 5*time.Minute)
			leader.kill()
		}
		w.waitSettled(t, allVolumes(plan, n), 5*time.Minute)
		took := w.lastSettled(allVolumes(plan, n)).Sub(start)
		switch v {
		case "none":
			out.NoCrash = took
		case "flux":
			out.FluxDefaults = took
		case "dr":
			out.DRSettings = took
		}
		for _, r := range replicas {
			r.stop()
		}
	}
	return out
}

// waitLeader waits until exactly one replica leads and returns it.
func waitLeader(t *testing.T, replicas []*agentProc) *agentProc {
	t.Helper()
	var leader *agentProc
	NewWithT(t).Eventually(func(g Gomega) {
		var leading []*agentProc
		for _, r := range replicas {
			st, err := r.getStatus()
			g.Expect(err).NotTo(HaveOccurred())
			if st.Leading {
				leading = append(leading, r)
			}
		}
		g.Expect(leading).To(HaveLen(1))
		leader = leading[0]
	}).WithTimeout(2 * time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
	return leader
}

// waitRequested waits until activation was requested for every named volume.
func (w *settleWatch) waitRequested(t *testing.T, names []string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		w.mu.Lock()
		missing := slices.ContainsFunc(names, func(n string) bool { _, ok := w.requested[n]; return !ok })
		w.mu.Unlock()
		if !missing {
			return
		}
		select {
		case <-w.changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("activation of %s not requested after %s", strings.Join(names, ", "), within)
		}
	}
}
