package e2e

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/backups"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// TestApplicationConsistentSchedule: with schedule.consistency application the agent runs the
// plan's cron itself: each minute, on the minute, it runs the wave's hooks around the snapshot
// and backs it up; Longhorn's recurring job is not used at all; the standby restores the
// backups, and the status says they are application-consistent.
func TestApplicationConsistentSchedule(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east := lab.Clusters["east"]
	script, log := hookScript(t, east, "acs")
	hookPod(t, east, "acs", "pg-0", "acs-db")
	sourceVolume(t, east, "acs-db", randomBytes(t, 2*64<<10))
	p := foPlan{name: "acs", catchUp: "1m", schedule: `{cron: "* * * * *", retain: 10, consistency: application}`,
		waves:   []foWave{{name: "db", extra: hooksYAML("acs", "acs-db", script, 0, "")}},
		volumes: []foVolume{{name: "acs-db", wave: "db"}}}
	repo := newPlanRepo(t, lab, p.name)
	repo.commit(t, "protect acs, application-consistent", p.commitFiles())
	agent := startAgent(t, lab, repo, agentOpts{})

	t.Log("two runs of the cron, each on the minute, each between the hooks")
	var scheduled []longhorn.Backup
	g.Eventually(func(g Gomega) {
		var bl longhorn.BackupList
		g.Expect(east.Client.List(ctx, &bl, client.InNamespace(ns), client.MatchingLabels{planner.LabelPlan: p.name, longhorn.LabelBackupVolume: "acs-db"})).To(Succeed())
		scheduled = nil
		for _, b := range bl.Items {
			g.Expect(b.Labels).To(HaveKeyWithValue(backups.LabelScheduled, "true"), "backup %s is the agent's, none is Longhorn's recurring job's", b.Name)
			if b.Status.State == longhorn.BackupStateCompleted {
				scheduled = append(scheduled, b)
			}
		}
		g.Expect(len(scheduled)).To(BeNumerically(">=", 2))
	}).WithTimeout(200 * time.Second).WithPolling(time.Second).Should(Succeed())
	for _, b := range scheduled {
		g.Expect(b.Spec.Labels).To(HaveKeyWithValue(planner.LabelConsistency, "application"))
		taken := b.Status.SnapshotCreatedAt.Time
		g.Expect(taken.Second()).To(BeNumerically("<", 15), "the cron fires on the minute: snapshot of %s taken at %s", b.Name, taken)
	}
	rj := &longhorn.RecurringJob{}
	g.Expect(east.Client.Get(ctx, key("drplan-"+p.name), rj)).NotTo(Succeed(), "no Longhorn recurring job")
	src := &longhorn.Volume{}
	g.Expect(east.Client.Get(ctx, key("acs-db"), src)).To(Succeed())
	g.Expect(src.Labels).NotTo(HaveKey("recurring-job.longhorn.io/drplan-" + p.name))

	runs := readHookLog(g, log)
	g.Expect(len(runs)).To(BeNumerically(">=", 4))
	for i := 0; i+1 < len(runs); i += 2 {
		pre, post := runs[i], runs[i+1]
		g.Expect([]string{pre.phase, post.phase}).To(Equal([]string{"pre", "post"}), "runs %d and %d", i, i+1)
		name := backups.ScheduledName("drplan-", p.name, "acs-db", pre.at.UTC().Truncate(time.Minute))
		g.Expect(pre.seen).NotTo(HaveKey(name), "the pre hook ran before the run's snapshot existed")
		g.Expect(post.seen).To(HaveKeyWithValue(name, "true"), "the post hook ran once it was taken (run at %s)", pre.at)
	}

	t.Log("the standby restores them; the status says so")
	g.Eventually(func(g Gomega) {
		st, err := agent.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans).To(HaveLen(1))
		v := st.Plans[0].Volumes[0]
		g.Expect(string(v.LastBackupConsistency)).To(Equal("application"))
		g.Expect(string(v.RestoredConsistency)).To(Equal("application"))
		sc := st.Plans[0].Schedule
		g.Expect(sc).NotTo(BeNil())
		g.Expect(sc.Error).To(BeEmpty())
		g.Expect(sc.Waves).To(ConsistOf(HaveField("Consistency", BeEquivalentTo("application"))))
		g.Expect(sc.Next.Second()).To(BeZero(), fmt.Sprintf("next run %s", sc.Next))
	}).WithTimeout(2 * time.Minute).WithPolling(poll).Should(Succeed())

	t.Log("the application's pod goes: a preview (drplan diff) says the hook selects nothing, with its file and line")
	out, _ := runCLI(t, "diff", "--config", agent.config)
	g.Expect(out).NotTo(ContainSubstring("selects no running pod"))
	g.Expect(east.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "acs", Name: "pg-0"}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		out, _ := runCLI(t, "diff", "--config", agent.config)
		g.Expect(out).To(MatchRegexp(`plan acs problem: acs\.yaml:\d+:\d+: spec\.waves\[0\]\.backupHooks\.pre\[0\]\.exec\.selector: app=acs-db in namespace acs selects no running pod in cluster east`))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
}
