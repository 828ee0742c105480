package authorization

import (
	"fmt"
	"slices"
	"strings"
)

// Policy is who may start a failover.
type Policy struct {
	// SignedCommit requires the commit that set failover: true to carry a valid signature by a
	// trusted key.
	SignedCommit bool `json:"signedCommit,omitempty"`
	// Approvals is how many allowed reviewers must have approved the pull request that merged
	// it, after its last push; 0 asks for no review.
	Approvals int `json:"approvals,omitempty"`
	// AllowLists are the reviewers whose approval counts: a reviewer counts when every list
	// allows them (the config's, then the plan's). None: every reviewer counts.
	AllowLists []AllowList `json:"allowLists,omitempty"`
}

// AllowList allows reviewers by login or by team (org/team).
type AllowList struct {
	Users []string `json:"users,omitempty"`
	Teams []string `json:"teams,omitempty"`
}

// Required reports whether the policy asks for anything.
func (p Policy) Required() bool { return p.SignedCommit || p.Approvals > 0 }

// Narrow is p with the plan's own requirements added: a signature when either asks, the larger
// number of approvals, and the plan's allow-list on top of the config's.
func (p Policy) Narrow(plan Policy) Policy {
	out := Policy{SignedCommit: p.SignedCommit || plan.SignedCommit, Approvals: max(p.Approvals, plan.Approvals)}
	out.AllowLists = append(slices.Clone(p.AllowLists), plan.AllowLists...)
	return out
}

// Teams are the teams any allow-list names, sorted, each once: the evidence must hold their
// members.
func (p Policy) Teams() []string {
	var out []string
	for _, l := range p.AllowLists {
		out = append(out, l.Teams...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Evidence is what the agent found about a failover's origin.
type Evidence struct {
	// Commit is the commit that set failover: true (on a merged branch, the branch's commit
	// that did; for a squash or rebase, the one the forge made).
	Commit string
	// Signer names the key that signed Commit when its signature verified, such as
	// "ssh SHA256:... alice@example.com".
	Signer string
	// SignatureProblem says why Commit's signature does not count (unsigned, a key not
	// trusted, a signature that does not verify). Empty with Signer set.
	SignatureProblem string
	// PullRequest is the merged pull request that brought Commit onto the branch; nil when it
	// was pushed straight to the branch.
	PullRequest *PullRequest
	// Approvers are the users whose latest review approved the pull request's last head.
	Approvers []string
	// Stale are the users who approved an earlier head only: a push came after.
	Stale []string
	// ReviewProblem says why approvals cannot be read at all (no forge configured).
	ReviewProblem string
	// Members are each team's members, for the teams the policy names.
	Members map[string][]string
	// Unavailable says why the evidence is incomplete (the forge did not answer): no decision
	// yet, the failover waits and the agent asks again.
	Unavailable string
}

// PullRequest is the merged pull request a failover came from.
type PullRequest struct {
	Number  int    `json:"number"`
	URL     string `json:"url,omitempty"`
	HeadSHA string `json:"headSHA,omitempty"`
}

// Verdict is the decision on one failover.
type Verdict struct {
	// Allowed is true when the failover may start.
	Allowed bool `json:"allowed"`
	// Pending is true when no decision could be made yet (Evidence.Unavailable).
	Pending bool `json:"pending,omitempty"`
	// Reasons say what is missing when not allowed, or why pending.
	Reasons []string `json:"reasons,omitempty"`
	// Commit, Signer, PullRequest and Approvers are who authorized it (the approvals that
	// counted).
	Commit      string       `json:"commit,omitempty"`
	Signer      string       `json:"signer,omitempty"`
	PullRequest *PullRequest `json:"pullRequest,omitempty"`
	Approvers   []string     `json:"approvers,omitempty"`
}

// String is the verdict in one sentence, for logs and notes.
func (v Verdict) String() string {
	var who []string
	if v.Signer != "" {
		who = append(who, "signed by "+v.Signer)
	}
	if v.PullRequest != nil {
		s := fmt.Sprintf("merged through pull request #%d", v.PullRequest.Number)
		if len(v.Approvers) > 0 {
			s += ", approved by " + strings.Join(v.Approvers, ", ")
		}
		who = append(who, s)
	}
	switch {
	case v.Pending:
		return "authorization not decided yet: " + strings.Join(v.Reasons, "; ")
	case !v.Allowed:
		return "failover refused: " + strings.Join(v.Reasons, "; ")
	case len(who) == 0:
		return "failover authorized (no rule applies)"
	}
	return "failover authorized: commit " + short(v.Commit) + " " + strings.Join(who, "; ")
}

// Decide applies the policy to the evidence.
func Decide(p Policy, e Evidence) Verdict {
	v := Verdict{Commit: e.Commit, PullRequest: e.PullRequest}
	if !p.Required() {
		v.Allowed = true
		return v
	}
	if e.Unavailable != "" {
		v.Pending = true
		v.Reasons = []string{e.Unavailable}
		return v
	}
	if p.SignedCommit {
		switch {
		case e.Signer != "":
			v.Signer = e.Signer
		case e.SignatureProblem != "":
			v.Reasons = append(v.Reasons, fmt.Sprintf("commit %s: %s", short(e.Commit), e.SignatureProblem))
		default:
			v.Reasons = append(v.Reasons, fmt.Sprintf("commit %s is not signed by a trusted key", short(e.Commit)))
		}
	}
	if p.Approvals > 0 {
		switch {
		case e.ReviewProblem != "":
			v.Reasons = append(v.Reasons, e.ReviewProblem)
		case e.PullRequest == nil:
			v.Reasons = append(v.Reasons, fmt.Sprintf("commit %s was pushed straight to the branch: a failover needs a pull request approved by %s", short(e.Commit), needed(p)))
		default:
			v.Approvers = counted(p, e)
			if len(v.Approvers) < p.Approvals {
				v.Reasons = append(v.Reasons, fmt.Sprintf("pull request #%d has %s after its last push, it needs %s%s%s",
					e.PullRequest.Number, approvals(len(v.Approvers)), needed(p), others(e.Approvers, v.Approvers), stale(e.Stale)))
			}
		}
	}
	v.Allowed = len(v.Reasons) == 0
	return v
}

// counted are the approvers every allow-list allows.
func counted(p Policy, e Evidence) []string {
	var out []string
	for _, user := range e.Approvers {
		ok := true
		for _, l := range p.AllowLists {
			ok = ok && allows(l, user, e.Members)
		}
		if ok {
			out = append(out, user)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// allows matches logins as the forges do, without regard to case.
func allows(l AllowList, user string, members map[string][]string) bool {
	same := func(u string) bool { return strings.EqualFold(u, user) }
	if slices.ContainsFunc(l.Users, same) {
		return true
	}
	for _, t := range l.Teams {
		if slices.ContainsFunc(members[t], same) {
			return true
		}
	}
	return false
}

func needed(p Policy) string {
	s := approvals(p.Approvals)
	var from []string
	for _, l := range p.AllowLists {
		var names []string
		names = append(names, l.Users...)
		for _, t := range l.Teams {
			names = append(names, "team "+t)
		}
		from = append(from, strings.Join(names, ", "))
	}
	if len(from) > 0 {
		s += " from " + strings.Join(from, " and from ")
	}
	return s
}

// others names the approvals that did not count.
func others(all, counted []string) string {
	var out []string
	for _, u := range all {
		if !slices.Contains(counted, u) {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, ", ") + " approved but may not authorize a failover)"
}

func stale(users []string) string {
	if len(users) == 0 {
		return ""
	}
	return " (" + strings.Join(users, ", ") + " approved before the last push)"
}

func approvals(n int) string {
	if n == 1 {
		return "1 approval"
	}
	return fmt.Sprintf("%d approvals", n)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
