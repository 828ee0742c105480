package kubeletstandin

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// streamIdleTimeout is the kubelet's default streamingConnectionIdleTimeout.
const streamIdleTimeout = 4 * time.Hour

// routes serves the kubelet's exec endpoints, for GET and POST as the API server proxies them
// (pkg/kubelet/server/server.go).
func (k *Kubelet) routes() http.Handler {
	mux := http.NewServeMux()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		mux.HandleFunc(method+" /exec/{namespace}/{pod}/{container}", k.serveExec)
		mux.HandleFunc(method+" /exec/{namespace}/{pod}/{uid}/{container}", k.serveExec)
	}
	return mux
}

// serveExec runs a command in a container of one of the node's pods, streaming its input and
// output with the kubelet's own remotecommand server.
func (k *Kubelet) serveExec(w http.ResponseWriter, req *http.Request) {
	key := types.NamespacedName{Namespace: req.PathValue("namespace"), Name: req.PathValue("pod")}
	container := req.PathValue("container")
	opts, err := remotecommand.NewOptions(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cmd := req.URL.Query()["command"]
	if len(cmd) == 0 {
		http.Error(w, "no command", http.StatusBadRequest)
		return
	}
	pod, c, status, err := k.execTarget(req.Context(), key, types.UID(req.PathValue("uid")), container)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	if k.ctx.Err() != nil {
		http.Error(w, "kubelet stopping", http.StatusServiceUnavailable)
		return
	}
	// The session ends when the API server closes the connection (the client went away) or
	// when the stand-in stops; a hijacked request's context notices neither.
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	stop := context.AfterFunc(k.ctx, cancel)
	defer stop()
	k.wg.Add(1)
	defer k.wg.Done()
	k.log.V(1).Info("exec", "pod", key.String(), "container", container, "command", cmd)
	remotecommand.ServeExec(&watchedWriter{ResponseWriter: w, k: k, cancel: cancel}, req.WithContext(ctx),
		&executor{k: k, pod: pod, container: c}, key.String(), string(pod.UID), container, cmd, opts,
		streamIdleTimeout, remotecommand.DefaultStreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// execTarget finds the pod and container of an exec as the kubelet does: among the node's
// pods, the container in the pod's spec and running. It returns the HTTP status of a refusal.
func (k *Kubelet) execTarget(ctx context.Context, key types.NamespacedName, uid types.UID, container string) (*corev1.Pod, *corev1.Container, int, error) {
	var pod corev1.Pod
	if err := k.pods.Get(ctx, key, &pod); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, http.StatusNotFound, fmt.Errorf("pod %s does not exist on node %s", key, k.opts.NodeName)
		}
		return nil, nil, http.StatusInternalServerError, fmt.Errorf("get pod %s: %w", key, err)
	}
	if pod.Spec.NodeName != k.opts.NodeName || (uid != "" && uid != pod.UID) {
		return nil, nil, http.StatusNotFound, fmt.Errorf("pod %s does not exist on node %s", key, k.opts.NodeName)
	}
	c := findContainer(&pod, container)
	if c == nil {
		return nil, nil, http.StatusNotFound, fmt.Errorf("container not found (%q) in pod %s", container, key)
	}
	if pod.DeletionTimestamp != nil || !containerRunning(&pod, container) {
		return nil, nil, http.StatusConflict, fmt.Errorf("container %s of pod %s is not running", container, key)
	}
	return &pod, c, 0, nil
}

// executor runs an exec's command as a process in the pod's directory.
type executor struct {
	k         *Kubelet
	pod       *corev1.Pod
	container *corev1.Container
}

var _ remotecommand.Executor = (*executor)(nil)

// ExecInContainer runs cmd until it exits, ctx ends (the stream closed) or MaxRunTime passes.
// A non-zero exit is a utilexec.CodeExitError, which ServeExec reports as the exit code.
func (e *executor) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader, out, errOut io.WriteCloser, _ bool, _ <-chan remotecommand.TerminalSize, _ time.Duration) error {
	dir := podDir(e.k.opts.WorkDir, e.pod.Namespace, e.pod.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("exec in container %s of pod %s/%s: %w", e.container.Name, e.pod.Namespace, e.pod.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, e.k.opts.MaxRunTime)
	defer cancel()
	code, err := run(ctx, process{argv: cmd, dir: dir, env: environment(e.pod, e.container, dir),
		stdin: in, stdout: out, stderr: errOut})
	if err != nil {
		return fmt.Errorf("exec in container %s of pod %s/%s: %w", e.container.Name, e.pod.Namespace, e.pod.Name, err)
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// watchedWriter hands the streaming server a connection that cancels the session when it
// closes or its peer goes away, and registers it for Stop.
type watchedWriter struct {
	http.ResponseWriter
	k      *Kubelet
	cancel context.CancelFunc
}

// Hijack takes over the connection, as the SPDY and websocket upgraders do.
func (w *watchedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("response writer %T cannot hijack", w.ResponseWriter)
	}
	conn, rw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	wc := &watchedConn{Conn: conn, k: w.k, cancel: w.cancel}
	w.k.mu.Lock()
	w.k.conns[wc] = struct{}{}
	w.k.mu.Unlock()
	// The upgraders read through the buffered reader: watch it too.
	r := bufio.NewReader(&watchedReader{r: rw.Reader, cancel: w.cancel})
	return wc, bufio.NewReadWriter(r, rw.Writer), nil
}

// watchedConn cancels its session on a read error (the peer closed) or on Close.
type watchedConn struct {
	net.Conn
	k      *Kubelet
	cancel context.CancelFunc
	once   sync.Once
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.cancel()
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.once.Do(func() {
		c.cancel()
		c.k.mu.Lock()
		delete(c.k.conns, c)
		c.k.mu.Unlock()
	})
	return c.Conn.Close()
}

type watchedReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (r *watchedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil {
		r.cancel()
	}
	return n, err
}
