package executor_test

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/internal/executor"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/testenv"
)

const ns = "longhorn-system"

type conn struct {
	c      client.Client
	mu     sync.Mutex
	failed []error
}

func (c *conn) Client() client.Client { return c.c }

func (c *conn) MarkFailed(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = append(c.failed, err)
}

// events records reasons; the executor calls it from several goroutines.
type events struct {
	mu      sync.Mutex
	reasons []string
}

func (e *events) Event(_ string, _ runtime.Object, reason, _ string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reasons = append(e.reasons, reason)
}

func TestExecute(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	crds, err := longhorn.CRDs()
	g.Expect(err).NotTo(HaveOccurred())
	east := testenv.StartTestCluster(t, "east", testenv.ClusterOptions{CRDs: crds})
	k8s, err := client.New(east.Config, client.Options{Scheme: cluster.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(k8s.Create(ctx, &corev1Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())

	// A source volume drplan does not own, with a label of someone else's.
	src := &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "pg-data", Namespace: ns, Labels: map[string]string{"team": "db"}}}
	src.Spec.NumberOfReplicas = 3
	g.Expect(k8s.Create(ctx, src)).To(Succeed())
	bv := &longhorn.BackupVolume{ObjectMeta: metav1.ObjectMeta{Name: "pg-data-4674ee58", Namespace: ns}}
	g.Expect(k8s.Create(ctx, bv)).To(Succeed())

	c := &conn{c: k8s}
	rec := &events{}
	ex := executor.New(executor.Options{Clusters: map[string]executor.Cluster{"east": c}, Recorder: rec})
	job := &longhorn.RecurringJob{TypeMeta: metav1.TypeMeta{APIVersion: "longhorn.io/v1beta2", Kind: "RecurringJob"},
		ObjectMeta: metav1.ObjectMeta{Name: "drplan-payments", Namespace: ns, Labels: map[string]string{planner.LabelPlan: "payments"}},
		Spec: longhorn.RecurringJobSpec{Name: "drplan-payments", Task: longhorn.RecurringJobTaskBackup, Cron: "*/15 * * * *",
			Retain: 10, Concurrency: 2, Groups: []string{}, Labels: map[string]string{}}}
	standby := &longhorn.Volume{TypeMeta: metav1.TypeMeta{APIVersion: "longhorn.io/v1beta2", Kind: "Volume"},
		ObjectMeta: metav1.ObjectMeta{Name: "pg-data-dr", Namespace: ns}}
	standby.Spec.Standby, standby.Spec.FromBackup, standby.Spec.NumberOfReplicas = true, "s3://b@r/?backup=backup-1&volume=pg-data", 3
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	target := planner.Target{ClusterName: "east", PlanName: "payments"}
	actions := []planner.Action{
		&planner.ApplyRecurringJob{Target: target, Job: job, Create: true},
		&planner.PatchVolumeLabels{Target: target, Namespace: ns, Volume: "pg-data", Set: map[string]string{"recurring-job.longhorn.io/drplan-payments": "enabled"}},
		&planner.CreateStandbyVolume{Target: target, Volume: standby, Backup: "backup-1"},
		&planner.RequestSync{Target: target, Kind: planner.SyncBackupVolume, Namespace: ns, Name: bv.Name, At: at, Reason: "test"},
	}

	// Twice: every action is idempotent.
	for range 2 {
		outcomes := ex.Execute(ctx, actions)
		g.Expect(executor.Errors(outcomes)).To(Succeed())
	}
	g.Expect(rec.reasons).To(HaveLen(8))

	var gotJob longhorn.RecurringJob
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(job), &gotJob)).To(Succeed())
	g.Expect(gotJob.Spec.Cron).To(Equal("*/15 * * * *"))
	g.Expect(gotJob.Spec.Concurrency).To(Equal(2))
	g.Expect(gotJob.ManagedFields).NotTo(BeEmpty())
	g.Expect(gotJob.ManagedFields[0].Manager).To(Equal("drplan"))
	rv := gotJob.ResourceVersion

	var gotSrc longhorn.Volume
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(src), &gotSrc)).To(Succeed())
	g.Expect(gotSrc.Labels).To(Equal(map[string]string{"team": "db", "recurring-job.longhorn.io/drplan-payments": "enabled"}))
	g.Expect(gotSrc.Spec.NumberOfReplicas).To(Equal(3), "a label patch touches no other field")

	var gotBV longhorn.BackupVolume
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(bv), &gotBV)).To(Succeed())
	g.Expect(gotBV.Spec.SyncRequestedAt.Time.Equal(at)).To(BeTrue())

	var gotStandby longhorn.Volume
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(standby), &gotStandby)).To(Succeed())
	g.Expect(gotStandby.Spec.Standby).To(BeTrue())

	// Removing a label, and re-applying an unchanged job, leave everything else alone.
	outcomes := ex.Execute(ctx, []planner.Action{
		&planner.PatchVolumeLabels{Target: target, Namespace: ns, Volume: "pg-data", Remove: []string{"recurring-job.longhorn.io/drplan-payments"}},
		&planner.ApplyRecurringJob{Target: target, Job: job},
	})
	g.Expect(executor.Errors(outcomes)).To(Succeed())
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(src), &gotSrc)).To(Succeed())
	g.Expect(gotSrc.Labels).To(Equal(map[string]string{"team": "db"}))
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(job), &gotJob)).To(Succeed())
	g.Expect(gotJob.ResourceVersion).To(Equal(rv), "an unchanged apply is a no-op")

	// A source volume with a claim: the claim's job labels change with the volume's (a claim
	// labelled recurring-job.longhorn.io/source=enabled owns them in Longhorn); a claim that is
	// gone is no error.
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-pg-0", Namespace: ns,
		Labels: map[string]string{"recurring-job.longhorn.io/source": "enabled", "recurring-job-group.longhorn.io/default": "enabled"}}}
	pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	pvc.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	g.Expect(k8s.Create(ctx, pvc)).To(Succeed())
	outcomes = ex.Execute(ctx, []planner.Action{
		&planner.PatchVolumeLabels{Target: target, Namespace: ns, Volume: "pg-data", Claim: &planner.ClaimRef{Namespace: ns, Name: "data-pg-0"},
			Set: map[string]string{"recurring-job.longhorn.io/drplan-payments": "enabled", "recurring-job-group.longhorn.io/default": "disabled"}},
	})
	g.Expect(executor.Errors(outcomes)).To(Succeed())
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pvc), pvc)).To(Succeed())
	g.Expect(pvc.Labels).To(Equal(map[string]string{"recurring-job.longhorn.io/source": "enabled",
		"recurring-job.longhorn.io/drplan-payments": "enabled", "recurring-job-group.longhorn.io/default": "disabled"}))
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(src), &gotSrc)).To(Succeed())
	g.Expect(gotSrc.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-payments", "enabled"))
	outcomes = ex.Execute(ctx, []planner.Action{
		&planner.PatchVolumeLabels{Target: target, Namespace: ns, Volume: "pg-data", Claim: &planner.ClaimRef{Namespace: ns, Name: "gone"},
			Remove: []string{"recurring-job.longhorn.io/drplan-payments"}},
	})
	g.Expect(executor.Errors(outcomes)).To(Succeed())

	// An unknown cluster is an error for that action only.
	outcomes = ex.Execute(ctx, []planner.Action{
		&planner.RequestSync{Target: planner.Target{ClusterName: "north", PlanName: "payments"}, Kind: planner.SyncBackupTarget, Namespace: ns, Name: "default", At: at},
		&planner.PatchVolumeLabels{Target: target, Namespace: ns, Volume: "pg-data", Set: map[string]string{"x": "y"}},
	})
	g.Expect(outcomes[0].Err).To(MatchError(ContainSubstring("cluster north is not configured")))
	g.Expect(outcomes[1].Err).NotTo(HaveOccurred())

	// A cluster that stopped answering: the action fails and the connection is told.
	g.Expect(east.Stop()).To(Succeed())
	outcomes = ex.Execute(ctx, []planner.Action{
		&planner.PatchVolumeLabels{Target: target, Namespace: ns, Volume: "pg-data", Set: map[string]string{"x": "z"}},
	})
	g.Expect(outcomes[0].Err).To(HaveOccurred())
	g.Expect(c.failed).NotTo(BeEmpty())
	g.Expect(errors.Is(outcomes[0].Err, os.ErrNotExist)).To(BeFalse())
}
