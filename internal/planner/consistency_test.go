package planner

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// TestApplicationConsistentSchedule: a plan whose schedule is application-consistent has no
// Longhorn RecurringJob (the agent runs the schedule itself), and its volumes are not bound to
// one; its reports say which backups were taken between hooks.
func TestApplicationConsistentSchedule(t *testing.T) {
	crashPlan := plan("payments")
	appPlan := plan("payments", func(d *plans.DRPlan) {
		d.Spec.Schedule.Consistency = plans.ApplicationConsistent
		d.Spec.Waves = []plans.Wave{{Name: "default"}}
		d.Spec.Waves[0].BackupHooks = &plans.BackupHooks{Pre: []plans.Hook{{Name: "checkpoint", OnError: plans.HookFail,
			Exec: &plans.ExecHook{Namespace: "prod", Selector: map[string]string{"app": "pg"}, Command: []string{"true"}}}}}
	})
	appBackup := backup("backup-a", "pg-data", 5*time.Minute)
	appBackup.Spec.Labels = map[string]string{LabelConsistency: "application"}
	tests := []struct {
		name   string
		plan   *plans.Plan
		east   *observed.State
		expect func(Gomega, Result)
	}{
		{
			name: "crash: the recurring job and its labels",
			plan: crashPlan,
			east: state("east", target("s3://b@r/"), sourceVolume("pg-data", nil)),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ContainElements("*planner.ApplyRecurringJob", "*planner.PatchVolumeLabels"))
			},
		},
		{
			name: "application: the agent's own recurring job is deleted, the labels removed",
			plan: appPlan,
			east: state("east", target("s3://b@r/"), job(crashPlan), sourceVolume("pg-data", bound("payments")), appBackup),
			expect: func(g Gomega, res Result) {
				var got []string
				for _, a := range res.Actions {
					if a.Cluster() != "east" {
						continue
					}
					switch a := a.(type) {
					case *DeleteRecurringJob:
						got = append(got, "delete "+a.Name)
					case *PatchVolumeLabels:
						g.Expect(a.Remove).To(Equal([]string{"recurring-job.longhorn.io/" + JobName("payments")}))
						got = append(got, "unlabel "+a.Volume)
					default:
						got = append(got, a.String())
					}
				}
				g.Expect(got).To(ConsistOf("delete "+JobName("payments"), "unlabel pg-data"))
				g.Expect(res.Report.Plans[0].Volumes[0].LastBackupConsistency).To(Equal(plans.ApplicationConsistent))
			},
		},
		{
			name: "application: nothing to do when neither is there",
			plan: appPlan,
			east: state("east", target("s3://b@r/"), sourceVolume("pg-data", nil)),
			expect: func(g Gomega, res Result) {
				for _, a := range res.Actions {
					g.Expect(a.Cluster()).NotTo(Equal("east"), a.String())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := Input{Plans: &plans.Set{Plans: []*plans.Plan{tt.plan}}, Clusters: map[string]*observed.State{"east": tt.east, "west": state("west", target("s3://b@r/"))},
				Now: now, Namespace: ns, Owner: owner, Revision: rev}
			tt.expect(g, Decide(in))
		})
	}
}

// TestHookSelectsNoPod: a preview reports, with its file and line, an exec hook whose selector
// selects no running pod in the primary.
func TestHookSelectsNoPod(t *testing.T) {
	doc := `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata: {name: payments}
spec:
  primary: east
  secondary: west
  schedule: {cron: "*/15 * * * *"}
  rpo: 30m
  volumes: [{name: pg-data}]
  waves:
    - name: default
      backupHooks:
        pre:
          - exec: {namespace: prod, selector: {app: pg}, command: [psql, -c, CHECKPOINT]}
`
	set, problems := plans.LoadFS(fstest.MapFS{"payments.yaml": {Data: []byte(doc)}}, ".")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	refs := ExecHooks(Input{Plans: set})
	if len(refs) != 1 {
		t.Fatalf("exec hooks: %+v", refs)
	}
	key := HookPodsKey(refs[0])
	tests := []struct {
		name string
		pods map[string]int
		want []string
	}{
		{name: "not counted (a pass)", pods: nil},
		{name: "selects a pod", pods: map[string]int{key: 1}},
		{name: "selects none", pods: map[string]int{key: 0}, want: []string{
			"payments.yaml:14:37: spec.waves[0].backupHooks.pre[0].exec.selector: app=pg in namespace prod selects no running pod in cluster east: the hook would fail"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := Input{Plans: set, Clusters: map[string]*observed.State{"east": state("east", target("s3://b@r/")), "west": state("west", target("s3://b@r/"))},
				Now: now, Namespace: ns, Owner: owner, Revision: rev, HookPods: tt.pods}
			res := Decide(in)
			var got []string
			for _, p := range res.Report.Plans[0].Problems {
				if strings.Contains(p, "selects no running pod") {
					got = append(got, p)
				}
			}
			g.Expect(got).To(Equal(tt.want))
		})
	}
}
