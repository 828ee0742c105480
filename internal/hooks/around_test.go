package hooks_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/hooks"
	"github.com/drplan/drplan/plans"
)

// Around runs the pre hooks, the snapshot, the post hooks and the scale-backs in that order;
// what a failing pre hook does depends on its onError. The hooks and the snapshot each append
// a line to a file in the pod's directory, so the file is the order they ran in.
func TestAround(t *testing.T) {
	ctx := requireEnv(t)
	ns := namespace(ctx, t, "around")
	createRunningPods(ctx, t, ns, "pg-0")
	log := filepath.Join(env.kubelet.PodDir(ns, "pg-0"), "order")

	r := runner()
	sel := map[string]string{"app": "pg"}
	step := func(name, line string, onError plans.HookOnError) plans.Hook {
		return plans.Hook{Name: name, OnError: onError, Timeout: plans.Duration{Duration: 20 * time.Second},
			Exec: &plans.ExecHook{Namespace: ns, Selector: sel, Command: []string{"sh", "-c", "echo " + line + " >> order"}}}
	}
	failing := func(name string, onError plans.HookOnError) plans.Hook {
		return plans.Hook{Name: name, OnError: onError,
			Exec: &plans.ExecHook{Namespace: ns, Selector: sel, Command: []string{"sh", "-c", "echo hi; exit 3"}}}
	}
	take := func(err error) func(context.Context) error {
		return func(context.Context) error {
			f, ferr := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if ferr != nil {
				return ferr
			}
			_, _ = f.WriteString("take\n")
			return errors.Join(err, f.Close())
		}
	}
	type want struct {
		order      string
		phases     []string
		taken      bool
		consistent bool
		summary    string
	}
	for _, tc := range []struct {
		name  string
		hooks plans.BackupHooks
		take  error
		want  want
	}{{
		name:  "all ok",
		hooks: plans.BackupHooks{Pre: []plans.Hook{step("checkpoint", "pre", "")}, Post: []plans.Hook{step("resume", "post", plans.HookFail)}},
		want: want{order: "pre\ntake\npost\n", phases: []string{"pre", "post"}, taken: true, consistent: true,
			summary: "pre checkpoint ok (1 pod), snapshot taken, post resume ok (1 pod)"},
	}, {
		name: "pre fails with Fail",
		hooks: plans.BackupHooks{Pre: []plans.Hook{failing("checkpoint", plans.HookFail), step("never", "never", plans.HookFail)},
			Post: []plans.Hook{step("resume", "post", plans.HookFail)}},
		want: want{order: "post\n", phases: []string{"pre", "post"},
			summary: "pre checkpoint failed: pod " + ns + "/pg-0: command terminated with exit code 3: hi; no snapshot taken; post resume ok (1 pod)"},
	}, {
		name: "pre fails with Continue",
		hooks: plans.BackupHooks{Pre: []plans.Hook{failing("checkpoint", plans.HookContinue), step("sync", "pre", plans.HookFail)},
			Post: []plans.Hook{step("resume", "post", plans.HookFail)}},
		want: want{order: "pre\ntake\npost\n", phases: []string{"pre", "pre", "post"}, taken: true,
			summary: "pre checkpoint failed: pod " + ns + "/pg-0: command terminated with exit code 3: hi; pre sync ok (1 pod); snapshot taken, not application-consistent; post resume ok (1 pod)"},
	}, {
		name: "snapshot fails",
		hooks: plans.BackupHooks{Pre: []plans.Hook{step("checkpoint", "pre", plans.HookFail)},
			Post: []plans.Hook{failing("resume", plans.HookFail), step("notify", "post", plans.HookFail)}},
		take: errors.New("create snapshot pg-data: denied"),
		want: want{order: "pre\ntake\npost\n", phases: []string{"pre", "post", "post"},
			summary: "pre checkpoint ok (1 pod); snapshot failed: create snapshot pg-data: denied; post resume failed: pod " + ns + "/pg-0: command terminated with exit code 3: hi; post notify ok (1 pod)"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(os.Remove(log)).To(Or(Succeed(), MatchError(os.ErrNotExist)))
			o := r.Around(ctx, &tc.hooks, take(tc.take))
			order, err := os.ReadFile(log)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(order)).To(Equal(tc.want.order))
			var phases []string
			for _, res := range o.Results {
				phases = append(phases, res.Phase)
			}
			g.Expect(phases).To(Equal(tc.want.phases))
			g.Expect(o.Taken).To(Equal(tc.want.taken))
			g.Expect(o.Consistent).To(Equal(tc.want.consistent))
			g.Expect(o.Summary()).To(Equal(tc.want.summary))
			g.Expect(o.Err() == nil).To(Equal(tc.want.consistent))
		})
	}
}

// Workloads scaled down by pre hooks are scaled back after the post hooks, last first, also
// when a pre hook failed and no snapshot was taken, and also when the context is cancelled.
func TestAroundScalesBack(t *testing.T) {
	ctx := requireEnv(t)
	ns := namespace(ctx, t, "around-scale")
	for _, name := range []string{"api", "worker"} {
		d := createDeployment(ctx, t, ns, name, 2, nil)
		setStatusReplicas(ctx, t, d, 2)
		follow(ctx, t, ns, name)
	}
	stuck := createDeployment(ctx, t, ns, "stuck", 1, nil)
	setStatusReplicas(ctx, t, stuck, 1)
	scale := func(name string, onError plans.HookOnError) plans.Hook {
		return plans.Hook{Name: "stop-" + name, OnError: onError, Timeout: plans.Duration{Duration: time.Second},
			ScaleToZero: &plans.WorkloadRef{Kind: "Deployment", Namespace: ns, Name: name}}
	}
	none := plans.Hook{Name: "checkpoint",
		Exec: &plans.ExecHook{Namespace: ns, Selector: map[string]string{"app": "none"}, Command: []string{"true"}}}
	r := runner()

	t.Run("failed pre hook", func(t *testing.T) {
		g := NewWithT(t)
		taken := false
		o := r.Around(ctx, &plans.BackupHooks{
			Pre: []plans.Hook{scale("api", plans.HookFail), scale("missing", plans.HookContinue), scale("worker", plans.HookFail),
				scale("stuck", plans.HookFail), none},
			Post: []plans.Hook{none},
		}, func(context.Context) error { taken = true; return nil })
		g.Expect(taken).To(BeFalse())
		g.Expect(o.TakeErr).To(MatchError(hooks.ErrNotTaken))
		g.Expect(o.TakeErr).To(MatchError("no snapshot taken: pre hook stop-stuck failed"))
		var ran []string
		for _, res := range o.Results {
			ran = append(ran, res.Phase+" "+res.Hook)
		}
		// The missing workload was never scaled: nothing to scale back.
		g.Expect(ran).To(Equal([]string{"pre stop-api", "pre stop-missing", "pre stop-worker", "pre stop-stuck",
			"post checkpoint", "restore stop-stuck", "restore stop-worker", "restore stop-api"}))
		g.Expect(o.Summary()).To(Equal("pre stop-api ok; pre stop-missing failed: get Deployment " + ns + "/missing: " +
			`deployments.apps "missing" not found; pre stop-worker ok; pre stop-stuck failed: timed out after 1s waiting for ` +
			"Deployment " + ns + "/stuck to have no replicas (1 left); no snapshot taken; post checkpoint failed: selector " +
			"app=none in namespace " + ns + " selects no running pod; restore stop-stuck ok; restore stop-worker ok; restore stop-api ok"))
		for name, n := range map[string]int32{"api": 2, "worker": 2, "stuck": 1} {
			g.Expect(state(ctx, t, ns, name)).To(Equal(deploymentState{Replicas: n}), name)
		}
	})

	t.Run("take panics", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(func() {
			r.Around(ctx, &plans.BackupHooks{Pre: []plans.Hook{scale("api", plans.HookFail)}},
				func(context.Context) error { panic("snapshot bug") })
		}).To(PanicWith("snapshot bug"))
		g.Expect(state(ctx, t, ns, "api")).To(Equal(deploymentState{Replicas: 2}))
	})

	t.Run("cancelled", func(t *testing.T) {
		g := NewWithT(t)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		o := r.Around(cctx, &plans.BackupHooks{Pre: []plans.Hook{scale("api", plans.HookFail)}, Post: []plans.Hook{none}},
			func(context.Context) error { cancel(); return context.Canceled })
		g.Expect(o.Taken).To(BeFalse())
		var ran []string
		for _, res := range o.Results {
			ran = append(ran, res.Phase+" "+res.Hook)
		}
		g.Expect(ran).To(Equal([]string{"pre stop-api", "post checkpoint", "restore stop-api"}))
		g.Expect(o.Results[2].Err).NotTo(HaveOccurred())
		g.Expect(state(ctx, t, ns, "api")).To(Equal(deploymentState{Replicas: 2}))
	})
}
