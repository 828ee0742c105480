package plans

import (
	"fmt"
	"testing"
	"testing/fstest"
)

// BenchmarkLoadFS loads a repository of 100 plans of 2 volumes each, one file per plan: the
// work the agent does on every new revision of the plans repository.
func BenchmarkLoadFS(b *testing.B) {
	fsys := fstest.MapFS{}
	for i := range 100 {
		fsys[fmt.Sprintf("plans/team-%d/plan-%d.yaml", i%10, i)] = &fstest.MapFile{Data: fmt.Appendf(nil, `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: plan-%[1]d
spec:
  primary: east
  secondary: west
  schedule: {cron: "*/%[2]d * * * *", retain: 10}
  rpo: 2h
  volumes:
    - {name: data-%[1]d, wave: db, pvc: {namespace: ns-%[1]d, name: data}}
    - {name: logs-%[1]d, wave: app}
  waves:
    - name: db
      gates: [{kind: StatefulSet, namespace: ns-%[1]d, name: db}]
    - name: app
      scale: [{kind: Deployment, namespace: ns-%[1]d, name: app, replicas: 2}]
`, i, 1+i%30)}
	}
	b.ReportAllocs()
	for b.Loop() {
		set, problems := LoadFS(fsys, "plans")
		if len(problems) > 0 || len(set.Plans) != 100 {
			b.Fatalf("%d plans, problems: %v", len(set.Plans), problems)
		}
	}
}
