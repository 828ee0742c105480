package kubeletstandin

import (
	"context"
	"fmt"
	goruntime "runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The Node the stand-in registers, as the kubelet registers its own (pkg/kubelet/kubelet_node_status.go).

// Ready condition of a running kubelet (pkg/kubelet/nodestatus/setters.go).
const (
	reasonKubeletReady  = "KubeletReady"
	messageKubeletReady = "kubelet is posting ready status"
)

// nodeStatus is the status of the stand-in's node at now; it keeps the transition times of
// the conditions of old that did not change.
func nodeStatus(old corev1.NodeStatus, port int, now metav1.Time) corev1.NodeStatus {
	st := corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: loopback}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(port)}},
		Capacity: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("4"),
			corev1.ResourceMemory: resource.MustParse("8Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		},
		NodeInfo: corev1.NodeSystemInfo{
			OperatingSystem: goruntime.GOOS, Architecture: goruntime.GOARCH,
			KubeletVersion: "standin", ContainerRuntimeVersion: "standin://os-exec",
		},
		Phase: corev1.NodeRunning,
	}
	st.Allocatable = st.Capacity.DeepCopy()
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, message string) corev1.NodeCondition {
		c := corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: message,
			LastHeartbeatTime: now, LastTransitionTime: now}
		for _, o := range old.Conditions {
			if o.Type == t && o.Status == s {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		return c
	}
	st.Conditions = []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		cond(corev1.NodeReady, corev1.ConditionTrue, reasonKubeletReady, messageKubeletReady),
	}
	return st
}

// registerNode creates the node, or takes over one a previous stand-in registered, and
// writes its status.
func (k *Kubelet) registerNode(ctx context.Context) error {
	name := k.opts.NodeName
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		corev1.LabelHostname: name, corev1.LabelOSStable: goruntime.GOOS, corev1.LabelArchStable: goruntime.GOARCH,
	}}}
	if err := k.api.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", name, err)
	}
	if err := k.updateNodeStatus(ctx); err != nil {
		return fmt.Errorf("register node %s: %w", name, err)
	}
	return nil
}

// updateNodeStatus writes the node's status with a fresh heartbeat.
func (k *Kubelet) updateNodeStatus(ctx context.Context) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var node corev1.Node
		if err := k.api.Get(ctx, client.ObjectKey{Name: k.opts.NodeName}, &node); err != nil {
			return err
		}
		node.Status = nodeStatus(node.Status, k.port, metav1.NewTime(k.opts.Clock.Now()))
		return k.api.Status().Update(ctx, &node)
	})
}

// heartbeat renews the node's status every HeartbeatInterval until Stop. A failed renewal is
// logged and tried again at the next beat: the API server may be down for a while.
func (k *Kubelet) heartbeat() {
	t := k.opts.Clock.NewTicker(k.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-k.ctx.Done():
			return
		case <-t.C():
		}
		ctx, cancel := context.WithTimeout(k.ctx, 10*time.Second)
		if err := k.updateNodeStatus(ctx); err != nil && k.ctx.Err() == nil {
			k.log.Error(err, "node heartbeat failed")
		}
		cancel()
	}
}
