package planner

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/authorization"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// A failover whose policy asks for an authorization starts only with an allowed verdict; a
// refused, pending or missing one changes nothing in either cluster.
func TestFailoverAuthorization(t *testing.T) {
	f := newFailoverWorld()
	review := authorization.Policy{Approvals: 1, AllowLists: []authorization.AllowList{{Users: []string{"alice"}}}}
	allowed := authorization.Verdict{Allowed: true, Commit: rev, Signer: "ssh key SHA256:x (alice)",
		PullRequest: &authorization.PullRequest{Number: 4}, Approvers: []string{"alice"}}
	refused := authorization.Decide(review, authorization.Evidence{Commit: rev})
	for _, tc := range []struct {
		name     string
		policy   authorization.Policy
		plan     func(*plans.DRPlan)
		verdicts map[string]authorization.Verdict
		check    func(g Gomega, res Result)
	}{
		{name: "no policy: starts", verdicts: map[string]authorization.Verdict{},
			check: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(Equal([]string{"*planner.WriteFailoverRecord"}))
				g.Expect(res.Actions[0].(*WriteFailoverRecord).Record.AuthorizedBy).To(BeNil())
			}},
		{name: "allowed: starts and records who", policy: review, verdicts: map[string]authorization.Verdict{"payments": allowed},
			check: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(Equal([]string{"*planner.WriteFailoverRecord"}))
				g.Expect(res.Actions[0].(*WriteFailoverRecord).Record.AuthorizedBy).To(HaveValue(Equal(allowed)))
				g.Expect(res.Report.Plans[0].FailoverStatus.AuthorizedBy).To(HaveValue(Equal(allowed)))
			}},
		{name: "refused: nothing written", policy: review, verdicts: map[string]authorization.Verdict{"payments": refused},
			check: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				fs := res.Report.Plans[0].FailoverStatus
				g.Expect(fs.Phase).To(Equal(FailoverUnauthorized))
				g.Expect(fs.Waiting).To(ContainSubstring("the failover is not authorized (commit 0123456789ab was pushed straight to the branch"))
				g.Expect(fs.Notes).To(ContainElement(ContainSubstring("It needs a pull request approved by 1 allowed reviewer (alice) after its last push")))
				g.Expect(res.Report.Plans[0].Problems).To(ContainElement(ContainSubstring("not authorized")))
			}},
		{name: "the plan adds a signature the config does not ask for", plan: func(d *plans.DRPlan) {
			d.Spec.FailoverAuthorization = &plans.FailoverAuthorization{SignedCommits: true}
		}, verdicts: map[string]authorization.Verdict{"payments": authorization.Decide(authorization.Policy{SignedCommit: true}, authorization.Evidence{Commit: rev, SignatureProblem: "not signed"})},
			check: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].FailoverStatus.Phase).To(Equal(FailoverUnauthorized))
			}},
		{name: "pending: waits and asks again", policy: review,
			verdicts: map[string]authorization.Verdict{"payments": authorization.Decide(review, authorization.Evidence{Commit: rev, Unavailable: "forge: 503"})},
			check: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].FailoverStatus.Phase).To(Equal(FailoverPending))
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("forge: 503"))
				g.Expect(res.RequeueAfter).To(BeNumerically(">", 0))
			}},
		{name: "not gathered yet: waits", policy: review, verdicts: map[string]authorization.Verdict{},
			check: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(HavePrefix("checking who authorized the failover"))
			}},
		{name: "a preview (not gathered): shows the start, says what it needs", policy: review,
			check: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(Equal([]string{"*planner.WriteFailoverRecord"}))
				g.Expect(res.Report.Plans[0].FailoverStatus.Notes).To(ContainElement(HavePrefix("the failover starts only once authorized")))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			var mutate []func(*plans.DRPlan)
			if tc.plan != nil {
				mutate = append(mutate, tc.plan)
			}
			in := Input{Plans: &plans.Set{Plans: []*plans.Plan{failoverPlan(mutate...)}},
				Clusters: map[string]*observed.State{"east": f.east(), "west": f.west(f.withStandbys()...)},
				Now:      now, Namespace: ns, Owner: owner, Revision: rev, Authorization: tc.policy, Verdicts: tc.verdicts}
			if FailoverPolicy(in, in.Plans.Plans[0]).Required() {
				g.Expect(FailoversToAuthorize(in)).To(Equal([]string{"payments"}))
			} else {
				g.Expect(FailoversToAuthorize(in)).To(BeEmpty())
			}
			tc.check(g, Decide(in))
		})
	}
}

// A failover that started is not asked about again.
func TestFailoversToAuthorizeSkipsStarted(t *testing.T) {
	f := newFailoverWorld()
	in := Input{Plans: &plans.Set{Plans: []*plans.Plan{failoverPlan()}},
		Clusters: map[string]*observed.State{"east": f.east(), "west": f.west(append(f.withStandbys(), recordCM(rec(true, 0)))...)},
		Now:      now, Namespace: ns, Owner: owner, Revision: rev, Authorization: authorization.Policy{SignedCommit: true}}
	NewWithT(t).Expect(FailoversToAuthorize(in)).To(BeEmpty())
}
