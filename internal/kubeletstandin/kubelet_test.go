package kubeletstandin_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/drplan/drplan/internal/kubeletstandin"
	"github.com/drplan/drplan/internal/testenv"
)

// The tests below share one API server and one stand-in on it, node "node-a", started once for
// the test binary. They skip under -short and when kube-apiserver or etcd is not built.

const (
	node    = "node-a"
	timeout = 30 * time.Second
	poll    = 100 * time.Millisecond
)

var env struct {
	skip    string
	err     error
	dir     string
	cluster *testenv.Cluster
	kubelet *kubeletstandin.Kubelet
	cs      kubernetes.Interface
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(func() int {
		if testing.Short() {
			return m.Run()
		}
		stop := startEnv()
		defer stop()
		return m.Run()
	}())
}

func startEnv() func() {
	tools, _ := testenv.FindTools()
	for _, p := range []string{tools.KubeAPIServer, tools.Etcd} {
		if _, err := os.Stat(p); p == "" || err != nil {
			env.skip = fmt.Sprintf("kube-apiserver or etcd not built (%q): run `make tools`", p)
			return func() {}
		}
	}
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	dir, err := os.MkdirTemp("", "kubeletstandin-test-")
	if err != nil {
		env.err = err
		return stop
	}
	stops = append(stops, func() { _ = os.RemoveAll(dir) })
	env.dir = dir
	// Set KUBELETSTANDIN_LOG=1 to see the stand-in's logs on stderr; they go to kubelet.log in
	// the environment's directory otherwise.
	logOut := os.Stderr
	if os.Getenv("KUBELETSTANDIN_LOG") == "" {
		f, err := os.Create(filepath.Join(dir, "kubelet.log"))
		if err != nil {
			env.err = err
			return stop
		}
		stops = append(stops, func() { _ = f.Close() })
		logOut = f
	}
	logger := zap.New(zap.WriteTo(logOut), zap.UseDevMode(true), zap.Level(zapcore.Level(-1)))
	c, err := kubeletstandin.StartCluster("kubelet", dir, tools, kubeletstandin.Options{
		NodeName: node, HeartbeatInterval: time.Second, Logger: logger,
	})
	if err != nil {
		env.err = err
		return stop
	}
	stops = append(stops, func() { _ = c.Stop() })
	env.cluster, env.kubelet = c.API, c.Kubelet
	env.cs, env.err = kubernetes.NewForConfig(env.cluster.Config)
	return stop
}

func requireEnv(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real API server; skipped under -short")
	}
	if env.skip != "" {
		t.Skip(env.skip)
	}
	if env.err != nil {
		t.Fatalf("test environment: %v", env.err)
	}
}

// pod is a pod bound to nodeName whose containers run the given shell scripts.
func pod(name, nodeName string, policy corev1.RestartPolicy, scripts map[string]string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: nodeName, RestartPolicy: policy, TerminationGracePeriodSeconds: ptr.To[int64](30)},
	}
	for _, c := range []string{"main", "second", "third"} {
		if s, ok := scripts[c]; ok {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "busybox",
				Command: []string{"sh", "-c"}, Args: []string{s}, Env: []corev1.EnvVar{{Name: "GREETING", Value: "hello"}}})
		}
	}
	return p
}

func create(t *testing.T, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	out, err := env.cs.CoreV1().Pods(p.Namespace).Create(t.Context(), p, metav1.CreateOptions{})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return out
}

func get(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	p, err := env.cs.CoreV1().Pods("default").Get(t.Context(), name, metav1.GetOptions{})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return p
}

func waitPhase(t *testing.T, name string, phase corev1.PodPhase) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	NewWithT(t).Eventually(func() corev1.PodPhase {
		p = get(t, name)
		return p.Status.Phase
	}).WithTimeout(timeout).WithPolling(poll).Should(Equal(phase))
	return p
}

// observe watches the pod called name from now on and returns what stops the watch and gives
// every status the pod had: a test can then check states a poll would miss.
func observe(t *testing.T, name string) func() []corev1.PodStatus {
	t.Helper()
	w, err := env.cs.CoreV1().Pods("default").Watch(t.Context(), metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	var seen []corev1.PodStatus
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				seen = append(seen, p.Status)
			}
		}
	}()
	return func() []corev1.PodStatus {
		w.Stop()
		<-done
		return seen
	}
}

func condition(p *corev1.Pod, ct corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == ct {
			return c.Status
		}
	}
	return ""
}

// The node is registered Ready at the stand-in's address and port, and its heartbeat renews.
func TestNode(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	n, err := env.cs.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n.Status.Addresses).To(ConsistOf(corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}))
	g.Expect(n.Status.DaemonEndpoints.KubeletEndpoint.Port).To(Equal(int32(env.kubelet.Port())))
	ready := func(n *corev1.Node) corev1.NodeCondition {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c
			}
		}
		return corev1.NodeCondition{}
	}
	first := ready(n)
	g.Expect(first.Status).To(Equal(corev1.ConditionTrue))
	g.Eventually(func() time.Time {
		n, err := env.cs.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ready(n).Status).To(Equal(corev1.ConditionTrue))
		g.Expect(ready(n).LastTransitionTime).To(Equal(first.LastTransitionTime))
		return ready(n).LastHeartbeatTime.Time
	}).WithTimeout(10 * time.Second).WithPolling(200 * time.Millisecond).Should(BeTemporally(">", first.LastHeartbeatTime.Time))
}

// A pod that restarts always is reported Running and Ready, as kubectl shows a healthy pod.
func TestAlwaysPodRunning(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	create(t, pod("always", node, corev1.RestartPolicyAlways, map[string]string{"main": "exit 1", "second": "exit 1"}))
	p := waitPhase(t, "always", corev1.PodRunning)
	g.Expect(p.Status.PodIP).To(Equal("127.0.0.1"))
	g.Expect(p.Status.StartTime).NotTo(BeNil())
	g.Expect(condition(p, corev1.PodReady)).To(Equal(corev1.ConditionTrue))
	g.Expect(condition(p, corev1.ContainersReady)).To(Equal(corev1.ConditionTrue))
	g.Expect(p.Status.ContainerStatuses).To(HaveLen(2))
	for _, cs := range p.Status.ContainerStatuses {
		g.Expect(cs.Ready).To(BeTrue())
		g.Expect(cs.State.Running).NotTo(BeNil())
	}
	// Its deletion is confirmed by the stand-in, as the kubelet confirms it.
	g.Expect(env.cs.CoreV1().Pods("default").Delete(t.Context(), "always", metav1.DeleteOptions{})).To(Succeed())
	g.Eventually(func() bool {
		_, err := env.cs.CoreV1().Pods("default").Get(t.Context(), "always", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(timeout).WithPolling(poll).Should(BeTrue())
}

// Pods that run to completion run their containers' commands once, as real processes, and end
// with the phase and exit codes the processes give.
func TestRunToCompletion(t *testing.T) {
	requireEnv(t)
	for _, tc := range []struct {
		name     string
		policy   corev1.RestartPolicy
		scripts  map[string]string
		deadline *int64
		phase    corev1.PodPhase
		codes    map[string]int32
		reason   string // of the pod
	}{
		{"succeeds", corev1.RestartPolicyNever, map[string]string{
			"main":   `echo "$GREETING from $POD_NAME/$CONTAINER_NAME" >> main.txt`,
			"second": `echo run >> second.txt`,
		}, nil, corev1.PodSucceeded, map[string]int32{"main": 0, "second": 0}, ""},
		{"fails", corev1.RestartPolicyOnFailure, map[string]string{"main": "exit 1", "second": "true"},
			nil, corev1.PodFailed, map[string]int32{"main": 1, "second": 0}, ""},
		{"deadline", corev1.RestartPolicyNever, map[string]string{"main": "exec sleep 300"},
			ptr.To[int64](1), corev1.PodFailed, map[string]int32{"main": 137}, "DeadlineExceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := pod("run-"+tc.name, node, tc.policy, tc.scripts)
			p.Spec.ActiveDeadlineSeconds = tc.deadline
			statuses := observe(t, p.Name)
			create(t, p)
			p = waitPhase(t, p.Name, tc.phase)
			g.Expect(p.Status.Reason).To(Equal(tc.reason))
			// The pod never ended with another reason first (the kubelet fails a pod at its
			// deadline before it kills the containers).
			for _, st := range statuses() {
				if st.Phase == corev1.PodFailed || st.Phase == corev1.PodSucceeded {
					g.Expect(st.Reason).To(Equal(tc.reason), "a status the pod had: %+v", st)
				}
			}
			codes := map[string]int32{}
			for _, cs := range p.Status.ContainerStatuses {
				g.Expect(cs.State.Terminated).NotTo(BeNil(), cs.Name)
				codes[cs.Name] = cs.State.Terminated.ExitCode
				g.Expect(cs.Ready).To(BeFalse())
			}
			g.Expect(codes).To(Equal(tc.codes))
			g.Expect(condition(p, corev1.PodReady)).To(Equal(corev1.ConditionFalse))
		})
	}
	// The succeeding pod ran each container once, in its directory, with its environment.
	g := NewWithT(t)
	dir := env.kubelet.PodDir("default", "run-succeeds")
	g.Expect(os.ReadFile(filepath.Join(dir, "main.txt"))).To(Equal([]byte("hello from run-succeeds/main\n")))
	g.Expect(os.ReadFile(filepath.Join(dir, "second.txt"))).To(Equal([]byte("run\n")))
}

// A container without a command cannot run here (there are no images): it fails to start.
func TestNoCommand(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	p := pod("no-command", node, corev1.RestartPolicyNever, nil)
	p.Spec.Containers = []corev1.Container{{Name: "main", Image: "busybox"}}
	create(t, p)
	p = waitPhase(t, "no-command", corev1.PodFailed)
	g.Expect(p.Status.ContainerStatuses[0].State.Terminated.Reason).To(Equal("StartError"))
	g.Expect(p.Status.ContainerStatuses[0].State.Terminated.ExitCode).To(Equal(int32(128)))
}

// Deleting a pod whose process runs kills the process and removes the pod.
func TestDeleteRunningPod(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	create(t, pod("deleted", node, corev1.RestartPolicyNever, map[string]string{"main": "echo $$ > pid; exec sleep 300"}))
	waitPhase(t, "deleted", corev1.PodRunning)
	pid := readPID(t, env.kubelet.PodDir("default", "deleted"))
	g.Expect(env.cs.CoreV1().Pods("default").Delete(t.Context(), "deleted", metav1.DeleteOptions{})).To(Succeed())
	g.Eventually(func() bool {
		_, err := env.cs.CoreV1().Pods("default").Get(t.Context(), "deleted", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(timeout).WithPolling(poll).Should(BeTrue())
	g.Eventually(func() bool { return processGone(pid) }).WithTimeout(10 * time.Second).WithPolling(poll).Should(BeTrue())
}

// readPID waits for the pid file a container's script writes and reads it.
func readPID(t *testing.T, dir string) int {
	t.Helper()
	var pid int
	NewWithT(t).Eventually(func() error {
		raw, err := os.ReadFile(filepath.Join(dir, "pid"))
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(raw)))
		return err
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	return pid
}

// processGone tells whether a process no longer exists (the stand-in reaps its own).
func processGone(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return errors.Is(err, os.ErrNotExist)
}

// executors are the ways a client execs through the API server, as kubectl does.
var executors = []struct {
	name string
	new  func(t *testing.T, p *corev1.Pod, container string, cmd []string, stdin bool) remotecommand.Executor
}{
	{"spdy", spdyExecutor},
	{"websocket", websocketExecutor},
	{"fallback", func(t *testing.T, p *corev1.Pod, container string, cmd []string, stdin bool) remotecommand.Executor {
		e, err := remotecommand.NewFallbackExecutor(websocketExecutor(t, p, container, cmd, stdin), spdyExecutor(t, p, container, cmd, stdin),
			func(err error) bool { return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err) })
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		return e
	}},
}

func execRequest(p *corev1.Pod, container string, cmd []string, stdin bool) *rest.Request {
	return env.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(p.Namespace).Name(p.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdin: stdin, Stdout: true, Stderr: true}, scheme.ParameterCodec)
}

func spdyExecutor(t *testing.T, p *corev1.Pod, container string, cmd []string, stdin bool) remotecommand.Executor {
	e, err := remotecommand.NewSPDYExecutor(env.cluster.Config, http.MethodPost, execRequest(p, container, cmd, stdin).URL())
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return e
}

func websocketExecutor(t *testing.T, p *corev1.Pod, container string, cmd []string, stdin bool) remotecommand.Executor {
	e, err := remotecommand.NewWebSocketExecutor(env.cluster.Config, http.MethodGet, execRequest(p, container, cmd, stdin).URL().String())
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return e
}

// runningPod creates a pod that restarts always on nodeName and waits until it runs.
func runningPod(t *testing.T, name, nodeName string) *corev1.Pod {
	t.Helper()
	p := create(t, pod(name, nodeName, corev1.RestartPolicyAlways, map[string]string{"main": "true", "second": "true"}))
	if nodeName == node {
		return waitPhase(t, name, corev1.PodRunning)
	}
	return p
}

// Exec through the API server runs the command as a process in the pod's directory, with the
// pod's environment: output, input and exit code reach the client by every protocol.
func TestExec(t *testing.T) {
	requireEnv(t)
	p := runningPod(t, "exec", node)
	for _, ex := range executors {
		t.Run(ex.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			var stdout, stderr bytes.Buffer
			e := ex.new(t, p, "second", []string{"sh", "-c", `echo out; echo "$GREETING $POD_NAMESPACE/$POD_NAME/$CONTAINER_NAME $(pwd)"; echo err >&2; exit 3`}, false)
			err := e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
			var exitErr exec.CodeExitError
			g.Expect(errors.As(err, &exitErr)).To(BeTrue(), "%v", err)
			g.Expect(exitErr.Code).To(Equal(3))
			g.Expect(err.Error()).To(Equal("command terminated with exit code 3"))
			g.Expect(stdout.String()).To(Equal("out\nhello default/exec/second " + env.kubelet.PodDir("default", "exec") + "\n"))
			g.Expect(stderr.String()).To(Equal("err\n"))

			stdout.Reset()
			e = ex.new(t, p, "main", []string{"cat"}, true)
			g.Expect(e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("from stdin"), Stdout: &stdout, Stderr: io.Discard})).To(Succeed())
			g.Expect(stdout.String()).To(Equal("from stdin"))
		})
	}
}

// When the client gives up, the API server closes its connection to the kubelet and the
// stand-in kills the process, by every protocol.
func TestExecKilledWhenClientLeaves(t *testing.T) {
	requireEnv(t)
	p := runningPod(t, "exec-leave", node)
	for _, ex := range executors {
		t.Run(ex.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := filepath.Join(env.kubelet.PodDir("default", "exec-leave"), ex.name)
			g.Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			e := ex.new(t, p, "main", []string{"sh", "-c", "echo $$ > " + ex.name + "/pid; exec sleep 300"}, false)
			start := time.Now()
			err := e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
			g.Expect(err).To(MatchError(context.DeadlineExceeded))
			g.Expect(time.Since(start)).To(BeNumerically("<", 10*time.Second))
			pid := readPID(t, dir)
			g.Eventually(func() bool { return processGone(pid) }).WithTimeout(10 * time.Second).WithPolling(poll).Should(BeTrue())
		})
	}
}

// Exec is refused for a pod the stand-in does not run, a container not in the pod, and a pod
// that does not run (any more): through the API server and asked directly.
func TestExecRefused(t *testing.T) {
	requireEnv(t)
	running := runningPod(t, "exec-refused", node)
	// A second Node at the stand-in's address: the API server sends its pods' execs to the
	// stand-in, which runs only its own node's pods.
	decoy, err := env.cs.CoreV1().Nodes().Create(t.Context(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "decoy"}}, metav1.CreateOptions{})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	decoy.Status = corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(env.kubelet.Port())}},
	}
	_, err = env.cs.CoreV1().Nodes().UpdateStatus(t.Context(), decoy, metav1.UpdateOptions{})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	elsewhere := runningPod(t, "exec-elsewhere", "decoy")
	nowhere := runningPod(t, "exec-nowhere", "no-such-node")
	finished := create(t, pod("exec-finished", node, corev1.RestartPolicyNever, map[string]string{"main": "true"}))
	waitPhase(t, finished.Name, corev1.PodSucceeded)

	for _, tc := range []struct {
		name      string
		pod       *corev1.Pod
		container string
		want      string // in the error through the API server
		status    int    // of the stand-in, asked directly
	}{
		{"pod on another node", elsewhere, "main", "does not exist on node node-a", http.StatusNotFound},
		{"pod on a node without kubelet", nowhere, "main", `"no-such-node" not found`, http.StatusNotFound},
		{"unknown container", running, "nope", "container nope is not valid for pod exec-refused", http.StatusNotFound},
		{"finished pod", finished, "main", "container main of pod default/exec-finished is not running", http.StatusConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ex := range executors {
				g := NewWithT(t)
				ctx, cancel := context.WithTimeout(t.Context(), timeout)
				err := ex.new(t, tc.pod, tc.container, []string{"true"}, false).
					StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
				cancel()
				g.Expect(err).To(MatchError(ContainSubstring(tc.want)), ex.name)
			}
			g := NewWithT(t)
			status, body := direct(t, fmt.Sprintf("/exec/%s/%s/%s?command=true&output=1", tc.pod.Namespace, tc.pod.Name, tc.container))
			g.Expect(status).To(Equal(tc.status), body)
		})
	}
}

// direct asks the stand-in itself over HTTPS, trusting its CA.
func direct(t *testing.T, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: env.kubelet.CA().Pool(), MinVersion: tls.VersionTLS12}}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://"+env.kubelet.Addr()+path, nil)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	resp, err := c.Do(req)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
