package hooks_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/drplan/drplan/internal/hooks"
)

func TestOutcome(t *testing.T) {
	exit3 := fmt.Errorf("pod shop/pg-0: %w: hi", utilexec.CodeExitError{Err: errors.New("command terminated with exit code 3"), Code: 3})
	notTaken := fmt.Errorf("%w: pre hook checkpoint failed", hooks.ErrNotTaken)
	ok := func(phase, hook string, pods ...string) hooks.Result {
		return hooks.Result{Phase: phase, Hook: hook, Pods: pods}
	}
	fail := func(phase, hook string, err error) hooks.Result {
		return hooks.Result{Phase: phase, Hook: hook, Pods: []string{"shop/pg-0"}, Err: err}
	}
	for _, tc := range []struct {
		name    string
		o       hooks.Outcome
		summary string
		errs    []string // substrings of Err, in order; none when nil
	}{{
		name:    "no hooks",
		o:       hooks.Outcome{Taken: true},
		summary: "snapshot taken",
	}, {
		name:    "no hooks, snapshot failed",
		o:       hooks.Outcome{TakeErr: errors.New("create snapshot pg-data: denied")},
		summary: "snapshot failed: create snapshot pg-data: denied",
		errs:    []string{"snapshot: create snapshot pg-data: denied"},
	}, {
		name: "skipped: the application is stopped",
		o: hooks.Outcome{Results: []hooks.Result{{Phase: "pre", Hook: "checkpoint", Skipped: "no running pod: the application is stopped"},
			{Phase: "post", Hook: "resume", Skipped: "no running pod: the application is stopped"}}, Taken: true, Consistent: true},
		summary: "pre checkpoint skipped (no running pod: the application is stopped), snapshot taken, post resume skipped (no running pod: the application is stopped)",
	}, {
		name: "all ok",
		o: hooks.Outcome{Results: []hooks.Result{ok("pre", "checkpoint", "shop/pg-0"), ok("post", "resume", "shop/pg-0", "shop/pg-1")},
			Taken: true, Consistent: true},
		summary: "pre checkpoint ok (1 pod), snapshot taken, post resume ok (2 pods)",
	}, {
		name: "pre failed with Fail",
		o: hooks.Outcome{Results: []hooks.Result{fail("pre", "checkpoint", exit3), ok("post", "resume", "shop/pg-0")},
			TakeErr: notTaken},
		summary: "pre checkpoint failed: pod shop/pg-0: command terminated with exit code 3: hi; no snapshot taken; post resume ok (1 pod)",
		errs:    []string{"pre hook checkpoint: pod shop/pg-0: command terminated with exit code 3: hi", "no snapshot taken: pre hook checkpoint failed"},
	}, {
		name: "pre failed with Continue",
		o: hooks.Outcome{Results: []hooks.Result{fail("pre", "checkpoint", exit3), ok("pre", "sync"), ok("post", "resume")},
			Taken: true},
		summary: "pre checkpoint failed: pod shop/pg-0: command terminated with exit code 3: hi; pre sync ok; snapshot taken, not application-consistent; post resume ok",
		errs:    []string{"pre hook checkpoint: pod shop/pg-0: command terminated with exit code 3"},
	}, {
		name: "snapshot failed between hooks",
		o: hooks.Outcome{Results: []hooks.Result{ok("pre", "checkpoint"), ok("post", "resume")},
			TakeErr: errors.New("disk full")},
		summary: "pre checkpoint ok; snapshot failed: disk full; post resume ok",
		errs:    []string{"snapshot: disk full"},
	}, {
		name: "post failed: still consistent",
		o: hooks.Outcome{Results: []hooks.Result{ok("pre", "checkpoint"), fail("post", "resume", errors.New("pod shop/pg-0: command terminated with exit code 1"))},
			Taken: true, Consistent: true},
		summary: "pre checkpoint ok; snapshot taken; post resume failed: pod shop/pg-0: command terminated with exit code 1",
		errs:    []string{"post hook resume: pod shop/pg-0: command terminated with exit code 1"},
	}, {
		name: "scaled down and back",
		o: hooks.Outcome{Results: []hooks.Result{ok("pre", "stop-web"), ok("post", "resume", "shop/pg-0"), ok("restore", "stop-web")},
			Taken: true, Consistent: true},
		summary: "pre stop-web ok, snapshot taken, post resume ok (1 pod), restore stop-web ok",
	}, {
		name: "scale back failed",
		o: hooks.Outcome{Results: []hooks.Result{ok("pre", "stop-web"), fail("restore", "stop-web", errors.New("scale Deployment shop/web back to 3: forbidden"))},
			Taken: true, Consistent: true},
		summary: "pre stop-web ok; snapshot taken; restore stop-web failed: scale Deployment shop/web back to 3: forbidden",
		errs:    []string{"restore hook stop-web: scale Deployment shop/web back to 3: forbidden"},
	}, {
		name:    "post only",
		o:       hooks.Outcome{Results: []hooks.Result{ok("post", "notify")}, Taken: true},
		summary: "snapshot taken, post notify ok",
	}, {
		name:    "multi-line output folded on one line",
		o:       hooks.Outcome{Results: []hooks.Result{fail("pre", "checkpoint", errors.New("exit 2:\n  line one\n\tline two"))}, TakeErr: notTaken},
		summary: "pre checkpoint failed: exit 2: line one line two; no snapshot taken",
		errs:    []string{"pre hook checkpoint: exit 2:", "no snapshot taken"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tc.o.Summary()).To(Equal(tc.summary))
			err := tc.o.Err()
			if len(tc.errs) == 0 {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(HaveOccurred())
			rest := err.Error()
			for _, s := range tc.errs {
				g.Expect(rest).To(ContainSubstring(s))
			}
			for _, r := range tc.o.Results {
				if r.Err != nil {
					g.Expect(errors.Is(err, r.Err)).To(BeTrue(), "Err wraps %v", r.Err)
				}
			}
			g.Expect(errors.Is(err, hooks.ErrNotTaken)).To(Equal(errors.Is(tc.o.TakeErr, hooks.ErrNotTaken)))
		})
	}

	// The exit code is still there to read.
	o := hooks.Outcome{Results: []hooks.Result{fail("pre", "checkpoint", exit3)}, TakeErr: notTaken}
	var code utilexec.CodeExitError
	NewWithT(t).Expect(errors.As(o.Err(), &code)).To(BeTrue())
	NewWithT(t).Expect(code.Code).To(Equal(3))
}

// Without hooks, Around takes the snapshot alone: crash-consistent.
func TestAroundNoHooks(t *testing.T) {
	g := NewWithT(t)
	r := &hooks.Runner{}
	calls := 0
	o := r.Around(t.Context(), nil, func(context.Context) error { calls++; return nil })
	g.Expect(calls).To(Equal(1))
	g.Expect(o).To(Equal(hooks.Outcome{Taken: true}))

	o = r.Around(t.Context(), nil, func(context.Context) error { return errors.New("denied") })
	g.Expect(o.Taken).To(BeFalse())
	g.Expect(o.TakeErr).To(MatchError("denied"))
	g.Expect(o.Consistent).To(BeFalse())
}
