package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/drplan/drplan/internal/authorization"
	"github.com/drplan/drplan/internal/config"
	"github.com/drplan/drplan/internal/forge"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/signatures"
	"github.com/drplan/drplan/internal/source"
	"github.com/drplan/drplan/plans"
)

// pendingRetry is how long a verdict that could not be decided (the forge did not answer, or
// not yet about a fresh merge) stands before the evidence is gathered again.
const pendingRetry = 5 * time.Second

// forgeLag is how long after a commit landed the forge may not yet say which pull request
// merged it: Gitea pushes a merge to the branch before it marks the pull request merged. Until
// then "no pull request" is not taken for a push straight to the branch. The same grace as the
// pull-request reporter's (pullrequests.PullRequestGrace).
const forgeLag = 15 * time.Second

// authorizer gathers, for each failover about to start, who authorized it: the commit that set
// failover: true (from the plans repository's history), its signature, and the approvals of
// the pull request that merged it (from the forge). Verdicts are kept per commit: each is
// gathered once, a pending one again after pendingRetry.
type authorizer struct {
	keys   *signatures.KeyRing
	forge  forge.Forge
	source *source.Source

	mu       sync.Mutex
	origins  map[string]source.Origin // by plan@revision
	verdicts map[string]cachedVerdict // by plan@commit
}

type cachedVerdict struct {
	v  authorization.Verdict
	at time.Time
}

// newAuthorizer reads the trusted keys of cfg's failover authorization. A config without one
// gives an authorizer that asks for nothing, unless a plan does.
func newAuthorizer(cfg *config.AgentConfig, src *source.Source, f forge.Forge) (*authorizer, error) {
	z := &authorizer{forge: f, source: src, origins: map[string]source.Origin{}, verdicts: map[string]cachedVerdict{}}
	a := cfg.FailoverAuthorization
	if a == nil {
		return z, nil
	}
	if len(a.TrustedKeys) > 0 {
		keys, err := signatures.Load(a.TrustedKeys...)
		if err != nil {
			return nil, fmt.Errorf("failoverAuthorization.trustedKeys: %w", err)
		}
		z.keys = keys
	}
	return z, nil
}

// policyOf is the config's failover authorization as a policy; zero when absent.
func policyOf(a *config.FailoverAuthorization) authorization.Policy {
	if a == nil {
		return authorization.Policy{}
	}
	p := authorization.Policy{SignedCommit: a.SignedCommits, Approvals: a.Approvals}
	if len(a.Reviewers) > 0 || len(a.Teams) > 0 {
		p.AllowLists = []authorization.AllowList{{Users: a.Reviewers, Teams: a.Teams}}
	}
	return p
}

// gather sets in.Verdicts for the failovers the planner would start in this pass.
func (z *authorizer) gather(ctx context.Context, in *planner.Input) {
	in.Verdicts = map[string]authorization.Verdict{}
	z.forget(in.Revision)
	for _, name := range planner.FailoversToAuthorize(*in) {
		p, ok := in.Plans.Get(name)
		if !ok {
			continue
		}
		in.Verdicts[name] = z.verdict(ctx, p, in.Revision, planner.FailoverPolicy(*in, p))
	}
}

// forget drops the origins found for other revisions than rev: a plan whose failover stays
// refused over many commits does not grow the cache. Verdicts stay: they are per commit that
// set failover, a handful per plan.
func (z *authorizer) forget(rev string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	for k := range z.origins {
		if !strings.HasSuffix(k, "@"+rev) {
			delete(z.origins, k)
		}
	}
}

// verdict decides one plan's failover at revision rev.
func (z *authorizer) verdict(ctx context.Context, p *plans.Plan, rev string, policy authorization.Policy) authorization.Verdict {
	log := logr.FromContextOrDiscard(ctx).WithValues("plan", p.Name(), "revision", rev)
	z.mu.Lock()
	defer z.mu.Unlock()
	o, ok := z.origins[p.Name()+"@"+rev]
	if !ok {
		var err error
		o, err = z.source.Origin(rev, p.File, failoverSet(p.Name()))
		if err != nil {
			return authorization.Verdict{Commit: rev, Pending: true,
				Reasons: []string{"cannot find the commit that set failover: true: " + err.Error()}}
		}
		z.origins[p.Name()+"@"+rev] = o
	}
	key := p.Name() + "@" + o.Commit.Hash.String()
	if c, ok := z.verdicts[key]; ok && (!c.v.Pending || time.Since(c.at) < pendingRetry) {
		return c.v
	}
	v := authorization.Decide(policy, z.evidence(ctx, o, policy))
	z.verdicts[key] = cachedVerdict{v: v, at: time.Now()}
	kv := []any{"commit", v.Commit, "allowed", v.Allowed, "signer", v.Signer, "approvers", v.Approvers}
	if v.PullRequest != nil {
		kv = append(kv, "pullRequest", v.PullRequest.Number)
	}
	switch {
	case v.Pending:
		log.Info("failover authorization not decided yet: asking again later", append(kv, "reasons", v.Reasons)...)
	case v.Allowed:
		log.Info("failover authorized", kv...)
	default:
		log.Error(errors.New(v.String()), "failover refused: not authorized", append(kv, "reasons", v.Reasons)...)
	}
	return v
}

// evidence gathers what the policy asks about the commit o.
func (z *authorizer) evidence(ctx context.Context, o source.Origin, policy authorization.Policy) authorization.Evidence {
	e := authorization.Evidence{Commit: o.Commit.Hash.String()}
	if policy.SignedCommit {
		switch signer, err := z.keyRing().Verify(o.Commit); {
		case err == nil:
			e.Signer = signer.String()
		case errors.Is(err, signatures.ErrUnsigned), errors.Is(err, signatures.ErrUntrustedKey), errors.Is(err, signatures.ErrBadSignature):
			e.SignatureProblem = signatureProblem(err, z.keys == nil)
		default:
			e.Unavailable = err.Error()
			return e
		}
	}
	if policy.Approvals == 0 {
		return e
	}
	if z.forge == nil {
		e.ReviewProblem = "approvals are read from the forge, and the agent's config sets none"
		return e
	}
	pr, err := z.forge.PullRequestForCommit(ctx, o.Landed)
	if err != nil {
		e.Unavailable = fmt.Sprintf("find the pull request of commit %s: %v", o.Landed, err)
		return e
	}
	if pr == nil {
		if age := time.Since(o.LandedAt); age < forgeLag {
			e.Unavailable = fmt.Sprintf("the forge does not say (yet) which pull request merged commit %s; asking again for %s more",
				o.Landed[:12], (forgeLag - age).Round(time.Second))
		}
		return e
	}
	e.PullRequest = &authorization.PullRequest{Number: pr.Number, URL: pr.URL, HeadSHA: pr.HeadSHA}
	reviews, err := z.forge.Reviews(ctx, pr.Number)
	if err != nil {
		e.Unavailable = fmt.Sprintf("read the reviews of pull request #%d: %v", pr.Number, err)
		return e
	}
	e.Approvers = forge.Approvers(reviews, pr.HeadSHA)
	for _, r := range reviews {
		if r.State == forge.ReviewApproved && !slices.Contains(e.Approvers, r.User) && !slices.Contains(e.Stale, r.User) {
			e.Stale = append(e.Stale, r.User)
		}
	}
	slices.Sort(e.Stale)
	e.Members = map[string][]string{}
	for _, team := range policy.Teams() {
		members, err := z.forge.TeamMembers(ctx, team)
		if err != nil {
			e.Unavailable = fmt.Sprintf("read the members of team %s: %v", team, err)
			return e
		}
		e.Members[team] = members
	}
	return e
}

// keyRing is the trusted keys; an empty ring when none are configured (every signature is
// then from an untrusted key).
func (z *authorizer) keyRing() *signatures.KeyRing {
	if z.keys == nil {
		return &signatures.KeyRing{}
	}
	return z.keys
}

// signatureProblem is err without the commit it names (the verdict names it).
func signatureProblem(err error, noKeys bool) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "verify signature of commit ") {
		msg = rest
	}
	if noKeys && !errors.Is(err, signatures.ErrUnsigned) {
		msg += " (the agent trusts no keys: set failoverAuthorization.trustedKeys in its config)"
	}
	return msg
}

// failoverSet tells whether a plan file's content sets the named plan's failover to true. A
// file that does not parse does not.
func failoverSet(plan string) func([]byte) bool {
	return func(data []byte) bool {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var doc struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
				Spec struct {
					Failover bool `json:"failover"`
				} `json:"spec"`
			}
			if err := dec.Decode(&doc); err != nil {
				return false
			}
			if doc.Kind == plans.Kind && doc.Metadata.Name == plan && doc.Spec.Failover {
				return true
			}
		}
	}
}
