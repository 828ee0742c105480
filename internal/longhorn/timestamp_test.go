package longhorn_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/drplan/drplan/internal/longhorn"
)

func TestTimestampJSON(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    time.Time
		wantErr bool
		out     string // marshalled form of the decoded value
	}{
		{name: "empty string is zero", in: `""`, out: `""`},
		{name: "null is zero", in: `null`, out: `""`},
		{name: "rfc3339", in: `"2026-03-14T15:09:26Z"`, want: fixtureTime, out: `"2026-03-14T15:09:26Z"`},
		{name: "offset normalised to utc", in: `"2026-03-14T16:09:26+01:00"`, want: fixtureTime, out: `"2026-03-14T15:09:26Z"`},
		{name: "nanoseconds read", in: `"2026-03-14T15:09:26.5Z"`, want: fixtureTime.Add(500 * time.Millisecond), out: `"2026-03-14T15:09:26Z"`},
		{name: "not a time", in: `"yesterday"`, wantErr: true},
		{name: "not a string", in: `12`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			var got longhorn.Timestamp
			err := json.Unmarshal([]byte(tc.in), &got)
			if tc.wantErr {
				g.Expect(err).To(HaveOccurred())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got.Time.Time.Equal(tc.want)).To(BeTrue(), "got %s want %s", got.Time, tc.want)
			g.Expect(got.IsZero()).To(Equal(tc.want.IsZero()))
			out, err := json.Marshal(got)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(out)).To(Equal(tc.out))
		})
	}
}

func TestNewTimestamp(t *testing.T) {
	g := NewWithT(t)
	g.Expect(longhorn.NewTimestamp(time.Time{}).IsZero()).To(BeTrue())
	local := fixtureTime.Add(999 * time.Millisecond).In(time.FixedZone("x", 3600))
	got := longhorn.NewTimestamp(local)
	g.Expect(got.Location()).To(Equal(time.UTC))
	g.Expect(got.Equal(longhorn.NewTimestamp(fixtureTime))).To(BeTrue())
	g.Expect(got.String()).To(Equal("2026-03-14T15:09:26Z"))
}

// TestDecodeLonghornObject reads a Volume as a real Longhorn v1.10.2 writes it: every field
// present, "" for unset times, fields drplan does not declare. metav1.Time would fail here.
func TestDecodeLonghornObject(t *testing.T) {
	g := NewWithT(t)
	raw, err := os.ReadFile(filepath.Join("testdata", "longhorn", "volume-standby.json"))
	g.Expect(err).NotTo(HaveOccurred())
	var v longhorn.Volume
	g.Expect(json.Unmarshal(raw, &v)).To(Succeed())
	g.Expect(v.Spec.Standby).To(BeTrue())
	g.Expect(v.Spec.Size).To(Equal(int64(2147483648)))
	g.Expect(v.Spec.Frontend).To(Equal(longhorn.VolumeFrontendEmpty))
	g.Expect(v.Status.LastBackupAt.IsZero()).To(BeTrue())
	g.Expect(v.Status.IsStandby).To(BeTrue())
	g.Expect(v.Status.State).To(Equal(longhorn.VolumeStateAttached))
	restore := longhorn.FindCondition(v.Status.Conditions, longhorn.VolumeConditionTypeRestore)
	g.Expect(restore).NotTo(BeNil())
	g.Expect(restore.Status).To(Equal(longhorn.ConditionStatusTrue))
	g.Expect(restore.LastTransitionTime.Equal(longhorn.NewTimestamp(fixtureTime))).To(BeTrue())
	g.Expect(longhorn.FindCondition(v.Status.Conditions, "Nope")).To(BeNil())
}

// TestUnstructuredKeepsWireFormat checks the unstructured converter (used by apply and dynamic
// clients) writes what json does: size as a string, Standby under its capital key.
func TestUnstructuredKeepsWireFormat(t *testing.T) {
	for _, obj := range fixtures() {
		t.Run(reflect.TypeOf(obj).Elem().Name(), func(t *testing.T) {
			g := NewWithT(t)
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
			g.Expect(err).NotTo(HaveOccurred())
			viaU, err := json.Marshal(u)
			g.Expect(err).NotTo(HaveOccurred())
			viaJSON, err := json.Marshal(obj)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(viaU).To(MatchJSON(viaJSON))

			back := reflect.New(reflect.TypeOf(obj).Elem()).Interface()
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u, back)).To(Succeed())
			backJSON, err := json.Marshal(back)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(backJSON).To(MatchJSON(viaJSON))
		})
	}
	g := NewWithT(t)
	vol := fixtures()[0]
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(vol)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(u["spec"]).To(HaveKeyWithValue("size", "2147483648"))
	g.Expect(u["spec"]).To(HaveKeyWithValue("Standby", true))

	// And back: the converter reads the string size into the int64 field.
	var back longhorn.Volume
	g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u, &back)).To(Succeed())
	g.Expect(back.Spec).To(Equal(vol.(*longhorn.Volume).Spec))
}

// TestSemanticEquality checks that controllers can compare the types with equality.Semantic
// (a Timestamp holding a bare time.Time would make it panic), and that it sees a changed time.
func TestSemanticEquality(t *testing.T) {
	for _, obj := range fixtures() {
		t.Run(reflect.TypeOf(obj).Elem().Name(), func(t *testing.T) {
			g := NewWithT(t)
			cp := obj.DeepCopyObject()
			g.Expect(equality.Semantic.DeepEqual(obj, cp)).To(BeTrue())
		})
	}
	g := NewWithT(t)
	a := &longhorn.Backup{Status: longhorn.BackupStatus{SnapshotCreatedAt: ts(0)}}
	b := a.DeepCopy()
	b.Status.SnapshotCreatedAt = longhorn.Timestamp{Time: metav1.NewTime(fixtureTime.In(time.FixedZone("x", 7200)))}
	g.Expect(equality.Semantic.DeepEqual(a, b)).To(BeTrue(), "same instant, other zone")
	b.Status.SnapshotCreatedAt = ts(time.Second)
	g.Expect(equality.Semantic.DeepEqual(a, b)).To(BeFalse())
}
