package cluster

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/drplan/drplan/internal/observed"
)

// TestWatchedKinds checks the table of watched kinds: what the cache holds of each, and that
// each list lands in a State field of its own.
func TestWatchedKinds(t *testing.T) {
	g := NewWithT(t)
	const ns = "longhorn-system"
	ours := fmt.Sprintf("%s=%s", observed.ManagedByLabel, observed.ManagedByValue)
	want := map[string]string{
		"Volume": ns, "Engine": ns, "Backup": ns, "BackupVolume": ns, "BackupTarget": ns, "RecurringJob": ns, "Setting": ns,
		"Snapshot": ns + " " + ours, "ConfigMap": ns + " " + ours,
		"PersistentVolume": " " + ours, "PersistentVolumeClaim": " " + ours,
		"Deployment": "", "StatefulSet": "",
	}
	got := map[string]string{}
	for obj, by := range cacheScope(ns) {
		scope := ""
		for n := range by.Namespaces {
			scope += n
		}
		if by.Label != nil {
			scope += " " + by.Label.String()
		}
		got[kindName(t, obj)] = scope
	}
	g.Expect(got).To(Equal(want))

	var informed []string
	for _, obj := range watched() {
		informed = append(informed, kindName(t, obj))
	}
	g.Expect(informed).To(ConsistOf(keys(want)))

	s := &observed.State{}
	for _, k := range watchedKinds() {
		l := k.newList()
		g.Expect(meta.SetList(l, []runtime.Object{k.obj.DeepCopyObject()})).To(Succeed())
		k.store(s, l)
	}
	g.Expect([]int{len(s.Volumes), len(s.Engines), len(s.Backups), len(s.BackupVolumes), len(s.BackupTargets),
		len(s.RecurringJobs), len(s.Settings), len(s.Snapshots), len(s.Deployments), len(s.StatefulSets),
		len(s.ConfigMaps), len(s.PersistentVolumes), len(s.PersistentVolumeClaims)}).To(HaveEach(1), "one list per State field")
}

func kindName(t *testing.T, obj runtime.Object) string {
	t.Helper()
	gvks, _, err := Scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		t.Fatalf("kind of %T: %v", obj, err)
	}
	return gvks[0].Kind
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestCachedEverywhere: the kinds the caches hold beyond Longhorn's namespace, as resources.
func TestCachedEverywhere(t *testing.T) {
	g := NewWithT(t)
	var got []string
	for _, gr := range CachedEverywhere() {
		got = append(got, gr.String())
	}
	g.Expect(got).To(ConsistOf("deployments.apps", "statefulsets.apps", "persistentvolumes", "persistentvolumeclaims"))
}
