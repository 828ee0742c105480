package longhorn_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/testenv"
)

// TestRoundTripOnAPIServer installs CRDs on a real kube-apiserver, then creates, reads,
// status-updates and patches one object of every kind and checks that every declared field comes
// back as it was sent: the API server neither prunes nor rejects anything the types write. It
// runs against Longhorn's real v1.10.2 CRDs and against the project's generated ones.
func TestRoundTripOnAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real API servers")
	}
	tools, err := testenv.FindTools()
	if err != nil {
		t.Fatalf("find test components: %v", err)
	}
	generated, err := longhorn.CRDs()
	if err != nil {
		t.Fatalf("load generated crds: %v", err)
	}
	sets := []struct {
		name string
		crds []*apiextensionsv1.CustomResourceDefinition
	}{
		{name: "real-v1.10.2", crds: realCRDs(t)},
		{name: "generated", crds: generated},
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			start := time.Now()
			cluster, err := testenv.StartCluster("longhorn-"+set.name, t.TempDir(), tools, testenv.ClusterOptions{CRDs: set.crds})
			if err != nil {
				t.Fatalf("start cluster: %v", err)
			}
			t.Cleanup(func() {
				if err := cluster.Stop(); err != nil {
					t.Errorf("stop cluster: %v", err)
				}
			})
			t.Logf("api server with %d crds up in %s", len(set.crds), time.Since(start).Round(time.Millisecond))

			scheme := runtime.NewScheme()
			NewWithT(t).Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
			NewWithT(t).Expect(longhorn.AddToScheme(scheme)).To(Succeed())
			c, err := client.New(cluster.Config, client.Options{Scheme: scheme})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: longhorn.DefaultNamespace}}
			NewWithT(t).Expect(c.Create(t.Context(), ns)).To(Succeed())

			for _, want := range fixtures() {
				kind := reflect.TypeOf(want).Elem().Name()
				t.Run(kind, func(t *testing.T) {
					roundTrip(t, c, want)
				})
			}
			t.Run("Volume/activation-merge-patch", func(t *testing.T) {
				activationPatch(t, c)
			})
			t.Run("List", func(t *testing.T) {
				g := NewWithT(t)
				var vols longhorn.VolumeList
				g.Expect(c.List(t.Context(), &vols, client.InNamespace(longhorn.DefaultNamespace),
					client.MatchingLabels{longhorn.LabelBackupVolume: fixtureVolume})).To(Succeed())
				g.Expect(vols.Items).To(HaveLen(1))
				var bvs longhorn.BackupVolumeList
				g.Expect(c.List(t.Context(), &bvs, client.InNamespace(longhorn.DefaultNamespace),
					client.MatchingLabels(longhorn.BackupVolumeLabels(longhorn.DefaultBackupTargetName, fixtureVolume)))).To(Succeed())
				found, err := longhorn.FindBackupVolume(bvs.Items, longhorn.DefaultBackupTargetName, fixtureVolume)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(found).NotTo(BeNil())
			})
		})
	}
}

// parts splits an object's JSON into its status and everything else but metadata, type meta.
func parts(t *testing.T, obj client.Object) (body, status map[string]any) {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatalf("marshal %T: %v", obj, err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("unmarshal %T: %v", obj, err)
	}
	status, _ = m["status"].(map[string]any)
	for _, k := range []string{"status", "metadata", "apiVersion", "kind"} {
		delete(m, k)
	}
	return m, status
}

func roundTrip(t *testing.T, c client.Client, want client.Object) {
	g := NewWithT(t)
	ctx := t.Context()
	wantBody, wantStatus := parts(t, want)
	g.Expect(wantStatus).NotTo(BeEmpty(), "fixture must set a status")

	obj := want.DeepCopyObject().(client.Object)
	g.Expect(c.Create(ctx, obj)).To(Succeed())

	got := newLike(want)
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(want), got)).To(Succeed())
	gotBody, gotStatus := parts(t, got)
	g.Expect(gotBody).To(Equal(wantBody), "spec (or value) after create")
	g.Expect(got.GetLabels()).To(Equal(want.GetLabels()))
	_, zeroStatus := parts(t, newLike(want))
	g.Expect(gotStatus).To(Equal(zeroStatus), "status is a subresource: ignored on create")

	setStatus(got, want)
	g.Expect(c.Status().Update(ctx, got)).To(Succeed())
	again := newLike(want)
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(want), again)).To(Succeed())
	againBody, againStatus := parts(t, again)
	g.Expect(againStatus).To(Equal(wantStatus), "status after status update")
	g.Expect(againBody).To(Equal(wantBody), "spec after status update")

	// Typed equality too, for the Go values that must survive (times, sizes, maps); Semantic
	// compares metav1.Time by instant, not by location.
	gotTyped := reflect.ValueOf(again).Elem().FieldByName("Status").Interface()
	wantTyped := reflect.ValueOf(want).Elem().FieldByName("Status").Interface()
	g.Expect(equality.Semantic.DeepEqual(gotTyped, wantTyped)).To(BeTrue(), "typed status:\n got %+v\nwant %+v", gotTyped, wantTyped)
}

func newLike(obj client.Object) client.Object {
	return reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
}

func setStatus(dst, src client.Object) {
	reflect.ValueOf(dst).Elem().FieldByName("Status").Set(reflect.ValueOf(src).Elem().FieldByName("Status"))
}

// activationPatch activates a standby volume the way the agent does: a JSON merge patch computed
// from the typed object, which must carry Standby false and the frontend and nothing else.
func activationPatch(t *testing.T, c client.Client) {
	g := NewWithT(t)
	ctx := t.Context()
	url, err := longhorn.EncodeBackupURL(fixtureBackup, "standby-1", fixtureTarget)
	g.Expect(err).NotTo(HaveOccurred())
	vol := &longhorn.Volume{
		ObjectMeta: meta("standby-1"),
		Spec: longhorn.VolumeSpec{
			Standby: true, FromBackup: url, NumberOfReplicas: 3, Size: 1 << 30,
			BackupTargetName: longhorn.DefaultBackupTargetName, AccessMode: longhorn.AccessModeReadWriteOnce,
		},
	}
	g.Expect(c.Create(ctx, vol)).To(Succeed())

	before := vol.DeepCopy()
	vol.Spec.Standby = false
	vol.Spec.Frontend = longhorn.VolumeFrontendBlockDev
	patch := client.MergeFrom(before)
	data, err := patch.Data(vol)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(data).To(MatchJSON(`{"spec":{"Standby":false,"frontend":"blockdev"}}`))
	g.Expect(c.Patch(ctx, vol, patch)).To(Succeed())

	got := &longhorn.Volume{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(vol), got)).To(Succeed())
	want := before.Spec
	want.Standby = false
	want.Frontend = longhorn.VolumeFrontendBlockDev
	g.Expect(got.Spec).To(Equal(want))
}
