package executor_test

import (
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/internal/executor"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/testenv"
)

// Every failover action against a real API server, each run twice (idempotent), in the order a
// failover runs them; each step checks the resulting objects, not calls.
func TestExecuteFailover(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	crds, err := longhorn.CRDs()
	g.Expect(err).NotTo(HaveOccurred())
	api := testenv.StartTestCluster(t, "west", testenv.ClusterOptions{CRDs: crds})
	k8s, err := client.New(api.Config, client.Options{Scheme: cluster.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	for _, name := range []string{ns, "prod"} {
		g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	}
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(int32(0)),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web"}}}},
	}}
	g.Expect(k8s.Create(ctx, web)).To(Succeed())
	standby := &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "pg-data", Namespace: ns}}
	standby.Spec.Standby, standby.Spec.FromBackup, standby.Spec.NumberOfReplicas, standby.Spec.Size = true, "s3://b@r/?backup=backup-1&volume=pg-data", 3, 1<<30
	g.Expect(k8s.Create(ctx, standby)).To(Succeed())
	bv := &longhorn.BackupVolume{ObjectMeta: metav1.ObjectMeta{Name: "pg-data-4674ee58", Namespace: ns}}
	g.Expect(k8s.Create(ctx, bv)).To(Succeed())
	job := &longhorn.RecurringJob{ObjectMeta: metav1.ObjectMeta{Name: "drplan-payments", Namespace: ns},
		Spec: longhorn.RecurringJobSpec{Name: "drplan-payments", Task: longhorn.RecurringJobTaskBackup, Cron: "@hourly", Retain: 1, Concurrency: 1}}
	g.Expect(k8s.Create(ctx, job)).To(Succeed())
	foreign := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "taken"}, Spec: corev1.PersistentVolumeSpec{
		Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}},
	}}
	g.Expect(k8s.Create(ctx, foreign)).To(Succeed())

	ex := executor.New(executor.Options{Clusters: map[string]executor.Cluster{"west": &conn{c: k8s}}})
	target := planner.Target{ClusterName: "west", PlanName: "payments"}
	labels := map[string]string{planner.LabelManagedBy: planner.ManagedByValue, planner.LabelPlan: "payments"}
	start := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	record := &planner.FailoverRecord{Plan: "payments", Revision: "abc", StartedAt: start, Planned: true,
		Steps: []planner.StepRecord{{Name: planner.StepFinalBackup, StartedAt: start}}}
	readRecord := func(g Gomega) (*planner.FailoverRecord, string) {
		cm := &corev1.ConfigMap{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: planner.RecordName("payments")}, cm)).To(Succeed())
		r := &planner.FailoverRecord{}
		g.Expect(json.Unmarshal([]byte(cm.Data[planner.RecordKey]), r)).To(Succeed())
		g.Expect(cm.Labels).To(Equal(labels))
		return r, cm.ResourceVersion
	}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pg-data", Labels: labels}, Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		StorageClassName:              "longhorn",
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
			Driver: planner.LonghornCSIDriver, VolumeHandle: "pg-data", FSType: "ext4"}},
	}}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-postgres-0", Namespace: "prod", Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			StorageClassName: ptr.To("longhorn"), VolumeName: "pg-data"}}
	snapName := planner.FinalSnapshotName("payments", "pg-data", "abc")
	snap := &longhorn.Snapshot{ObjectMeta: metav1.ObjectMeta{Name: snapName, Namespace: ns, Labels: labels},
		Spec: longhorn.SnapshotSpec{Volume: "pg-data", CreateSnapshot: true}}
	final := &longhorn.Backup{ObjectMeta: metav1.ObjectMeta{Name: planner.FinalBackupName("payments", "pg-data", "abc"), Namespace: ns,
		Labels: longhorn.BackupVolumeLabels("default", "pg-data")},
		Spec: longhorn.BackupSpec{SnapshotName: snapName, BackupMode: longhorn.BackupModeIncremental}}
	syncAt := time.Date(2026, 11, 21, 12, 0, 1, 0, time.UTC)

	steps := []struct {
		name    string
		actions func() []planner.Action
		// once: the actions run once only (the record's precondition changes with each write).
		once  bool
		check func(g Gomega, outcomes []executor.Outcome)
	}{
		{
			name: "create the record",
			once: true,
			actions: func() []planner.Action {
				return []planner.Action{&planner.WriteFailoverRecord{Target: target, Namespace: ns, Name: planner.RecordName("payments"), Labels: labels, Record: record, Event: "started"}}
			},
			check: func(g Gomega, outcomes []executor.Outcome) {
				g.Expect(executor.Errors(outcomes)).To(Succeed())
				r, _ := readRecord(g)
				g.Expect(r.StartedAt.Equal(start)).To(BeTrue())
				g.Expect(r.Steps).To(HaveLen(1))
			},
		},
		{
			name: "a second create of the record is superseded, not an error, and changes nothing",
			once: true,
			actions: func() []planner.Action {
				other := *record
				other.Revision = "other"
				return []planner.Action{&planner.WriteFailoverRecord{Target: target, Namespace: ns, Name: planner.RecordName("payments"), Labels: labels, Record: &other}}
			},
			check: func(g Gomega, outcomes []executor.Outcome) {
				g.Expect(executor.Errors(outcomes)).To(Succeed())
				r, _ := readRecord(g)
				g.Expect(r.Revision).To(Equal("abc"))
			},
		},
		{
			name: "an update with the version read, then one with a stale version that changes nothing",
			once: true,
			actions: func() []planner.Action {
				_, rv := readRecord(g)
				next := *record
				next.Steps = []planner.StepRecord{{Name: planner.StepFinalBackup, StartedAt: start, FinishedAt: start.Add(time.Minute)}, {Name: planner.StepCatchUp, StartedAt: start.Add(time.Minute)}}
				stale := *record
				stale.Steps = nil
				write := func(r *planner.FailoverRecord) planner.Action {
					return &planner.WriteFailoverRecord{Target: target, Namespace: ns, Name: planner.RecordName("payments"), Labels: labels, Record: r, ResourceVersion: rv}
				}
				out := ex.Execute(ctx, []planner.Action{write(&next)})
				g.Expect(executor.Errors(out)).To(Succeed())
				return []planner.Action{write(&stale)}
			},
			check: func(g Gomega, outcomes []executor.Outcome) {
				g.Expect(executor.Errors(outcomes)).To(Succeed())
				r, _ := readRecord(g)
				g.Expect(r.Steps).To(HaveLen(2), "the stale write did not overwrite the newer record")
			},
		},
		{
			name: "scale a Deployment through its scale subresource",
			actions: func() []planner.Action {
				return []planner.Action{&planner.ScaleWorkload{Target: target, APIVersion: "apps/v1", Kind: "Deployment", Namespace: "prod", Name: "web", Replicas: 3}}
			},
			check: func(g Gomega, outcomes []executor.Outcome) {
				g.Expect(executor.Errors(outcomes)).To(Succeed())
				d := &appsv1.Deployment{}
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(web), d)).To(Succeed())
				g.Expect(*d.Spec.Replicas).To(Equal(int32(3)))
				g.Expect(d.Spec.Template.Spec.Containers).To(HaveLen(1), "nothing else changed")
			},
		},
		{
			name: "create the final snapshot once",
			actions: func() []planner.Action {
				return []planner.Action{&planner.CreateSnapshot{Target: target, Snapshot: snap}}
			},
			check: func(g Gomega, outcomes []executor.Outcome) {
				g.Expect(executor.Errors(outcomes)).To(Succeed())
				var list longhorn.SnapshotList
				g.Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
				g.Expect(list.Items).To(HaveLen(1))
				g.Expect(list.Items[0].Spec.Volume).To(Equal("pg-data"))
				g.Expect(list.Items[0].Spec.CreateSnapshot).To(BeTrue())
			},
		},
		{
			name: "create the final backup once",
			actions: func() []planner.Action {
				return []planner.Action{&planner.CreateBackup{Target: target, Backup: final}}
			},
			check: func(g Gomega, outcomes []executor.Outcome) {
				g.Expect(executor.Errors(outcomes)).To(Succeed())
				var list longhorn.BackupList
				g.Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
				g.Expect(list.Items).To(HaveLen(1))
				g.Expect(list.Items[0].Spec.SnapshotName).To(Equal(snapName))
			},
		},
		{
			name: "activate: the backup volume's sync request, then Standby false and blockdev",
			actions: func() []planner.Action {
				return []planner.Action{&planner.ActivateVolume{Target: target, Namespace: ns, Volume: "pg-data", Frontend: longhorn.VolumeFrontendBlockDev,
					BackupVolume: bv.Name, SyncAt: syncAt, Wave: "db"}}
			},
			check: func(g Gomega, outcomes []executor.Outcome) {
				g.Expect(executor.Errors(outcomes)).To(Succeed())
				v := &longhorn.Volume{}
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(standby), v)).To(Succeed())
				g.Expect(v.Spec.Standby).To(BeFalse())
				g.Expect(v.Spec.Frontend).To(Equal(longhorn.VolumeFrontendBlockDev))
				g.Expect(v.Spec.NumberOfReplicas).To(Equal(3), "one patch of two fields")
				got := &longhorn.BackupVolume{}
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(bv), got)).To(Succeed())
				g.Expect(got.Spec.SyncRequestedAt.Time.Equal(syncAt)).To(BeTrue())
			},
		},
		{
			name: "create the PersistentVolume and its claim once",
			actions: func() []planner.Action {
				return []planner.Action{&planner.CreatePersistentVolume{Target: target, PV: pv}, &planner.CreatePersistentVolumeClaim{Target: target, PVC: pvc}}
			},
			check: func(g Gomega, outcomes []executor.Outcome) {
				g.Expect(executor.Errors(outcomes)).To(Succeed())
				got := &corev1.PersistentVolume{}
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pv), got)).To(Succeed())
				g.Expect(got.Spec.CSI.Driver).To(Equal("driver.longhorn.io"))
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pvc), &corev1.PersistentVolumeClaim{})).To(Succeed())
			},
		},
		{
			name: "a PersistentVolume of that name that drplan did not create is an error, and kept",
			actions: func() []planner.Action {
				mine := pv.DeepCopy()
				mine.Name = "taken"
				return []planner.Action{&planner.CreatePersistentVolume{Target: target, PV: mine}}
			},
			check: func(g Gomega, outcomes []executor.Outcome) {
				g.Expect(outcomes[0].Err).To(MatchError(ContainSubstring("taken exists and was not created by drplan")))
				got := &corev1.PersistentVolume{}
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(foreign), got)).To(Succeed())
				g.Expect(got.Spec.HostPath).NotTo(BeNil())
			},
		},
		{
			name: "delete the recurring job (fencing); a second delete is no error",
			actions: func() []planner.Action {
				return []planner.Action{&planner.DeleteRecurringJob{Target: target, Namespace: ns, Name: job.Name}}
			},
			check: func(g Gomega, outcomes []executor.Outcome) {
				g.Expect(executor.Errors(outcomes)).To(Succeed())
				err := k8s.Get(ctx, client.ObjectKeyFromObject(job), &longhorn.RecurringJob{})
				g.Expect(client.IgnoreNotFound(err)).To(Succeed())
				g.Expect(err).To(HaveOccurred())
			},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			g := NewWithT(t)
			runs := 2
			if st.once {
				runs = 1
			}
			for range runs {
				st.check(g, ex.Execute(ctx, st.actions()))
			}
		})
	}
}
