package report

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/golden"
	"github.com/drplan/drplan/internal/planner"
)

// assertGolden compares got with testdata/<name>.md; UPDATE_GOLDEN=1 rewrites it.
func assertGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.AssertString(t, filepath.Join("testdata", name+".md"), got)
}

func TestPreviewGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   PreviewInput
		// valid and status are what Valid says.
		valid  bool
		status string
	}{
		{
			name: "preview-new-plan",
			in: PreviewInput{Revision: sha1, Report: planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{payments(4 * time.Minute), fresh()}},
				Actions: []planner.Action{recurringJob("orders"), label("orders", "orders-db"), sync("payments")}},
			valid: true, status: "valid: 2 plans, 3 changes in east, west",
		},
		{
			name:  "preview-in-sync",
			in:    PreviewInput{Revision: sha1, Report: planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{payments(4 * time.Minute), billing()}}},
			valid: true, status: "valid: 2 plans, no change to the clusters",
		},
		{
			name: "preview-invalid-plan",
			in: func() PreviewInput {
				bad := planner.PlanReport{Name: "orders", Primary: "east", Secondary: "west", File: "plans/orders.yaml", Invalid: true,
					Problems: []string{
						"plans/orders.yaml:7:11: spec.schedule.cron: expected exactly 5 fields, found 4: [*/15 * * *]",
						"plans/orders.yaml:12:9: spec.volumes[0].wave: wave \"db|primary\" is not one of the plan's waves <dbs>",
					}, Volumes: []planner.VolumeReport{}}
				return PreviewInput{Revision: sha2, Problems: bad.Problems,
					Report: planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{payments(4 * time.Minute), bad}}}
			}(),
			valid: false, status: "2 problems: plans/orders.yaml:7: spec.schedule.cron: expected exactly 5 fields, found 4: [*/15 * * *] … and 1 more",
		},
		{
			name: "preview-many-problems",
			in: func() PreviewInput {
				var ps []string
				for i := range 13 {
					ps = append(ps, fmt.Sprintf("plans/bulk.yaml:%d:5: spec.volumes[%d].name: must be a DNS-1123 subdomain", 10+3*i, i))
				}
				ps = append(ps, "plans/broken.yaml:1:1: (document): yaml: line 1: did not find expected key")
				return PreviewInput{Revision: sha2, Problems: ps, Report: planner.Report{Now: now, Clusters: bothUp()}}
			}(),
			valid: false, status: "14 problems: plans/bulk.yaml:10: spec.volumes[0].name: must be a DNS-1123 subdomain … and 13 more",
		},
		{
			name: "preview-failover",
			in: func() PreviewInput {
				p := payments(12 * time.Minute)
				p.Failover, p.FailoverStatus = true, paymentsFailover(12*time.Minute, 11*time.Minute, true)
				return PreviewInput{Revision: sha2, Report: planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{p, billing()}}}
			}(),
			valid: true, status: "valid: 2 plans, no change to the clusters, failover on merge",
		},
		{
			name: "preview-failover-primary-down",
			in: func() PreviewInput {
				p := payments(41 * time.Minute)
				p.Failover, p.RPOBreach = true, true
				p.Volumes[0].RPOBreach = true
				p.Volumes[1] = planner.VolumeReport{Name: "pg-wal", Standby: "pg-wal", Wave: "databases", State: planner.StandbyRestoring,
					Reason: "restoring backup-7f4, 38% done", LastBackup: "backup-7f4", BackupAge: dur(40 * time.Minute)}
				p.Waiting = []string{"cluster east unreachable since 2026-11-21T11:43:00Z"}
				p.FailoverStatus = paymentsFailover(41*time.Minute, 0, false)
				p.FailoverStatus.Planned = false
				return PreviewInput{Revision: sha2, Report: planner.Report{Now: now, Clusters: eastDown(), Plans: []planner.PlanReport{p}}}
			}(),
			valid: true, status: "valid: 1 plan, no change to the clusters, failover on merge",
		},
		{
			name: "preview-failover-blocked",
			in: func() PreviewInput {
				p := payments(12 * time.Minute)
				p.Failover, p.FailoverStatus = true, paymentsFailover(12*time.Minute, 0, false)
				p.FailoverStatus.Phase = planner.FailoverBlocked
				p.FailoverStatus.Waiting = "the failover cannot start: volume uploads has no standby volume in cluster west, so there is nothing to activate; nothing was changed in either cluster"
				p.FailoverStatus.Notes = []string{p.FailoverStatus.Waiting + ". Standby volumes are created only while failover is false."}
				p.Problems = []string{p.FailoverStatus.Waiting}
				return PreviewInput{Revision: sha2, Report: planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{p}}}
			}(),
			valid: false, status: "merging cannot fail over payments: volume uploads has no standby volume in cluster west, so there is nothing to activate; nothing was changed in either cluster",
		},
		{
			name: "preview-during-failover",
			in: PreviewInput{Revision: sha2, Report: planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{runningFailover(true), billing()}},
				Actions: []planner.Action{recurringJob("billing")}},
			valid: true, status: "valid: 2 plans, 1 change in east",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			got := Preview(tc.in)
			checkContent(g, got, KindPreview, tc.in.Revision)
			assertGolden(t, tc.name, got)
			ok, status := tc.in.Valid()
			g.Expect(ok).To(Equal(tc.valid))
			g.Expect(status).To(Equal(tc.status))
		})
	}
}

func TestAppliedGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   AppliedInput
	}{
		{
			name: "applied-ok",
			in: AppliedInput{Revision: sha3, Report: planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{payments(4 * time.Minute), fresh()}},
				Outcomes: []Outcome{{Action: recurringJob("orders")}, {Action: label("orders", "orders-db")}, {Action: standby("payments", "pg-wal", "backup-7f4")}}},
		},
		{
			name: "applied-errors",
			in: AppliedInput{Revision: sha3, Report: planner.Report{Now: now, Clusters: eastDown(), Plans: []planner.PlanReport{payments(4 * time.Minute), fresh()}},
				Problems: []string{"plans/legacy.yaml:3:1: spec: unknown field \"backupTargets\""},
				Outcomes: []Outcome{{Action: recurringJob("orders"), Err: errConflict}, {Action: standby("payments", "pg-wal", "backup-7f4")}}},
		},
		{
			name: "applied-failover",
			in: func() AppliedInput {
				p := payments(0)
				p.Failover = true
				return AppliedInput{Revision: sha3, Report: planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{p}},
					Failovers: []planner.PlanReport{runningFailover(false)}}
			}(),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Applied(tc.in)
			checkContent(NewWithT(t), got, KindApplied, tc.in.Revision)
			assertGolden(t, tc.name, got)
		})
	}
}

func TestProgressGolden(t *testing.T) {
	t.Parallel()
	two := failingOver(&planner.FailoverReport{Phase: planner.FailoverPending})
	two.Name = "billing"
	cases := []struct {
		name    string
		in      ProgressInput
		summary string
	}{
		{"progress-running", ProgressInput{Revision: sha3, Now: now, Failovers: []planner.PlanReport{runningFailover(false)}},
			"🔄 **drplan: failover of `payments` running** · wave 2/3 `apps` · 6m12s so far"},
		{"progress-stalled", ProgressInput{Revision: sha3, Now: now, Failovers: []planner.PlanReport{runningFailover(true)}},
			"⛔ **drplan: failover of `payments` stalled** · wave 2/3 `apps` · gate Deployment prod/api not ready after 5m: 1 of 4 replicas ready · 6m12s so far"},
		{"progress-complete", ProgressInput{Revision: sha3, Now: now.Add(time.Minute), Failovers: []planner.PlanReport{completeFailover()}},
			"✅ **drplan: failover of `payments` complete** · RTO 7m12s · data-loss window 11m"},
		{"progress-two-plans", ProgressInput{Revision: sha3, Now: now, Failovers: []planner.PlanReport{runningFailover(false), two}},
			"🔄 **drplan: failover of 2 plans** · 1 running, 1 pending"},
		{"progress-drill-succeeded", ProgressInput{Revision: sha3, Now: now, Drills: []planner.PlanReport{drilled()}},
			"✅ **drplan: drill `q4` of `payments`: succeeded** · a failover would take 2m30s after catch-up · data-loss window 12m · torn down at 2026-11-21 13:00 UTC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			got := Progress(tc.in)
			checkContent(g, got, KindProgress, tc.in.Revision)
			g.Expect(strings.Split(got, "\n")[1]).To(Equal(tc.summary))
			assertGolden(t, tc.name, got)
		})
	}
}

// A pull request's one comment over its life: two pushes, the merge, the failover's progress
// until it completes. Each step is composed from the previous body, as the agent does.
func TestCommentLifeGolden(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	p := payments(12 * time.Minute)
	p.Failover = true
	at := func(lagData, lagWAL time.Duration) planner.Report {
		q := p
		q.FailoverStatus = paymentsFailover(lagData, lagWAL, true)
		return planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{q}}
	}
	steps := []string{
		Preview(PreviewInput{Revision: sha1, Report: planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{p}},
			Problems: []string{"plans/payments.yaml:31:7: spec.waves[1].gates[0].kind: must start with an upper-case letter"}}),
		Preview(PreviewInput{Revision: sha2, Report: withNow(at(12*time.Minute, 11*time.Minute), now.Add(5*time.Minute))}),
		// The same head seen again later: replaced in place, no history entry.
		Preview(PreviewInput{Revision: sha2, Report: withNow(at(16*time.Minute, 15*time.Minute), now.Add(9*time.Minute))}),
		Applied(AppliedInput{Revision: sha3, Report: planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{p}},
			Failovers: []planner.PlanReport{failingOver(&planner.FailoverReport{Phase: planner.FailoverPending, Revision: sha3})}}),
		Progress(ProgressInput{Revision: sha3, Now: now, Failovers: []planner.PlanReport{runningFailover(false)}}),
		Progress(ProgressInput{Revision: sha3, Now: now.Add(time.Minute), Failovers: []planner.PlanReport{completeFailover()}}),
	}
	body := ""
	var entries []int
	for _, c := range steps {
		body = Compose(Marker, body, c, 65536)
		_, es := parse(body)
		entries = append(entries, len(es))
		g.Expect(body).To(HavePrefix(Marker + "\n" + c))
	}
	g.Expect(entries).To(Equal([]int{0, 1, 1, 2, 3, 3}))
	assertGolden(t, "comment-life", body)
}

// checkContent checks what every content must be: the meta line, a summary line, and
// nothing that opens an HTML comment or mentions anyone outside the meta line.
func checkContent(g Gomega, content string, kind Kind, rev string) {
	lines := strings.Split(content, "\n")
	g.Expect(lines[0]).To(Equal(meta(kind, rev)))
	g.Expect(lines[1]).To(MatchRegexp(`^\S+ \*\*drplan`))
	g.Expect(lines[2]).To(BeEmpty())
	rest := strings.Join(lines[1:], "\n")
	g.Expect(rest).NotTo(ContainSubstring("<!--"))
	g.Expect(rest).NotTo(MatchRegexp(`@\w`))
	g.Expect(strings.Count(content, "<details>")).To(Equal(strings.Count(content, "</details>")))
	g.Expect(content).To(HaveSuffix("\n"))
	g.Expect(content).NotTo(HaveSuffix("\n\n"))
}

func withNow(r planner.Report, t time.Time) planner.Report {
	r.Now = t
	return r
}

// A wave of many volumes is summarised: the first few named, the rest counted.
func TestProgressSummarisesLargeWaves(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	p := runningFailover(false)
	fs := p.FailoverStatus
	fs.Steps[3].Volumes, fs.Volumes = nil, nil
	for i := range 200 {
		name := fmt.Sprintf("vol-%03d", i)
		fs.Steps[3].Volumes = append(fs.Steps[3].Volumes, name)
		fs.Volumes = append(fs.Volumes, planner.FailoverVolumeReport{Name: name, Active: i < 150})
	}
	out := Progress(ProgressInput{Revision: sha3, Now: now, Failovers: []planner.PlanReport{p}})
	g.Expect(out).To(ContainSubstring("`vol-007` ✅ · and 192 more (142 active)"))
	g.Expect(out).NotTo(ContainSubstring("vol-008"))
}
