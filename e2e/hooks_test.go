package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// hookScript writes a backup hook for plan: run as `sh <script> <phase> [exit status]` by the
// stand-in kubelet of the primary (a real process, through the API server's pods/exec), it
// appends to the log one line: the phase, the time, and the plan's Snapshot CRs it sees in the
// primary at that moment (name=readyToUse), then exits with the status asked for.
func hookScript(t *testing.T, primary *drlab.Cluster, plan string) (script, log string) {
	t.Helper()
	dir := t.TempDir()
	script, log = filepath.Join(dir, "hook.sh"), filepath.Join(dir, "hooks.log")
	body := fmt.Sprintf(`#!/bin/sh
seen=$(kubectl --kubeconfig=%s -n %s get snapshots.longhorn.io -l %s=%s -o 'jsonpath={range .items[*]}{.metadata.name}={.status.readyToUse} {end}' 2>&1)
echo "$1 $(date +%%s.%%N) [$seen]" >> %s
exit ${2:-0}
`, primary.API.Kubeconfig, ns, planner.LabelPlan, plan, log)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, log
}

// hookRun is one line of a hook log.
type hookRun struct {
	phase string
	at    time.Time
	seen  map[string]string // snapshot name: readyToUse
}

func readHookLog(g Gomega, path string) []hookRun {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	var out []hookRun
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		phase, rest, _ := strings.Cut(sc.Text(), " ")
		stamp, seen, _ := strings.Cut(rest, " ")
		secs, err := strconv.ParseFloat(stamp, 64)
		g.Expect(err).NotTo(HaveOccurred(), sc.Text())
		r := hookRun{phase: phase, at: time.Unix(0, int64(secs*1e9)), seen: map[string]string{}}
		for _, s := range strings.Fields(strings.Trim(seen, "[]")) {
			name, ready, _ := strings.Cut(s, "=")
			r.seen[name] = ready
		}
		out = append(out, r)
	}
	return out
}

// hookPod runs a pod labelled app=<app> on the cluster's node, as the application's.
func hookPod(t *testing.T, c *drlab.Cluster, namespace, name, app string) {
	t.Helper()
	g := NewWithT(t)
	ctx := t.Context()
	g.Expect(client.IgnoreAlreadyExists(c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}))).To(Succeed())
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeName: c.Node, Containers: []corev1.Container{{Name: "db", Image: "postgres:17"}}}}
	g.Expect(c.Client.Create(ctx, pod)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(c.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
		g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
}

// hooksYAML is a wave's backupHooks running script for pre (ending with status preExit) and post.
func hooksYAML(namespace, app, script string, preExit int, extra string) string {
	return fmt.Sprintf("      backupHooks:\n"+
		"        pre: [{name: quiesce, exec: {namespace: %[1]s, selector: {app: %[2]s}, command: [sh, %[3]s, pre, \"%[4]d\"]}, timeout: 30s}]\n"+
		"        post: [{name: resume, exec: {namespace: %[1]s, selector: {app: %[2]s}, command: [sh, %[3]s, post]}, timeout: 30s}]\n%[5]s",
		namespace, app, script, preExit, extra)
}

// TestBackupHooksAroundFinalBackup: the final backup of a planned switchover is taken between the
// wave's hooks, run in the application's pod through pods/exec: the pre hook before the snapshot
// exists, the post hook once it is taken; the backup says it is application-consistent, in the
// primary, in the secondary's copy, and in the status of the standby that restored it.
func TestBackupHooksAroundFinalBackup(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	script, log := hookScript(t, east, "hookb")
	hookPod(t, east, "hookb", "pg-0", "hookb-db")
	p := foPlan{name: "hookb", catchUp: "2m",
		waves:   []foWave{{name: "db", extra: hooksYAML("hookb", "hookb-db", script, 0, "")}},
		volumes: []foVolume{{name: "hookb-db", wave: "db"}}}
	setup := protectForFailover(t, lab, east, west, p)
	g.Expect(readHookLog(g, log)).To(BeEmpty(), "crash-consistent scheduled backups run no hooks")
	g.Expect(east.Sim.Detach(ctx, "hookb-db")).To(Succeed(), "the application on east is stopped already")
	p.failover = true
	setup.repo.commit(t, "fail over hookb", p.commitFiles())
	rec := waitFailoverDone(t, west, p.name, 3*time.Minute)

	final := planner.FinalSnapshotName(p.name, "hookb-db", rec.Revision)
	runs := readHookLog(g, log)
	g.Expect(runs).To(HaveLen(2), "one pre and one post hook: %+v", runs)
	pre, post := runs[0], runs[1]
	g.Expect(pre.phase).To(Equal("pre"))
	g.Expect(post.phase).To(Equal("post"))
	g.Expect(pre.seen).NotTo(HaveKey(final), "the pre hook ran before the snapshot existed")
	g.Expect(post.seen).To(HaveKeyWithValue(final, "true"), "the post hook ran once it was taken")
	snap := &longhorn.Snapshot{}
	g.Expect(east.Client.Get(ctx, key(final), snap)).To(Succeed())
	taken, err := time.Parse(time.RFC3339, snap.Status.CreationTime)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pre.at.Truncate(time.Second).After(taken)).To(BeFalse(), "pre %s, snapshot %s", pre.at, taken)
	g.Expect(post.at.Before(taken)).To(BeFalse(), "post %s, snapshot %s", post.at, taken)
	g.Expect(snap.Annotations).To(HaveKeyWithValue(planner.LabelConsistency, "application"))
	g.Expect(snap.Annotations[planner.AnnotationHooks]).To(ContainSubstring("pre quiesce ok"))

	backupName := planner.FinalBackupName(p.name, "hookb-db", rec.Revision)
	b := &longhorn.Backup{}
	g.Expect(east.Client.Get(ctx, key(backupName), b)).To(Succeed())
	g.Expect(b.Spec.Labels).To(HaveKeyWithValue(planner.LabelConsistency, "application"))
	g.Expect(west.Client.Get(ctx, key(backupName), b)).To(Succeed())
	g.Expect(b.Status.Labels).To(HaveKeyWithValue(planner.LabelConsistency, "application"), "the store keeps the label: the secondary's copy shows it")
	st, err := setup.agent.getStatus()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(st.Plans[0].Volumes[0].Restored).To(Equal(backupName))
	g.Expect(string(st.Plans[0].Volumes[0].RestoredConsistency)).To(Equal("application"))
}

// TestBackupHookFailures: a pre hook failing with onError Fail takes no snapshot and says so, and
// the post hook still runs; a snapshot that cannot be taken (its volume faulted) fails after the
// hooks' snapshotTimeout, and the post hook runs then too.
func TestBackupHookFailures(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	script, log := hookScript(t, east, "hookf")
	hookPod(t, east, "hookf", "pg-0", "hookf-db")
	p := foPlan{name: "hookf", catchUp: "20m",
		waves:   []foWave{{name: "db", extra: hooksYAML("hookf", "hookf-db", script, 3, "        snapshotTimeout: 5s\n")}},
		volumes: []foVolume{{name: "hookf-db", wave: "db"}}}
	setup := protectForFailover(t, lab, east, west, p)
	g.Expect(east.Sim.Detach(ctx, "hookf-db")).To(Succeed())
	p.failover = true
	setup.repo.commit(t, "fail over hookf", p.commitFiles())

	t.Log("the pre hook exits 3: no snapshot, the post hook runs, the agent says so")
	g.Eventually(func(g Gomega) {
		st, err := setup.agent.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans[0].FailoverStatus).NotTo(BeNil())
		g.Expect(st.Plans[0].FailoverStatus.Waiting).To(And(ContainSubstring("pre quiesce failed"), ContainSubstring("exit code 3"),
			ContainSubstring("no snapshot taken"), ContainSubstring("post resume ok"), ContainSubstring("tried again at")))
	}).WithTimeout(2 * time.Minute).WithPolling(poll).Should(Succeed())
	runs := readHookLog(g, log)
	g.Expect(len(runs)).To(BeNumerically(">=", 2))
	g.Expect(runs[0].phase).To(Equal("pre"))
	g.Expect(runs[1].phase).To(Equal("post"), "the post hook runs once the pre hook ran, though it failed")
	rec, err := readRecord(ctx, west, p.name)
	g.Expect(err).NotTo(HaveOccurred())
	snap := &longhorn.Snapshot{}
	g.Expect(east.Client.Get(ctx, key(planner.FinalSnapshotName(p.name, "hookf-db", rec.Revision)), snap)).NotTo(Succeed(), "no snapshot was taken")
	st, err := setup.agent.getStatus()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(st.Plans[0].FailoverStatus.Step).To(Equal(planner.StepFinalBackup), "the failover waits at the final backup")

	t.Log("the hook is fixed, the source volume faults: the snapshot is not taken, and the post hook runs after the timeout")
	g.Expect(east.Sim.FailReplicas(ctx, "hookf-db", 3)).To(Succeed())
	p.waves[0].extra = hooksYAML("hookf", "hookf-db", script, 0, "        snapshotTimeout: 5s\n")
	setup.repo.commit(t, "hookf: the pre hook succeeds", p.commitFiles())
	g.Eventually(func(g Gomega) {
		st, err := setup.agent.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans[0].FailoverStatus.Waiting).To(And(ContainSubstring("snapshots not taken within 5s"), ContainSubstring("post resume ok")))
	}).WithTimeout(2 * time.Minute).WithPolling(poll).Should(Succeed())
	runs = readHookLog(g, log)
	var lastPre, lastPost hookRun
	for _, r := range runs {
		if r.phase == "pre" {
			lastPre = r
		} else {
			lastPost = r
		}
	}
	g.Expect(lastPost.at.Sub(lastPre.at)).To(BeNumerically(">=", 5*time.Second), "the post hook ran once the snapshot timed out")
	g.Expect(lastPost.seen).To(HaveKey(planner.FinalSnapshotName(p.name, "hookf-db", rec.Revision)))
	g.Expect(lastPost.seen[planner.FinalSnapshotName(p.name, "hookf-db", rec.Revision)]).NotTo(Equal("true"), "the snapshot was not taken")
	g.Expect(east.Client.Get(ctx, key(planner.FinalSnapshotName(p.name, "hookf-db", rec.Revision)), snap)).NotTo(Succeed(),
		"a snapshot not taken between the hooks is not left for Longhorn to take later")
}
