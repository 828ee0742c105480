package sandbox

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/drplan/drplan/internal/planner"
)

func deployment(name string, replicas *int32, claims ...string) appsv1.Deployment {
	d := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name}, Spec: appsv1.DeploymentSpec{Replicas: replicas}}
	for _, c := range claims {
		d.Spec.Template.Spec.Volumes = append(d.Spec.Template.Spec.Volumes, corev1.Volume{Name: c,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return d
}

func statefulSet(name string, replicas int32, templates ...string) appsv1.StatefulSet {
	st := appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas)}}
	for _, t := range templates {
		st.Spec.VolumeClaimTemplates = append(st.Spec.VolumeClaimTemplates, corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: t}})
	}
	return st
}

func claim(name, pv string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: pv}}
}

func longhornPV(name, volume string, claimRef string) corev1.PersistentVolume {
	pv := corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: planner.LonghornCSIDriver, VolumeHandle: volume}}}}
	if claimRef != "" {
		pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "app", Name: claimRef}
	}
	return pv
}

// started marks the named workloads' pods started.
func started(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func TestAttachments(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   workloads
		want map[string]bool
	}{{
		name: "a started deployment's claim attaches its volume; scaled to zero detaches it",
		in: workloads{
			deployments: []appsv1.Deployment{deployment("web", ptr.To[int32](2), "files"), deployment("batch", ptr.To[int32](0), "scratch")},
			claims:      []corev1.PersistentVolumeClaim{claim("files", "pv-files"), claim("scratch", "pv-scratch")},
			pvs:         []corev1.PersistentVolume{longhornPV("pv-files", "vol-files", ""), longhornPV("pv-scratch", "vol-scratch", "")},
			started:     started("Deployment/app/web"),
		},
		want: map[string]bool{"vol-files": true, "vol-scratch": false},
	}, {
		name: "scaled up but not started yet: left as it is",
		in: workloads{
			deployments: []appsv1.Deployment{deployment("web", ptr.To[int32](2), "files")},
			claims:      []corev1.PersistentVolumeClaim{claim("files", "pv-files")},
			pvs:         []corev1.PersistentVolume{longhornPV("pv-files", "vol-files", "")},
		},
		want: map[string]bool{},
	}, {
		name: "replicas unset is one",
		in: workloads{
			deployments: []appsv1.Deployment{deployment("web", nil, "files")},
			claims:      []corev1.PersistentVolumeClaim{claim("files", "pv-files")},
			pvs:         []corev1.PersistentVolume{longhornPV("pv-files", "vol-files", "")},
			started:     started("Deployment/app/web"),
		},
		want: map[string]bool{"vol-files": true},
	}, {
		name: "a statefulset's claim templates: ordinals below replicas are used",
		in: workloads{
			statefulSets: []appsv1.StatefulSet{statefulSet("pg", 1, "data")},
			claims:       []corev1.PersistentVolumeClaim{claim("data-pg-0", "pv0"), claim("data-pg-1", "pv1"), claim("data-pg-x", "pvx")},
			pvs:          []corev1.PersistentVolume{longhornPV("pv0", "pg-0", ""), longhornPV("pv1", "pg-1", ""), longhornPV("pvx", "pg-x", "")},
			started:      started("StatefulSet/app/pg"),
		},
		want: map[string]bool{"pg-0": true, "pg-1": false},
	}, {
		name: "two workloads share a volume: attached while a started one uses it, never detached while one has pods",
		in: workloads{
			deployments: []appsv1.Deployment{deployment("web", ptr.To[int32](0), "files"), deployment("worker", ptr.To[int32](1), "files"),
				deployment("cron", ptr.To[int32](1), "reports"), deployment("api", ptr.To[int32](0), "reports")},
			claims:  []corev1.PersistentVolumeClaim{claim("files", "pv-files"), claim("reports", "pv-reports")},
			pvs:     []corev1.PersistentVolume{longhornPV("pv-files", "vol-files", ""), longhornPV("pv-reports", "vol-reports", "")},
			started: started("Deployment/app/worker", "Deployment/app/api"),
		},
		want: map[string]bool{"vol-files": true},
	}, {
		name: "a claim without volumeName finds the PV pre-bound to it",
		in: workloads{
			deployments: []appsv1.Deployment{deployment("web", ptr.To[int32](1), "files")},
			claims:      []corev1.PersistentVolumeClaim{claim("files", "")},
			pvs:         []corev1.PersistentVolume{longhornPV("pv-files", "vol-files", "files")},
			started:     started("Deployment/app/web"),
		},
		want: map[string]bool{"vol-files": true},
	}, {
		name: "claims no workload names, missing PVs and other CSI drivers are not followed",
		in: workloads{
			started:     started("Deployment/app/web"),
			deployments: []appsv1.Deployment{deployment("web", ptr.To[int32](1), "missing-pv", "nfs", "no-claim")},
			claims:      []corev1.PersistentVolumeClaim{claim("missing-pv", "nope"), claim("nfs", "pv-nfs"), claim("unused", "pv-unused")},
			pvs: []corev1.PersistentVolume{
				{ObjectMeta: metav1.ObjectMeta{Name: "pv-nfs"}, Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
					CSI: &corev1.CSIPersistentVolumeSource{Driver: "nfs.csi.k8s.io", VolumeHandle: "share"}}}},
				longhornPV("pv-unused", "vol-unused", ""),
			},
		},
		want: map[string]bool{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(attachments(tc.in)).To(Equal(tc.want))
		})
	}
}

func TestReadiness(t *testing.T) {
	g := NewWithT(t)
	r := readiness{}
	t0 := time.Unix(1000, 0)
	g.Expect(r.observe("w", true, t0)).To(BeFalse(), "ready just now: not started")
	g.Expect(r.observe("w", true, t0.Add(podStart-time.Millisecond))).To(BeFalse())
	g.Expect(r.observe("w", true, t0.Add(podStart))).To(BeTrue(), "ready for podStart: started")
	g.Expect(r.observe("w", false, t0.Add(podStart+time.Second))).To(BeFalse(), "not ready: not started")
	g.Expect(r.observe("w", true, t0.Add(podStart+2*time.Second))).To(BeFalse(), "ready again: the wait starts over")
}
