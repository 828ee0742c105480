package plans

import (
	"fmt"
	"testing"
	"testing/fstest"
)

// BenchmarkLoadFS parses and validates a repository of n plans of 2 volumes each, one file per
// plan: the work the agent does on every new revision of the plans repository.
func BenchmarkLoadFS(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("plans=%d", n), func(b *testing.B) { benchmarkLoadFS(b, n) })
	}
}

func benchmarkLoadFS(b *testing.B, n int) {
	fsys := fstest.MapFS{}
	for i := range n {
		fsys[fmt.Sprintf("plans/team-%d/plan-%d.yaml", i%10, i)] = &fstest.MapFile{Data: fmt.Appendf(nil, `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: plan-%[1]d
spec:
  primary: east
  secondary: west
  schedule: {cron: "*/%[2]d * * * *", retain: 24}
  rpo: 2h
  volumes:
    - {name: data-%[1]d, wave: db, pvc: {namespace: ns-%[1]d, name: data}}
    - {name: logs-%[1]d, wave: app}
  waves:
    - name: db
      gates: [{kind: StatefulSet, namespace: ns-%[1]d, name: db}]
    - name: app
      scale: [{kind: Deployment, namespace: ns-%[1]d, name: app, replicas: 2}]
`, i, 2+i%30)}
	}
	// Once first: the schedules' backup intervals are computed once per distinct cron and
	// process (about 10-30 ms each), then cached; the loop measures a new revision's cost.
	if set, problems := LoadFS(fsys, "plans"); len(problems) > 0 || len(set.Plans) != n {
		b.Fatalf("%d plans, problems: %v", len(set.Plans), problems)
	}
	b.ReportAllocs()
	for b.Loop() {
		set, problems := LoadFS(fsys, "plans")
		if len(problems) > 0 || len(set.Plans) != n {
			b.Fatalf("%d plans, problems: %v", len(set.Plans), problems)
		}
	}
}
