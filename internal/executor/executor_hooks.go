package executor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/backups"
	"github.com/drplan/drplan/internal/hooks"
	"github.com/drplan/drplan/internal/planner"
)

// HookRetryDelay is how long a wave's hooked snapshots that failed wait before they are tried
// again: hooks quiesce an application, and a failing one must not run on every pass (the
// planner reads HookFailures).
const HookRetryDelay = 30 * time.Second

// restConfigured is a cluster connection that can give its REST config, for pods/exec.
type restConfigured interface{ RESTConfig() *rest.Config }

// hookFailures remembers the hooked snapshots that failed lately, by action key.
type hookFailures struct {
	mu     sync.Mutex
	failed map[string]hookFailure
}

type hookFailure struct {
	at  time.Time
	err error
}

// takeSnapshots runs a TakeSnapshots action: the wave's hooks around its snapshots.
func (e *Executor) takeSnapshots(ctx context.Context, c Cluster, a *planner.TakeSnapshots) (client.Object, error) {
	key := a.Key()
	// The final backup of a planned switchover: the plan's workloads in the primary were scaled
	// to zero before it, so hooks in their pods have nothing to run in and are skipped.
	r := &hooks.Runner{Client: c.Client(), Stopped: true}
	if rc, ok := c.(restConfigured); ok {
		r.Config = rc.RESTConfig()
	}
	out := backups.Hooked(ctx, r, a.Hooks, a.Snapshots, backups.SnapshotTimeout(a.Hooks))
	var obj client.Object = a.Snapshots[0].DeepCopy()
	if !out.Taken {
		err := fmt.Errorf("wave %s: %s", a.Wave, out.Summary())
		e.hooks.remember(key, err)
		return obj, err
	}
	e.hooks.forget(key)
	if err := out.Err(); err != nil {
		// Taken, and a post hook failed: the snapshots stand; the failure is said once.
		return obj, fmt.Errorf("wave %s: snapshots taken, but %s", a.Wave, out.Summary())
	}
	return obj, nil
}

// HookFailures are the hooked snapshots that failed within HookRetryDelay, by
// TakeSnapshots.Key: the planner asks for none of them again before its RetryAt.
func (e *Executor) HookFailures() map[string]planner.HookFailure {
	h := &e.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]planner.HookFailure{}
	for key, f := range h.failed {
		if time.Since(f.at) >= HookRetryDelay {
			delete(h.failed, key)
			continue
		}
		out[key] = planner.HookFailure{At: f.at, RetryAt: f.at.Add(HookRetryDelay), Message: f.err.Error()}
	}
	return out
}

func (h *hookFailures) remember(key string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failed == nil {
		h.failed = map[string]hookFailure{}
	}
	h.failed[key] = hookFailure{at: time.Now(), err: err}
}

func (h *hookFailures) forget(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.failed, key)
}
