package hooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/plans"
)

// The phases of a Result.
const (
	PhasePre     = "pre"
	PhasePost    = "post"
	PhaseRestore = "restore" // the scale-back of a pre scaleToZero hook
)

// FieldManager is the field manager of the patches hooks make.
const FieldManager = "drplan"

// ErrNotTaken is TakeErr when take did not run because a pre hook with onError Fail failed.
var ErrNotTaken = errors.New("no snapshot taken")

// ErrNoPod is in the error of an exec hook whose selector selects no running pod.
var ErrNoPod = errors.New("selects no running pod")

// ErrTimeout is in the error of a hook that ran longer than its timeout.
var ErrTimeout = errors.New("timed out")

// Runner runs hooks in one cluster.
type Runner struct {
	// Client reads pods and scales workloads. Pods are listed through it: a direct client, or a
	// cache that already holds the pods.
	Client client.Client
	// Config is the cluster's REST config, for pods/exec.
	Config *rest.Config
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Stopped says the application was stopped on purpose before the hooks (a planned
	// switchover scales the plan's workloads to zero before its final backup): an exec hook
	// that selects no running pod is then skipped, not failed, the stopped application being
	// consistent on its own.
	Stopped bool
}

// Result is one hook's run.
type Result struct {
	// Hook is the hook's name.
	Hook string
	// Phase is PhasePre, PhasePost or PhaseRestore.
	Phase string
	// Started and Finished bound the run.
	Started, Finished time.Time
	// Pods are the namespace/name of the pods an exec ran in.
	Pods []string
	// Err is nil when the hook succeeded.
	Err error
	// Skipped says why the hook did not run though it did not fail (see Runner.Stopped); empty
	// when it ran.
	Skipped string
	// Output is the command's stdout and stderr, each pod's after a "==> namespace/name <=="
	// line when there are several (what was scaled, for scaleToZero), trimmed to the last 2 KiB,
	// for logs and reports.
	Output string
}

// Outcome is a whole run around one snapshot.
type Outcome struct {
	// Results are the hooks' runs in the order they ran: pre, post, then restore.
	Results []Result
	// Taken is whether take ran and returned nil.
	Taken bool
	// TakeErr is take's error, or why it did not run (ErrNotTaken: a pre hook with onError Fail
	// failed).
	TakeErr error
	// Consistent is true when there were pre hooks, every one succeeded before take ran, and take
	// succeeded: the snapshot is application-consistent. Post hook and scale-back failures are
	// reported but do not change it, since the snapshot was already taken quiesced.
	Consistent bool
}

// Around runs h.Pre, then take (only if no pre hook with onError Fail failed), then h.Post and
// the scale-backs of the workloads pre hooks scaled to zero (in reverse order). take receives
// ctx; each hook is bounded by its own timeout. The post hooks and scale-backs run whatever
// failed before, all of them, and even when ctx is cancelled (they keep its values); a take that
// panics panics again after them. A nil h runs take alone (not Consistent: no hooks,
// crash-consistent).
func (r *Runner) Around(ctx context.Context, h *plans.BackupHooks, take func(context.Context) error) Outcome {
	if h == nil {
		err := take(ctx)
		return Outcome{Taken: err == nil, TakeErr: err}
	}
	var o Outcome
	var scaled []plans.Hook
	preOK := true
	for _, hook := range h.Pre {
		res, touched := r.run(ctx, PhasePre, hook)
		o.Results = append(o.Results, res)
		if touched {
			scaled = append(scaled, hook)
		}
		if res.Err == nil {
			continue
		}
		preOK = false
		if hook.OnError != plans.HookContinue {
			o.TakeErr = fmt.Errorf("%w: pre hook %s failed", ErrNotTaken, hook.Name)
			break
		}
	}
	var panicked any
	if o.TakeErr == nil {
		func() {
			// A panicking take still leaves the application as the pre hooks found it: the
			// panic goes on once the post hooks and scale-backs ran.
			defer func() { panicked = recover() }()
			o.TakeErr = take(ctx)
		}()
		o.Taken = panicked == nil && o.TakeErr == nil
	}
	o.Consistent = len(h.Pre) > 0 && preOK && o.Taken

	// Undo what the pre hooks did, whatever happened since.
	undo := context.WithoutCancel(ctx)
	for _, hook := range h.Post {
		res, _ := r.run(undo, PhasePost, hook)
		o.Results = append(o.Results, res)
	}
	for _, hook := range slices.Backward(scaled) {
		res, _ := r.run(undo, PhaseRestore, hook)
		o.Results = append(o.Results, res)
	}
	if panicked != nil {
		panic(panicked)
	}
	return o
}

// Run runs one hook: an exec, or a scaleToZero (its scale-back in PhaseRestore).
func (r *Runner) Run(ctx context.Context, phase string, h plans.Hook) Result {
	res, _ := r.run(ctx, phase, h)
	return res
}

// run runs one hook; scaled is whether a scaleToZero hook recorded the workload's replicas and
// so must be scaled back.
func (r *Runner) run(ctx context.Context, phase string, h plans.Hook) (res Result, scaled bool) {
	log := logr.FromContextOrDiscard(ctx).WithValues("hook", h.Name, "phase", phase)
	timeout := h.Timeout.Duration
	if timeout <= 0 {
		timeout = plans.DefaultHookTimeout
	}
	res = Result{Hook: h.Name, Phase: phase, Started: r.now()}
	log.V(1).Info("hook started", "timeout", timeout)

	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case h.Exec != nil && h.ScaleToZero != nil:
		res.Err = errors.New("hook has both exec and scaleToZero")
	case h.Exec != nil:
		res.Pods, res.Output, res.Err = r.exec(hctx, h.Exec, timeout)
	case h.ScaleToZero != nil && phase == PhaseRestore:
		res.Output, res.Err = r.scaleBack(hctx, *h.ScaleToZero)
	case h.ScaleToZero != nil:
		scaled, res.Output, res.Err = r.scaleToZero(hctx, *h.ScaleToZero, timeout)
	default:
		res.Err = errors.New("hook has neither exec nor scaleToZero")
	}
	if r.Stopped && h.Exec != nil && errors.Is(res.Err, ErrNoPod) {
		res.Err, res.Skipped = nil, "no running pod: the application is stopped"
	}
	if res.Err != nil && !errors.Is(res.Err, ErrTimeout) && ctx.Err() == nil && errors.Is(hctx.Err(), context.DeadlineExceeded) {
		res.Err = fmt.Errorf("%w after %s: %w", ErrTimeout, timeout, res.Err)
	}
	res.Finished = r.now()

	d := res.Finished.Sub(res.Started)
	if res.Err != nil {
		log.Info("hook failed", "pods", res.Pods, "duration", d, "error", res.Err.Error())
	} else {
		log.V(1).Info("hook finished", "pods", res.Pods, "duration", d)
	}
	return res, scaled
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
