package forge

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestApprovers(t *testing.T) {
	t.Parallel()
	at := func(min int) time.Time { return time.Date(2026, 5, 1, 10, min, 0, 0, time.UTC) }
	const head, old = "head000", "old0000"
	cases := []struct {
		name    string
		reviews []Review
		head    string
		want    []string
	}{
		{
			name: "approvals of the head, each user once, sorted",
			reviews: []Review{
				{User: "carol", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(1)},
				{User: "alice", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(2)},
				{User: "carol", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(3)},
			},
			head: head, want: []string{"alice", "carol"},
		},
		{
			name: "an approval of an older head does not count",
			reviews: []Review{
				{User: "alice", State: ReviewApproved, CommitSHA: old, SubmittedAt: at(1)},
				{User: "bob", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(2)},
			},
			head: head, want: []string{"bob"},
		},
		{
			name: "approved again after the push: counts",
			reviews: []Review{
				{User: "alice", State: ReviewApproved, CommitSHA: old, Stale: true, SubmittedAt: at(1)},
				{User: "alice", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(5)},
			},
			head: head, want: []string{"alice"},
		},
		{
			name: "a stale approval does not count, even on the head's commit",
			reviews: []Review{
				{User: "alice", State: ReviewApproved, CommitSHA: head, Stale: true, SubmittedAt: at(1)},
			},
			head: head, want: nil,
		},
		{
			name: "a later change request cancels the approval",
			reviews: []Review{
				{User: "alice", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(1)},
				{User: "alice", State: ReviewChangesRequested, CommitSHA: head, SubmittedAt: at(2)},
				{User: "bob", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(3)},
			},
			head: head, want: []string{"bob"},
		},
		{
			name: "a change request on an older head, then an approval of the head",
			reviews: []Review{
				{User: "alice", State: ReviewChangesRequested, CommitSHA: old, Stale: true, SubmittedAt: at(1)},
				{User: "alice", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(2)},
			},
			head: head, want: []string{"alice"},
		},
		{
			name: "a dismissed approval does not count",
			reviews: []Review{
				{User: "alice", State: ReviewDismissed, CommitSHA: head, SubmittedAt: at(1)},
				{User: "bob", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(1)},
				{User: "bob", State: ReviewDismissed, CommitSHA: head, SubmittedAt: at(2)},
			},
			head: head, want: nil,
		},
		{
			name: "a later comment does not cancel the approval",
			reviews: []Review{
				{User: "alice", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(1)},
				{User: "alice", State: ReviewCommented, CommitSHA: head, SubmittedAt: at(2)},
				{User: "bob", State: ReviewCommented, CommitSHA: head, SubmittedAt: at(2)},
			},
			head: head, want: []string{"alice"},
		},
		{
			name: "the latest by time, whatever the listing order",
			reviews: []Review{
				{User: "alice", State: ReviewChangesRequested, CommitSHA: head, SubmittedAt: at(9)},
				{User: "alice", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(1)},
			},
			head: head, want: nil,
		},
		{
			name: "at the same time, the later listed",
			reviews: []Review{
				{User: "alice", State: ReviewChangesRequested, CommitSHA: head, SubmittedAt: at(1)},
				{User: "alice", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(1)},
			},
			head: head, want: []string{"alice"},
		},
		{
			name: "no commit from the forge: counts unless stale (GitLab without approved_at)",
			reviews: []Review{
				{User: "alice", State: ReviewApproved},
				{User: "bob", State: ReviewApproved, Stale: true},
			},
			head: head, want: []string{"alice"},
		},
		{
			name: "commits compare without case",
			reviews: []Review{
				{User: "alice", State: ReviewApproved, CommitSHA: "ABCDEF1"},
			},
			head: "abcdef1", want: []string{"alice"},
		},
		{
			name: "no head known: only approvals without a commit count",
			reviews: []Review{
				{User: "alice", State: ReviewApproved, CommitSHA: head},
				{User: "bob", State: ReviewApproved},
			},
			head: "", want: []string{"bob"},
		},
		{
			name: "a review without a user (a deleted account) is ignored",
			reviews: []Review{
				{State: ReviewApproved, CommitSHA: head},
			},
			head: head, want: nil,
		},
		{name: "no reviews", head: head, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			g.Expect(Approvers(tc.reviews, tc.head)).To(Equal(tc.want))
		})
	}
}

func TestSplitTeam(t *testing.T) {
	t.Parallel()
	cases := []struct {
		team, org, name string
		ok              bool
	}{
		{"ops/sre", "ops", "sre", true},
		{"ops", "", "", false},
		{"/sre", "", "", false},
		{"ops/", "", "", false},
		{"ops/sre/oncall", "", "", false},
	}
	for _, tc := range cases {
		g := NewWithT(t)
		org, name, err := splitTeam(KindGitHub, tc.team)
		if !tc.ok {
			g.Expect(err).To(MatchError(ContainSubstring("not org/team")), tc.team)
			g.Expect(err.Error()).To(ContainSubstring(tc.team))
			continue
		}
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect([]string{org, name}).To(Equal([]string{tc.org, tc.name}))
	}
}
