package agent

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/internal/config"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/internal/permissions"
	"github.com/drplan/drplan/internal/planner"
)

func TestCheckDue(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name                    string
		next                    time.Time
		wasReachable, reachable bool
		want                    bool
	}{
		{name: "never checked", reachable: true, wasReachable: true, want: true},
		{name: "due", next: now, wasReachable: true, reachable: true, want: true},
		{name: "not due yet", next: now.Add(time.Minute), wasReachable: true, reachable: true},
		{name: "answers again: at once", next: now.Add(time.Minute), reachable: true, want: true},
		{name: "does not answer", next: now.Add(-time.Minute), wasReachable: true},
		{name: "still does not answer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(checkDue(tc.next, tc.wasReachable, tc.reachable, now)).To(Equal(tc.want))
		})
	}
}

func TestPermissionScope(t *testing.T) {
	cfg := &config.AgentConfig{LonghornNamespace: "longhorn-system",
		LeaderElection: config.LeaderElection{Cluster: "west", Namespace: "drplan-system"}}
	cases := []struct {
		name           string
		cluster        string
		leaderElection bool
		want           map[string]string
	}{
		{name: "the lease's cluster", cluster: "west", leaderElection: true, want: map[string]string{permissions.LeaseGroup: "drplan-system"}},
		{name: "another cluster", cluster: "east", leaderElection: true},
		{name: "no leader election", cluster: "west"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			s := permissionScope(cfg, tc.cluster, tc.leaderElection)
			g.Expect(s.Namespace).To(Equal("longhorn-system"))
			g.Expect(s.ClusterWide).To(Equal(cluster.UsedEverywhere()))
			g.Expect(s.Optional).To(Equal(tc.want))
		})
	}
}

// reviewer denies the permissions named in deny; while fail is set every review fails.
type reviewer struct {
	mu    sync.Mutex
	deny  map[string]bool
	fail  bool
	calls int
}

func (r *reviewer) set(deny map[string]bool, fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deny, r.fail = deny, fail
}

func (r *reviewer) Create(_ context.Context, rev *authorizationv1.SelfSubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SelfSubjectAccessReview, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail {
		return nil, errors.New("connection refused")
	}
	a := rev.Spec.ResourceAttributes
	p := permissions.Permission{Verb: a.Verb, Group: a.Group, Resource: a.Resource, Subresource: a.Subresource, Name: a.Name, Namespace: a.Namespace}
	out := rev.DeepCopy()
	out.Status.Allowed = !r.deny[p.String()]
	return out, nil
}

func (r *reviewer) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// A check that fails is retried; what is missing is reported, logged once, and checked again
// when the cluster answers again.
func TestPermissionChecks(t *testing.T) {
	g := NewWithT(t)
	const missing = "create volumes.longhorn.io in namespace longhorn-system"
	rev := &reviewer{}
	rev.set(map[string]bool{missing: true}, true)
	var reachable atomic.Bool
	reachable.Store(true)
	var seenDown atomic.Int32 // health looked at while the cluster does not answer
	var (
		mu    sync.Mutex
		logs  []string
		found = map[string][]string{}
	)
	log := funcr.New(func(_, args string) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, args)
	}, funcr.Options{})
	p := &permissionChecks{clock: clock.RealClock{}, every: time.Hour, retry: 20 * time.Millisecond, poll: 5 * time.Millisecond,
		missing: map[string][]string{},
		found: func(name string, m []string) {
			mu.Lock()
			defer mu.Unlock()
			found[name] = m
		},
		targets: []permissionTarget{{name: "east", reviewer: rev, scope: permissions.Scope{Namespace: "longhorn-system", ClusterWide: cluster.UsedEverywhere()},
			health: func() observed.Health {
				r := reachable.Load()
				if !r {
					seenDown.Add(1)
				}
				return observed.Health{Reachable: r}
			}}},
	}
	ctx, cancel := context.WithCancel(logr.NewContext(t.Context(), log))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.run(ctx)
	}()
	defer func() { cancel(); <-done }()
	reports := func() []string {
		r := map[string]planner.ClusterReport{"east": {Reachable: true}, "west": {Reachable: true}}
		p.annotate(r)
		g.Expect(r["west"].MissingPermissions).To(BeEmpty())
		return r["east"].MissingPermissions
	}
	foundFor := func(name string) []string {
		mu.Lock()
		defer mu.Unlock()
		return found[name]
	}
	grep := func(s string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, l := range logs {
			if strings.Contains(l, s) {
				n++
			}
		}
		return n
	}

	// The API server does not answer: logged, nothing reported, tried again.
	g.Eventually(func() int { return grep("permission check failed") }).WithTimeout(10 * time.Second).Should(BeNumerically(">=", 2))
	g.Expect(reports()).To(BeEmpty())

	// It answers: the missing permission is reported, and logged once however often checked.
	rev.set(map[string]bool{missing: true}, false)
	g.Eventually(foundFor).WithArguments("east").WithTimeout(10*time.Second).Should(Equal([]string{missing}), "found is told last")
	g.Expect(reports()).To(Equal([]string{missing}))
	g.Expect(grep(`"msg"="missing permissions"`)).To(Equal(1))
	g.Expect(grep(`"missing"=["` + missing + `"]`)).To(Equal(1))
	g.Expect(grep("the agent's ClusterRole (examples/deploy/rbac.yaml or the Helm chart's) lacks: " + missing)).To(Equal(1))

	// Not checked again before the hour, unless the cluster stops answering and answers again:
	// the role was fixed meanwhile.
	calls := rev.count()
	time.Sleep(50 * time.Millisecond)
	g.Expect(rev.count()).To(Equal(calls))
	rev.set(nil, false)
	reachable.Store(false)
	g.Eventually(seenDown.Load).WithTimeout(10 * time.Second).Should(BeNumerically(">=", 3))
	g.Expect(rev.count()).To(Equal(calls), "no check while the cluster does not answer")
	reachable.Store(true)
	g.Eventually(foundFor).WithArguments("east").WithTimeout(10 * time.Second).Should(BeEmpty())
	g.Expect(reports()).To(BeEmpty())
	g.Expect(grep("permissions complete")).To(Equal(1))
	g.Expect(grep(`"msg"="missing permissions"`)).To(Equal(1))
}
