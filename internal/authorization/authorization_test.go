package authorization

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestDecide(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	pr := &PullRequest{Number: 7, HeadSHA: "feedface"}
	signed := Policy{SignedCommit: true}
	review := Policy{Approvals: 2, AllowLists: []AllowList{{Users: []string{"alice"}, Teams: []string{"org/dr"}}}}
	members := map[string][]string{"org/dr": {"bob", "carol"}}
	for _, tc := range []struct {
		name    string
		policy  Policy
		ev      Evidence
		allowed bool
		pending bool
		reasons []string
		counted []string
	}{
		{name: "no policy", policy: Policy{}, ev: Evidence{Commit: sha}, allowed: true},
		{name: "signed by a trusted key", policy: signed, ev: Evidence{Commit: sha, Signer: "ssh SHA256:abc alice"}, allowed: true},
		{name: "unsigned", policy: signed, ev: Evidence{Commit: sha, SignatureProblem: "not signed"},
			reasons: []string{"commit 0123456789ab: not signed"}},
		{name: "no signature evidence at all", policy: signed, ev: Evidence{Commit: sha},
			reasons: []string{"commit 0123456789ab is not signed by a trusted key"}},
		{name: "pushed straight", policy: review, ev: Evidence{Commit: sha},
			reasons: []string{"commit 0123456789ab was pushed straight to the branch: a failover needs a pull request approved by 2 approvals from alice, team org/dr"}},
		{name: "approved by allowed users and a team member", policy: review,
			ev:      Evidence{Commit: sha, PullRequest: pr, Approvers: []string{"bob", "alice", "mallory"}, Members: members},
			allowed: true, counted: []string{"alice", "bob"}},
		{name: "approved by others only", policy: review,
			ev:      Evidence{Commit: sha, PullRequest: pr, Approvers: []string{"mallory", "alice"}, Members: members},
			reasons: []string{"pull request #7 has 1 approval after its last push, it needs 2 approvals from alice, team org/dr (mallory approved but may not authorize a failover)"},
			counted: []string{"alice"}},
		{name: "approved before a later push", policy: Policy{Approvals: 1},
			ev:      Evidence{Commit: sha, PullRequest: pr, Stale: []string{"alice"}},
			reasons: []string{"pull request #7 has 0 approvals after its last push, it needs 1 approval (alice approved before the last push)"}},
		{name: "plan narrows the config's list", policy: review.Narrow(Policy{Approvals: 1, AllowLists: []AllowList{{Users: []string{"bob"}}}}),
			ev:      Evidence{Commit: sha, PullRequest: pr, Approvers: []string{"alice", "bob"}, Members: members},
			reasons: []string{"pull request #7 has 1 approval after its last push, it needs 2 approvals from alice, team org/dr and from bob (alice approved but may not authorize a failover)"},
			counted: []string{"bob"}},
		{name: "both rules fail", policy: Policy{SignedCommit: true, Approvals: 1},
			ev: Evidence{Commit: sha, SignatureProblem: "signed by a key that is not trusted (SHA256:x)"},
			reasons: []string{"commit 0123456789ab: signed by a key that is not trusted (SHA256:x)",
				"commit 0123456789ab was pushed straight to the branch: a failover needs a pull request approved by 1 approval"}},
		{name: "forge down: pending", policy: review, ev: Evidence{Commit: sha, Unavailable: "forge: 503"},
			pending: true, reasons: []string{"forge: 503"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			v := Decide(tc.policy, tc.ev)
			g.Expect(v.Allowed).To(Equal(tc.allowed))
			g.Expect(v.Pending).To(Equal(tc.pending))
			g.Expect(v.Reasons).To(Equal(tc.reasons))
			if tc.counted != nil {
				g.Expect(v.Approvers).To(Equal(tc.counted))
			}
			g.Expect(v.Commit).To(Equal(sha))
		})
	}
}

func TestNarrowNeverLoosens(t *testing.T) {
	g := NewWithT(t)
	cfg := Policy{SignedCommit: true, Approvals: 2, AllowLists: []AllowList{{Teams: []string{"org/b", "org/a"}}}}
	got := cfg.Narrow(Policy{Approvals: 1, AllowLists: []AllowList{{Teams: []string{"org/a"}}}})
	g.Expect(got.SignedCommit).To(BeTrue())
	g.Expect(got.Approvals).To(Equal(2))
	g.Expect(got.AllowLists).To(HaveLen(2))
	g.Expect(got.Teams()).To(Equal([]string{"org/a", "org/b"}))
	g.Expect(Policy{}.Narrow(Policy{SignedCommit: true}).Required()).To(BeTrue())
}

func TestVerdictString(t *testing.T) {
	g := NewWithT(t)
	v := Decide(Policy{SignedCommit: true, Approvals: 1}, Evidence{Commit: "0123456789abcdef", Signer: "openpgp ABCD alice <a@x>",
		PullRequest: &PullRequest{Number: 3}, Approvers: []string{"bob"}})
	g.Expect(v.String()).To(Equal("failover authorized: commit 0123456789ab signed by openpgp ABCD alice <a@x>; merged through pull request #3, approved by bob"))
	g.Expect(Decide(Policy{Approvals: 1}, Evidence{Commit: "abc"}).String()).To(HavePrefix("failover refused: commit abc was pushed straight"))
}
