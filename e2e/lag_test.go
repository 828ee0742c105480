package e2e

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
)

// Replication lag with the agent against Longhorn's poll alone, on real time: east backs up two
// volumes every minute (Longhorn's cron), west polls its backup target every 5 minutes. One
// volume is in a plan; the other is backed up by a team's own job with the same cron and
// reaches west only on west's poll. For every backup the test records when it completed on east
// and when it showed up on west (and, for the plan's volume, when the standby volume restored
// it). It runs for 5.5 minutes, so that west polls once; other scenarios run meanwhile.
func TestReplicationLag(t *testing.T) {
	requireLab(t)
	if os.Getenv("E2E_SKIP_SLOW") != "" {
		t.Skip("E2E_SKIP_SLOW is set")
	}
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	dir, err := os.MkdirTemp("", "drplan-e2e-lag-")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	lab, err := drlab.Start(ctx, drlab.Options{Dir: filepath.Join(dir, "lab"), PollInterval: 5 * time.Minute, Gitea: true, Logger: labLogger(dir)})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = lab.Stop() })
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	sourceVolume(t, east, "lag-plan", randomBytes(t, 64<<10))
	sourceVolume(t, east, "lag-poll", randomBytes(t, 64<<10))

	repo := newPlanRepo(t, lab, "lag")
	repo.commit(t, "protect lag-plan", map[string]string{"plan.yaml": strings.Replace(planYAML("lag", "* * * * *", "5m", "lag-plan"), "retain: 5}", "retain: 20}", 1)})
	startAgent(t, lab, repo, agentOpts{})
	// The team's job starts once the agent's first target sync is behind it, so that nothing but
	// west's poll brings lag-poll's backups in.
	g.Eventually(func() error {
		return west.Client.Get(ctx, key("lag-plan"), &longhorn.Volume{})
	}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
	team := &longhorn.RecurringJob{ObjectMeta: metav1.ObjectMeta{Name: "team-lag", Namespace: ns},
		Spec: longhorn.RecurringJobSpec{Name: "team-lag", Task: longhorn.RecurringJobTaskBackup, Cron: "* * * * *", Retain: 10, Concurrency: 1}}
	g.Expect(east.Client.Create(ctx, team)).To(Succeed())
	g.Expect(east.Client.Patch(ctx, &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "lag-poll", Namespace: ns}},
		client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"recurring-job.longhorn.io/team-lag":"enabled"}}}`)))).To(Succeed())

	type seen struct{ completed, onWest, restored time.Time }
	var mu sync.Mutex
	backups := map[string]map[string]*seen{"lag-plan": {}, "lag-poll": {}}
	deadline := time.Now().Add(330 * time.Second)
	for time.Now().Before(deadline) {
		now := time.Now()
		var eb, wb longhorn.BackupList
		g.Expect(east.Client.List(ctx, &eb, client.InNamespace(ns))).To(Succeed())
		g.Expect(west.Client.List(ctx, &wb, client.InNamespace(ns))).To(Succeed())
		e := &longhorn.Engine{}
		restored := ""
		if west.Client.Get(ctx, key(longhorn.EngineName("lag-plan")), e) == nil {
			restored = e.Status.LastRestoredBackup
		}
		mu.Lock()
		for _, b := range eb.Items {
			if m := backups[b.Status.VolumeName]; m != nil && b.Status.State == longhorn.BackupStateCompleted && m[b.Name] == nil {
				m[b.Name] = &seen{completed: now}
			}
		}
		for _, b := range wb.Items {
			if s := backups[b.Status.VolumeName][b.Name]; s != nil && s.onWest.IsZero() {
				s.onWest = now
			}
		}
		if s := backups["lag-plan"][restored]; s != nil && s.restored.IsZero() {
			s.restored = now
		}
		mu.Unlock()
		time.Sleep(250 * time.Millisecond)
	}

	report := func(volume string) (n int, reached []time.Duration, missing int) {
		for _, s := range backups[volume] {
			n++
			if s.onWest.IsZero() {
				missing++
				continue
			}
			reached = append(reached, s.onWest.Sub(s.completed))
		}
		sort.Slice(reached, func(i, j int) bool { return reached[i] < reached[j] })
		return
	}
	nPlan, planLag, planMissing := report("lag-plan")
	nPoll, pollLag, pollMissing := report("lag-poll")
	var restoreLag []time.Duration
	for _, s := range backups["lag-plan"] {
		if !s.restored.IsZero() {
			restoreLag = append(restoreLag, s.restored.Sub(s.completed))
		}
	}
	sort.Slice(restoreLag, func(i, j int) bool { return restoreLag[i] < restoreLag[j] })
	t.Logf("with the agent: %d backups, reached west after %s (max %s), %d not yet; standby restored them after %s",
		nPlan, fmtDurations(planLag), maxDuration(planLag), planMissing, fmtDurations(restoreLag))
	t.Logf("west's 5m poll alone: %d backups, reached west after %s (max %s), %d not yet when the test ended",
		nPoll, fmtDurations(pollLag), maxDuration(pollLag), pollMissing)

	g.Expect(nPlan).To(BeNumerically(">=", 4), "east's cron made a backup every minute")
	g.Expect(planMissing).To(BeNumerically("<=", 1), "only a backup made in the last seconds may not have reached west yet")
	g.Expect(maxDuration(planLag)).To(BeNumerically("<", 15*time.Second), "the agent's sync requests bring each backup in within seconds")
	g.Expect(nPoll).To(BeNumerically(">=", 3))
	g.Expect(len(pollLag)).To(BeNumerically(">=", 1), "west's poll brought the team's backups in")
	g.Expect(maxDuration(pollLag)).To(BeNumerically(">", time.Minute), "without the agent a backup waits for west's poll")
}

func fmtDurations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(100 * time.Millisecond).String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func maxDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[len(ds)-1]
}
