package longhornsim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"golang.org/x/sync/errgroup"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
	"github.com/drplan/drplan/internal/testenv"
)

// The tests below that need real API servers share two of them, east and west, started once
// for the test binary with a simulator each and one backup store. They skip only under -short;
// without -short a missing component is a failure. Set LONGHORNSIM_LOG=1 to see the
// simulators' logs on stderr (they go to sim.log in the environment's directory otherwise).

// testBlockSize keeps test data small: 64 KiB blocks.
const testBlockSize = 64 << 10

type simCluster struct {
	name    string
	cluster *testenv.Cluster
	sim     *Sim
	c       client.Client
	cancel  context.CancelFunc
	done    chan error
}

var env struct {
	err        error
	dir        string
	store      *backupstore.Store
	east, west *simCluster
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(func() int {
		if testing.Short() {
			return m.Run()
		}
		stop, err := startEnv()
		if err != nil {
			env.err = err
		}
		defer stop()
		return m.Run()
	}())
}

// requireEnv skips under -short and fails when the environment did not start.
func requireEnv(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs real API servers; skipped under -short")
	}
	if env.err != nil {
		t.Fatalf("test environment: %v", env.err)
	}
}

func startEnv() (func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	tools, err := testenv.FindTools()
	if err != nil {
		return stop, err
	}
	dir, err := os.MkdirTemp("", "longhornsim-test-")
	if err != nil {
		return stop, err
	}
	stops = append(stops, func() { _ = os.RemoveAll(dir) })
	env.dir = dir
	logOut := os.Stderr
	if os.Getenv("LONGHORNSIM_LOG") == "" {
		f, err := os.Create(filepath.Join(dir, "sim.log"))
		if err != nil {
			return stop, err
		}
		stops = append(stops, func() { _ = f.Close() })
		logOut = f
	}
	logger := zap.New(zap.WriteTo(logOut), zap.UseDevMode(true), zap.Level(zapcore.Level(-1)))
	ctrl.SetLogger(logger)
	if env.store, err = backupstore.New(filepath.Join(dir, "store")); err != nil {
		return stop, err
	}
	var g errgroup.Group
	clusters := make([]*simCluster, 2)
	for i, name := range []string{"east", "west"} {
		g.Go(func() error {
			sc, err := startSimCluster(name, dir, tools)
			clusters[i] = sc
			return err
		})
	}
	err = g.Wait()
	for _, sc := range clusters {
		if sc != nil {
			stops = append(stops, sc.stop)
		}
	}
	if err != nil {
		return stop, err
	}
	env.east, env.west = clusters[0], clusters[1]
	return stop, nil
}

func startSimCluster(name, dir string, tools testenv.Tools) (*simCluster, error) {
	crds, err := longhorn.CRDs()
	if err != nil {
		return nil, err
	}
	c, err := testenv.StartCluster(name, dir, tools, testenv.ClusterOptions{CRDs: crds, Webhooks: WebhookInstallOptions()})
	if err != nil {
		return nil, err
	}
	sc := &simCluster{name: name, cluster: c}
	if err := sc.startSim(dir); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return sc, nil
}

// startSim starts (or restarts) the cluster's simulator.
func (sc *simCluster) startSim(dir string) error {
	sim, err := New(Options{
		Cluster: sc.name, Config: sc.cluster.Config, Store: env.store,
		DataDir:      filepath.Join(dir, sc.name+"-data"),
		PollInterval: 2 * time.Second,
		BlockSize:    testBlockSize,
		Webhook:      WebhookServingFrom(sc.cluster.Webhooks),
		Workloads:    &WorkloadOptions{Delay: 300 * time.Millisecond, NodeName: sc.name + "-node"},
		Logger:       ctrl.Log.WithName("longhornsim"),
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Start(ctx) }()
	select {
	case <-sim.Ready():
	case err := <-done:
		cancel()
		return fmt.Errorf("simulator of cluster %s stopped at start: %w", sc.name, err)
	case <-time.After(60 * time.Second):
		cancel()
		return errors.New("simulator of cluster " + sc.name + " not ready after 60s")
	}
	sc.sim, sc.c, sc.cancel, sc.done = sim, sim.Client(), cancel, done
	return nil
}

// stopSim stops the cluster's simulator and waits for it.
func (sc *simCluster) stopSim() error {
	if sc.cancel == nil {
		return nil
	}
	sc.cancel()
	err := <-sc.done
	sc.cancel = nil
	return err
}

func (sc *simCluster) stop() {
	_ = sc.stopSim()
	_ = sc.cluster.Stop()
}
