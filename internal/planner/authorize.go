package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/drplan/drplan/internal/authorization"
)

// FailoversToAuthorize names the plans whose failover would start in this pass and whose
// policy asks for an authorization: the agent gathers their evidence (Git history, signatures,
// the forge's reviews) into Input.Verdicts before deciding. A failover already started is not
// asked about again: its record holds who authorized it.
func FailoversToAuthorize(in Input) []string {
	if in.Plans == nil {
		return nil
	}
	var out []string
	for _, p := range in.Plans.Valid() {
		s := p.Spec
		if !s.Failover || s.Suspend || !FailoverPolicy(in, p).Required() {
			continue
		}
		sec := in.Clusters[s.Secondary]
		if !sec.Observed() {
			continue
		}
		if _, found, _, _ := ownRecord(sec, p, in.Owner); found {
			continue
		}
		out = append(out, p.Name())
	}
	return out
}

// authorized checks, before the first write of a failover, that the plan's policy is met. It
// reports why not and returns false when the failover must not start.
func (f *failoverRun) authorized() bool {
	policy := FailoverPolicy(f.d.in, f.p)
	if !policy.Required() {
		return true
	}
	if f.d.in.Verdicts == nil {
		// Not gathered (a preview): say what merging needs.
		f.rep.Notes = append(f.rep.Notes, "the failover starts only once authorized: "+requirements(policy))
		return true
	}
	v, ok := f.d.in.Verdicts[f.p.Name()]
	switch {
	case !ok:
		f.rep.Waiting = "checking who authorized the failover: " + requirements(policy)
		return false
	case v.Pending:
		f.rep.Waiting = v.String()
		f.d.requeueAfter(authorizationRetry)
		return false
	case !v.Allowed:
		f.rep.Phase = FailoverUnauthorized
		f.rep.AuthorizedBy = &v
		why := fmt.Sprintf("the failover is not authorized (%s); nothing was changed in either cluster", strings.Join(v.Reasons, "; "))
		f.rep.Waiting = why
		f.rep.Notes = append(f.rep.Notes, why+". It needs "+requirements(policy)+
			". To fail over, set failover back to false, then set it to true again in a commit that meets this (the commit that sets it is the one checked).")
		f.plan.Problems = append(f.plan.Problems, why)
		return false
	}
	f.rep.AuthorizedBy = &v
	return true
}

// authorizationRetry is how soon a pass asks again when the evidence could not be gathered.
const authorizationRetry = 5 * time.Second

// requirements says what a policy asks for, in words.
func requirements(p authorization.Policy) string {
	var out []string
	if p.SignedCommit {
		out = append(out, "a commit signed by a trusted key")
	}
	if p.Approvals > 0 {
		s := fmt.Sprintf("a pull request approved by %d allowed reviewer", p.Approvals)
		if p.Approvals > 1 {
			s += "s"
		}
		var lists []string
		for _, l := range p.AllowLists {
			names := append([]string(nil), l.Users...)
			for _, t := range l.Teams {
				names = append(names, "team "+t)
			}
			lists = append(lists, strings.Join(names, ", "))
		}
		if len(lists) > 0 {
			s += " (" + strings.Join(lists, "; and ") + ")"
		}
		out = append(out, s+" after its last push")
	}
	return strings.Join(out, " and ")
}
