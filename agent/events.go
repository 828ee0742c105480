package agent

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/drplan/drplan/internal/cluster"
)

// eventRecorder records Kubernetes Events on the objects a pass changed, in their own cluster.
type eventRecorder struct {
	recorders map[string]record.EventRecorder
}

func newEventRecorder(clusters map[string]*cluster.Cluster) *eventRecorder {
	r := &eventRecorder{recorders: map[string]record.EventRecorder{}}
	for name, c := range clusters {
		cs, err := kubernetes.NewForConfig(c.RESTConfig())
		if err != nil {
			continue
		}
		b := record.NewBroadcaster()
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
		r.recorders[name] = b.NewRecorder(cluster.Scheme, corev1.EventSource{Component: "drplan"})
	}
	return r
}

// Event records one Normal event.
func (r *eventRecorder) Event(clusterName string, obj runtime.Object, reason, message string) {
	if rec, ok := r.recorders[clusterName]; ok {
		rec.Event(obj, corev1.EventTypeNormal, reason, message)
	}
}

// Warning records one Warning event.
func (r *eventRecorder) Warning(clusterName string, obj runtime.Object, reason, message string) {
	if rec, ok := r.recorders[clusterName]; ok {
		rec.Event(obj, corev1.EventTypeWarning, reason, message)
	}
}
