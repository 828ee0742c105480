package pullrequests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/drplan/drplan/internal/authorization"
	"github.com/drplan/drplan/internal/forge"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/report"
	"github.com/drplan/drplan/plans"
)

// fakeForge records every write and answers with err when set.
type fakeForge struct {
	open     []forge.PullRequest
	merged   map[string]*forge.PullRequest
	err      error
	comments map[string]string // "pr 3" or "commit abc" → body
	statuses map[string]forge.Status
	calls    []string
}

func newFakeForge() *fakeForge {
	return &fakeForge{merged: map[string]*forge.PullRequest{}, comments: map[string]string{}, statuses: map[string]forge.Status{}}
}

func (f *fakeForge) Kind() forge.Kind   { return forge.KindGitea }
func (f *fakeForge) MaxCommentLen() int { return 65536 }

func (f *fakeForge) OpenPullRequests(context.Context, string) ([]forge.PullRequest, error) {
	f.calls = append(f.calls, "list")
	return f.open, f.err
}

func (f *fakeForge) PullRequestForCommit(_ context.Context, sha string) (*forge.PullRequest, error) {
	f.calls = append(f.calls, "pr-for "+sha)
	return f.merged[sha], f.err
}

func (f *fakeForge) UpsertComment(_ context.Context, n int, _ string, render forge.Render) (forge.Comment, error) {
	key := fmt.Sprintf("pr %d", n)
	f.calls = append(f.calls, "comment "+key)
	if f.err != nil {
		return forge.Comment{}, f.err
	}
	f.comments[key] = render(f.comments[key])
	return forge.Comment{Body: f.comments[key]}, nil
}

func (f *fakeForge) SetCommitStatus(_ context.Context, sha string, st forge.Status) error {
	f.calls = append(f.calls, "status "+sha)
	if f.err != nil {
		return f.err
	}
	f.statuses[sha] = st
	return nil
}

func (f *fakeForge) CommentOnCommit(_ context.Context, sha, _ string, render forge.Render) (forge.Comment, error) {
	key := "commit " + sha
	f.calls = append(f.calls, "comment "+key)
	if f.err != nil {
		return forge.Comment{}, f.err
	}
	f.comments[key] = render(f.comments[key])
	return forge.Comment{Body: f.comments[key]}, nil
}

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// world is a reporter on a fake forge and a fake clock, whose previews decide heads from
// decisions, by head commit.
type world struct {
	f         *fakeForge
	clk       *clocktesting.FakeClock
	r         *Reporter
	decisions map[string]Decision
	previews  int
}

func newWorld() *world {
	w := &world{f: newFakeForge(), clk: clocktesting.NewFakeClock(t0), decisions: map[string]Decision{}}
	w.r = New(Options{Forge: w.f, PullRequests: w.f, Base: "main", Interval: time.Minute, Clock: w.clk, Log: logr.Discard(),
		Preview: func(_ context.Context, pr forge.PullRequest) (Decision, error) {
			w.previews++
			d, ok := w.decisions[pr.HeadSHA]
			if !ok {
				return Decision{}, fmt.Errorf("no decision for %s", pr.HeadSHA)
			}
			return d, nil
		}})
	return w
}

func valid(rev string) Decision {
	return Decision{Revision: rev, Result: planner.Result{Report: planner.Report{Now: t0}}}
}

func running(rev, waiting string) planner.Result {
	// No start time: the comment then shows no elapsed time, and changes only with waiting.
	fs := &planner.FailoverReport{Phase: planner.FailoverRunning, Revision: rev, Waiting: waiting,
		Steps: []planner.FailoverStepReport{{Name: planner.WaveStep("db"), Wave: "db", State: planner.StepRunning, Waiting: waiting}}}
	return planner.Result{Report: planner.Report{Now: t0, Plans: []planner.PlanReport{{Name: "shop", Primary: "east", Secondary: "west", Failover: true, FailoverStatus: fs}}}}
}

func TestPreviewOncePerHead(t *testing.T) {
	cases := []struct {
		name string
		// heads are the pull request heads seen by successive listings.
		heads        []string
		wantPreviews int
	}{
		{"one head seen three times", []string{"a1", "a1", "a1"}, 1},
		{"a push previews the new head", []string{"a1", "b2"}, 2},
		{"back to an old head previews again", []string{"a1", "b2", "a1"}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			w := newWorld()
			for _, h := range tc.heads {
				w.decisions[h] = valid(h)
				w.f.open = []forge.PullRequest{{Number: 7, HeadSHA: h, HeadRef: "refs/pull/7/head"}}
				w.r.previews(t.Context())
			}
			g.Expect(w.previews).To(Equal(tc.wantPreviews))
			last := tc.heads[len(tc.heads)-1]
			g.Expect(w.f.statuses).To(HaveKey(last))
			g.Expect(w.f.statuses[last].State).To(Equal(forge.StateSuccess))
			g.Expect(w.f.comments["pr 7"]).To(HavePrefix(report.Marker), "one sticky comment, found by its marker")
		})
	}
}

func TestPreviewStatusFailsOnProblems(t *testing.T) {
	g := NewWithT(t)
	w := newWorld()
	d := valid("c3")
	d.Problems = []plans.Problem{{File: "plans/a.yaml", Line: 4, Column: 3, Field: "spec.rpo", Message: "must be positive"}}
	w.decisions["c3"] = d
	w.f.open = []forge.PullRequest{{Number: 1, HeadSHA: "c3"}}
	w.r.previews(t.Context())
	g.Expect(w.f.statuses["c3"].State).To(Equal(forge.StateFailure))
	g.Expect(w.f.statuses["c3"].Description).To(ContainSubstring("plans/a.yaml:4"))
}

func TestBackoff(t *testing.T) {
	rateLimited := &forge.APIError{Class: forge.ErrRateLimited, Status: 429, RetryAfter: 2 * time.Minute}
	cases := []struct {
		name string
		err  error
		// quiet is how long the forge is left alone after the failure.
		quiet time.Duration
	}{
		{"rate limited with Retry-After", rateLimited, 2 * time.Minute},
		{"unavailable, no Retry-After", &forge.APIError{Class: forge.ErrUnavailable, Status: 503}, DefaultBackoff},
		{"a short Retry-After waits the least backoff", &forge.APIError{Class: forge.ErrRateLimited, RetryAfter: time.Second}, DefaultBackoff},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			w := newWorld()
			w.decisions["a1"] = valid("a1")
			w.f.open = []forge.PullRequest{{Number: 2, HeadSHA: "a1"}}
			w.f.err = tc.err
			w.r.previews(t.Context())
			g.Expect(w.f.calls).To(Equal([]string{"list"}))

			w.f.err = nil
			w.clk.Step(tc.quiet - time.Second)
			w.r.previews(t.Context())
			w.r.PassDone(Pass{Decision: valid("m1")})
			w.r.report(t.Context())
			g.Expect(w.f.calls).To(Equal([]string{"list"}), "nothing is asked while backing off")

			w.clk.Step(time.Second)
			w.r.previews(t.Context())
			g.Expect(w.f.calls).To(ContainElement("status a1"), "asked again once the wait is over")
		})
	}
}

func TestAppliedOncePerRevision(t *testing.T) {
	cases := []struct {
		name       string
		merged     *forge.PullRequest
		wantTarget string
		wantStatus bool
	}{
		{"from a merged pull request: its comment", &forge.PullRequest{Number: 9, Merged: true}, "pr 9", false},
		{"pushed without one: a commit comment and status", nil, "commit m1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			w := newWorld()
			w.f.merged["m1"] = tc.merged
			for range 3 {
				w.r.PassDone(Pass{Decision: valid("m1")})
				w.r.report(t.Context())
				w.clk.Step(time.Minute)
			}
			writes := 0
			for _, c := range w.f.calls {
				if strings.HasPrefix(c, "comment ") {
					writes++
					g.Expect(c).To(Equal("comment " + tc.wantTarget))
				}
			}
			g.Expect(writes).To(Equal(1), "one applied comment per revision, however many passes")
			g.Expect(w.f.statuses).To(HaveLen(map[bool]int{true: 1, false: 0}[tc.wantStatus]))
		})
	}
}

func TestProgressThrottled(t *testing.T) {
	g := NewWithT(t)
	w := newWorld()
	w.f.merged["m1"] = &forge.PullRequest{Number: 4, Merged: true}
	writes := func() int {
		n := 0
		for _, c := range w.f.calls {
			if c == "comment pr 4" {
				n++
			}
		}
		return n
	}
	pass := func(waiting string) {
		w.r.PassDone(Pass{Decision: Decision{Revision: "m1", Result: running("m1", waiting)}})
		w.r.report(t.Context())
	}
	pass("gate 1/3")
	g.Expect(writes()).To(Equal(2), "the applied comment, then the first progress")
	pass("gate 2/3")
	g.Expect(writes()).To(Equal(2), "no edit within ProgressEvery")
	w.clk.Step(DefaultProgressEvery)
	pass("gate 2/3")
	g.Expect(writes()).To(Equal(3), "edited once ProgressEvery passed")
	w.clk.Step(DefaultProgressEvery)
	pass("gate 2/3")
	g.Expect(writes()).To(Equal(3), "not edited when nothing changed")
	g.Expect(w.f.comments["pr 4"]).To(ContainSubstring("gate 2/3"))
}

func TestPreviewErrorIsNotRemembered(t *testing.T) {
	g := NewWithT(t)
	w := newWorld()
	w.f.open = []forge.PullRequest{{Number: 5, HeadSHA: "x9"}}
	w.r.previews(t.Context()) // no decision for x9: the preview fails
	g.Expect(w.f.statuses).To(BeEmpty())
	w.decisions["x9"] = valid("x9")
	w.r.previews(t.Context())
	g.Expect(w.f.statuses).To(HaveKey("x9"), "a head whose preview failed is previewed again")
}

// A failover the revision asks for and the agent refuses fails the revision's commit status,
// on the merged pull request's commit too, once per reason; its comment says why.
func TestRefusedFailoverFailsTheStatus(t *testing.T) {
	g := NewWithT(t)
	w := newWorld()
	w.f.merged["m1"] = &forge.PullRequest{Number: 4, Merged: true, URL: "https://forge/pr/4"}
	v := authorization.Verdict{Reasons: []string{"pull request #4 has 0 approvals after its last push, it needs 1 approval"}}
	res := running("m1", "the failover is not authorized (pull request #4 has 0 approvals after its last push, it needs 1 approval); nothing was changed in either cluster")
	res.Report.Plans[0].FailoverStatus.Phase = planner.FailoverUnauthorized
	res.Report.Plans[0].FailoverStatus.AuthorizedBy = &v
	for range 3 {
		w.r.PassDone(Pass{Decision: Decision{Revision: "m1", Result: res}})
		w.r.report(t.Context())
		w.clk.Step(DefaultProgressEvery)
	}
	st := w.f.statuses["m1"]
	g.Expect(st.State).To(Equal(forge.StateFailure))
	g.Expect(st.Description).To(Equal("failover of shop not authorized: pull request #4 has 0 approvals after its last push, it needs 1 approval"))
	g.Expect(st.TargetURL).To(Equal("https://forge/pr/4"))
	n := 0
	for _, c := range w.f.calls {
		if c == "status m1" {
			n++
		}
	}
	g.Expect(n).To(Equal(1), "set once for the same reason")
	g.Expect(w.f.comments["pr 4"]).To(ContainSubstring("not authorized"))
}

// A drill asked for by a merged pull request is reported there like a failover: the applied
// comment, then its progress until it ends.
func TestDrillProgress(t *testing.T) {
	g := NewWithT(t)
	w := newWorld()
	w.f.merged["m1"] = &forge.PullRequest{Number: 5, Merged: true}
	pass := func(phase planner.DrillPhase, waiting string) {
		res := planner.Result{Report: planner.Report{Plans: []planner.PlanReport{{Name: "shop", Secondary: "west",
			Drill: &planner.DrillReport{ID: "q1", Namespace: "drill", Phase: phase, Revision: "m1", Waiting: waiting}}}}}
		w.r.PassDone(Pass{Decision: Decision{Revision: "m1", Result: res}})
		w.r.report(t.Context())
		w.clk.Step(DefaultProgressEvery)
	}
	pass(planner.DrillRunning, "drill prepare: creating drill copy pg-drill")
	g.Expect(w.f.comments["pr 5"]).To(ContainSubstring("drill `q1` of `shop`: running"))
	g.Expect(w.f.comments["pr 5"]).To(ContainSubstring("creating drill copy pg-drill"))
	pass(planner.DrillSucceeded, "")
	g.Expect(w.f.comments["pr 5"]).To(ContainSubstring("drplan: drill `q1` of `shop`: succeeded"))
}
