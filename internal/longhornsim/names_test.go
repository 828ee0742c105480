package longhornsim

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

// util.AutoCorrectName, as volumeMutator.Create applies it with datastore.NameMaximumLength
// (REFERENCE §10.4): lower case; past 40 characters, the first 31 (trailing dashes dropped),
// "-" and the first 8 hex digits of the SHA-512 of the original name.
func TestAutoCorrectName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"pvc-data", "pvc-data"},
		{"PVC-Data", "pvc-data"},
		{strings.Repeat("x", 40), strings.Repeat("x", 40)},
		{"pvc-0123456789abcdef-0123456789abcdef-west", "pvc-0123456789abcdef-0123456789-0944c944"},
		{strings.Repeat("a", 30) + "-" + strings.Repeat("b", 14), strings.Repeat("a", 30) + "-35f4d260"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := autoCorrectName(tt.name, nameMaximumLength)
			g.Expect(got).To(Equal(tt.want))
			g.Expect(len(got)).To(BeNumerically("<=", nameMaximumLength))
		})
	}
}

// datastore.CheckVolume's name checks (REFERENCE §10.4): a DNS-1123 label of at most 40
// characters.
func TestCheckVolume(t *testing.T) {
	tests := []struct{ name, denied string }{
		{name: "pvc-data"},
		{name: strings.Repeat("x", 40)},
		{name: "pvc.data", denied: "invalid volume name: [must not contain dots]"},
		{name: "pvc_data", denied: "invalid volume name: [a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')]"},
		{name: strings.Repeat("x", 41), denied: "volume name is too long " + strings.Repeat("x", 41) + ", must be less than 40 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			aerr := checkVolume(&longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: tt.name}})
			if tt.denied == "" {
				g.Expect(aerr).To(BeNil())
				return
			}
			g.Expect(aerr).NotTo(BeNil())
			g.Expect(aerr.message).To(Equal(tt.denied))
		})
	}
}

// Through the API server: the mutator renames a long or upper-case volume (the created object
// carries the new name, and its longhornvolume label), the validator refuses a name with a dot.
func TestVolumeNames(t *testing.T) {
	requireEnv(t)
	east := env.east
	plain := func(name string) *longhorn.Volume {
		return &longhorn.Volume{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: longhorn.DefaultNamespace},
			Spec:       longhorn.VolumeSpec{Size: 16 << 20, Frontend: longhorn.VolumeFrontendBlockDev, NumberOfReplicas: 1},
		}
	}
	long := "pvc-0123456789abcdef-0123456789abcdef-west"
	tests := []struct {
		name, volume, created, denied string
	}{
		{name: "long name is shortened", volume: long, created: "pvc-0123456789abcdef-0123456789-0944c944"},
		{name: "upper case is lowered", volume: "Names-Upper", created: "names-upper"},
		{name: "dot refused", volume: "names.dotted", denied: validatorDenied + "invalid volume name: [must not contain dots]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			v := plain(tt.volume)
			err := east.c.Create(t.Context(), v)
			if tt.denied != "" {
				g.Expect(err).To(MatchError(tt.denied))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(v.Name).To(Equal(tt.created), "the created object carries the corrected name")
			g.Eventually(func(g Gomega) {
				got := getVolume(t, east, tt.created)
				g.Expect(got.Labels).To(HaveKeyWithValue(longhorn.LabelLonghornVolume, tt.created))
				g.Expect(got.Status.State).To(Equal(longhorn.VolumeStateDetached))
			}).WithTimeout(10 * time.Second).WithPolling(poll).Should(Succeed())
		})
	}
}
