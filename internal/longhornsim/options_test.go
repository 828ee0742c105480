package longhornsim

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

func TestOptionsDefaults(t *testing.T) {
	store, err := backupstore.New(t.TempDir())
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	valid := func() Options {
		return Options{Cluster: "east", Config: &rest.Config{}, Store: store, DataDir: t.TempDir()}
	}
	tests := []struct {
		name string
		mut  func(*Options)
		want string
	}{
		{name: "valid"},
		{name: "nothing", mut: func(o *Options) { *o = Options{} },
			want: "longhorn simulator options: cluster name is required\nrest config is required\nbackup store is required\ndata directory is required"},
		{name: "odd block size", mut: func(o *Options) { o.BlockSize = 5000 },
			want: "longhorn simulator options: block size 5000 is not a power of two of at least 4096"},
		{name: "negative rate", mut: func(o *Options) { o.RestoreRate = -1 },
			want: "longhorn simulator options: restore rate -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			o := valid()
			if tt.mut != nil {
				tt.mut(&o)
			}
			err := o.defaults()
			if tt.want != "" {
				g.Expect(err).To(MatchError(tt.want))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(o.Namespace).To(Equal(longhorn.DefaultNamespace))
			g.Expect(o.PollInterval).To(Equal(longhorn.DefaultBackupstorePollInterval))
			g.Expect(o.BlockSize).To(Equal(backupstore.BlockSize2Mi))
			g.Expect(o.Clock).NotTo(BeNil())
		})
	}
}

func TestRecordedTime(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	tests := []struct {
		name  string
		value *string
		ok    bool
		err   bool
	}{
		{name: "absent"},
		{name: "recorded", value: ptrTo(at.Format(time.RFC3339Nano)), ok: true},
		{name: "garbage", value: ptrTo("yesterday"), err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			v := &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "v", Annotations: map[string]string{}}}
			if tt.value != nil {
				v.Annotations[AnnotationActivationFinishedAt] = *tt.value
			}
			got, ok, err := RecordedTime(v, AnnotationActivationFinishedAt)
			g.Expect(err != nil).To(Equal(tt.err))
			g.Expect(ok).To(Equal(tt.ok))
			if tt.ok {
				g.Expect(got).To(Equal(at))
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
