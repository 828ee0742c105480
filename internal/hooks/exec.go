package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/plans"
)

// Selected lists the running pods (phase Running, not being deleted) an exec hook selects,
// sorted by name.
func Selected(ctx context.Context, c client.Reader, e *plans.ExecHook) ([]corev1.Pod, error) {
	if len(e.Selector) == 0 {
		// An empty selector would select every pod of the namespace.
		return nil, fmt.Errorf("exec hook in namespace %s has no selector", e.Namespace)
	}
	var list corev1.PodList
	if err := c.List(ctx, &list, client.InNamespace(e.Namespace), client.MatchingLabels(e.Selector)); err != nil {
		return nil, fmt.Errorf("list pods selected by %s in namespace %s: %w", selector(e), e.Namespace, err)
	}
	var pods []corev1.Pod
	for _, p := range list.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			pods = append(pods, p)
		}
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods, nil
}

// exec runs the hook's command in each pod it selects, one after the other, and joins the
// failures, each naming its pod. ctx bounds the whole hook.
func (r *Runner) exec(ctx context.Context, e *plans.ExecHook, timeout time.Duration) (pods []string, output string, err error) {
	selected, err := Selected(ctx, r.Client, e)
	if err != nil {
		return nil, "", err
	}
	if len(selected) == 0 {
		return nil, "", fmt.Errorf("selector %s in namespace %s %w", selector(e), e.Namespace, ErrNoPod)
	}
	if r.Config == nil {
		return nil, "", errors.New("no REST config to exec with")
	}
	cs, err := kubernetes.NewForConfig(r.Config)
	if err != nil {
		return nil, "", fmt.Errorf("client for pods/exec: %w", err)
	}
	all := newTail(outputLimit)
	var errs []error
	for _, p := range selected {
		name := p.Namespace + "/" + p.Name
		pods = append(pods, name)
		if len(selected) > 1 {
			_, _ = fmt.Fprintf(all, "==> %s <==\n", name)
		}
		mine := newTail(errorTailLimit)
		err := r.execIn(ctx, cs, &p, e, io.MultiWriter(all, mine))
		if err == nil {
			continue
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w after %s", ErrTimeout, timeout)
		}
		if s := oneLine(mine.String()); s != "" {
			err = fmt.Errorf("%w: %s", err, s)
		}
		errs = append(errs, fmt.Errorf("pod %s: %w", name, err))
		if ctx.Err() != nil {
			break
		}
	}
	return pods, all.String(), errors.Join(errs...)
}

// execIn runs the command in one pod, as kubectl exec does: a websocket stream through the API
// server's pods/exec, falling back to SPDY when the upgrade fails. A non-zero exit is a
// k8s.io/client-go/util/exec.CodeExitError, "command terminated with exit code N".
func (r *Runner) execIn(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod, e *plans.ExecHook, out io.Writer) error {
	container := e.Container
	if container == "" && len(p.Spec.Containers) > 0 {
		container = p.Spec.Containers[0].Name
	}
	req := cs.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(p.Namespace).Name(p.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   e.Command,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	ex, err := newExecutor(r.Config, req.URL())
	if err != nil {
		return err
	}
	// stdout and stderr are copied by two goroutines, and may be written to after
	// StreamWithContext returned on ctx's end: out is safe for that.
	return ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: out, Stderr: out})
}

// newExecutor is kubectl's: websocket first (GET, RFC 6455), SPDY when the upgrade fails or
// the websocket executor cannot be built.
func newExecutor(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
	spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", u)
	if err != nil {
		return nil, fmt.Errorf("spdy executor: %w", err)
	}
	ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	if err != nil {
		return spdy, nil //nolint:nilerr // SPDY is the fallback for a websocket executor that cannot be built.
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
}

func selector(e *plans.ExecHook) string {
	return labels.SelectorFromSet(e.Selector).String()
}
