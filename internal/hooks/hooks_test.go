package hooks_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/hooks"
	"github.com/drplan/drplan/internal/kubeletstandin"
	"github.com/drplan/drplan/internal/testenv"
)

// node is the node of the kubelet stand-in, where the pods that exec hooks run in are bound.
const node = "primary-1"

// testTimeout bounds every test against the API server.
const testTimeout = 2 * time.Minute

// env is one API server, with a kubelet stand-in for pods/exec, shared by the tests.
var env struct {
	skip    string
	err     error
	cluster *testenv.Cluster
	kubelet *kubeletstandin.Kubelet
	c       client.WithWatch
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
	dir, err := os.MkdirTemp("", "hooks-test-")
	if err != nil {
		env.err = err
		return stop
	}
	stops = append(stops, func() { _ = os.RemoveAll(dir) })
	c, err := kubeletstandin.StartCluster("primary", dir, tools, kubeletstandin.Options{NodeName: node, MaxRunTime: time.Minute})
	if err != nil {
		env.err = err
		return stop
	}
	stops = append(stops, func() { _ = c.Stop() })
	env.cluster, env.kubelet = c.API, c.Kubelet
	env.c, env.err = client.NewWithWatch(env.cluster.Config, client.Options{})
	return stop
}

// requireEnv skips the test without the API server's binaries, and returns a context bounded
// by testTimeout that logs to the test.
func requireEnv(t *testing.T) context.Context {
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
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return logr.NewContext(ctx, testLogger(t))
}

// testLogger logs to t until t ends. client-go's stream goroutines may outlive an exec that
// timed out and log through the context's logger afterwards, which t.Log does not allow.
func testLogger(t *testing.T) logr.Logger {
	var mu sync.Mutex
	done := false
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		done = true
	})
	return funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Log(prefix, args)
		}
	}, funcr.Options{Verbosity: 1})
}

// runner is a Runner on the test's API server.
func runner() *hooks.Runner {
	return &hooks.Runner{Client: env.c, Config: env.cluster.Config}
}

// namespace creates a namespace for one test, its name prefix-<random>: tests may run again
// (-count) on the same API server.
func namespace(ctx context.Context, t *testing.T, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	NewWithT(t).Expect(env.c.Create(ctx, ns)).To(Succeed())
	return ns.Name
}
