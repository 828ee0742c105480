package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func runValidate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Execute(append([]string{"validate"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestValidateExamples is the first "done when": drplan validate examples/ exits 0.
func TestValidateExamples(t *testing.T) {
	g := NewWithT(t)
	code, stdout, stderr := runValidate(t, "--config", "../../examples/agent.yaml", "../../examples/")
	g.Expect(stdout).To(BeEmpty())
	g.Expect(stderr).To(Equal("4 plans (4 valid), 0 problems\n"))
	g.Expect(code).To(Equal(0))
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const goodPlan = `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: payments
spec:
  primary: east
  secondary: west
  schedule:
    cron: "*/15 * * * *"
  rpo: 30m
  volumes:
    - name: pg-data
`

func TestValidateOutputs(t *testing.T) {
	bad := strings.NewReplacer("name: payments", "name: billing", "rpo: 30m", "rpo: 10m", "pg-data", "billing-data").Replace(goodPlan)
	dir := writeFiles(t, map[string]string{
		"plans/good.yaml": goodPlan,
		"plans/bad.yaml":  bad,
		"agent.yaml": `apiVersion: drplan.io/v1alpha1
kind: AgentConfig
clusters: [{name: east, kubeconfig: e}, {name: dr, kubeconfig: w}]
repo: {url: "https://git.example.com/plans.git"}
`,
	})
	t.Chdir(dir)
	rpoProblem := `plans/bad.yaml:10:8: spec.rpo: 10m can never be met: backups are up to 15m apart (cron "*/15 * * * *"); make it longer than that`

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{
			name:   "text",
			args:   []string{"plans"},
			code:   1,
			stdout: rpoProblem + "\n",
			stderr: "2 plans (1 valid), 1 problem\n",
		},
		{
			name:   "one file",
			args:   []string{"plans/good.yaml"},
			stderr: "1 plan (1 valid), 0 problems\n",
		},
		{
			name: "with the agent config",
			args: []string{"--config", "agent.yaml", "plans"},
			code: 1,
			stdout: `plans/bad.yaml:7:14: spec.secondary: cluster "west" is not in the agent config (clusters: east, dr)` + "\n" +
				rpoProblem + "\n" +
				`plans/good.yaml:7:14: spec.secondary: cluster "west" is not in the agent config (clusters: east, dr)` + "\n",
			stderr: "2 plans (0 valid), 3 problems\n",
		},
		{
			name:   "github annotations",
			args:   []string{"-o", "github", "plans"},
			code:   1,
			stdout: `::error file=plans/bad.yaml,line=10,col=8,title=drplan%3A spec.rpo::10m can never be met: backups are up to 15m apart (cron "*/15 * * * *"); make it longer than that` + "\n",
		},
		{
			name:   "bad output format",
			args:   []string{"-o", "yaml", "plans"},
			code:   1,
			stderr: "drplan: unknown output format \"yaml\": use text, json or github\n",
		},
		{
			name:   "missing path",
			args:   []string{"nowhere"},
			code:   1,
			stdout: "nowhere:1:1: .: cannot read: no such file or directory\n",
			stderr: "0 plans (0 valid), 1 problem\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			code, stdout, stderr := runValidate(t, tt.args...)
			g.Expect(stdout).To(Equal(tt.stdout))
			g.Expect(stderr).To(Equal(tt.stderr))
			g.Expect(code).To(Equal(tt.code))
		})
	}
}

func TestValidateJSON(t *testing.T) {
	g := NewWithT(t)
	dir := writeFiles(t, map[string]string{"p.yaml": strings.Replace(goodPlan, "replicas", "x", 1) + "      replicas: 30\n"})
	t.Chdir(dir)
	code, stdout, _ := runValidate(t, "-o", "json", "--show-defaults", ".")
	g.Expect(code).To(Equal(1))
	var report struct {
		Valid bool
		Plans []struct {
			Name  string
			File  string
			Line  int
			Valid bool
			Plan  struct {
				Spec struct {
					BackupTarget string
					Volumes      []struct{ StandbyName string }
				}
			}
		}
		Problems []struct {
			File, Field, Message string
			Line, Column         int
		}
	}
	g.Expect(json.Unmarshal([]byte(stdout), &report)).To(Succeed(), stdout)
	g.Expect(report.Valid).To(BeFalse())
	g.Expect(report.Plans).To(HaveLen(1))
	g.Expect(report.Plans[0].Name).To(Equal("payments"))
	g.Expect(report.Plans[0].File).To(Equal("p.yaml"))
	g.Expect(report.Plans[0].Valid).To(BeFalse())
	g.Expect(report.Plans[0].Plan.Spec.BackupTarget).To(Equal("default"))
	g.Expect(report.Plans[0].Plan.Spec.Volumes[0].StandbyName).To(Equal("pg-data"))
	g.Expect(report.Problems).To(HaveLen(1))
	g.Expect(report.Problems[0].Field).To(Equal("spec.volumes[0].replicas"))
	g.Expect(report.Problems[0].Line).To(Equal(13))
}

func TestValidateShowDefaults(t *testing.T) {
	g := NewWithT(t)
	dir := writeFiles(t, map[string]string{"p.yaml": goodPlan})
	t.Chdir(dir)
	code, stdout, stderr := runValidate(t, "--show-defaults", "p.yaml")
	g.Expect(code).To(Equal(0))
	g.Expect(stderr).To(Equal("1 plan (1 valid), 0 problems\n"))
	g.Expect(stdout).To(Equal(`---
# p.yaml:1:1
apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: payments
spec:
  primary: east
  secondary: west
  backupTarget: default # default
  schedule:
    cron: '*/15 * * * *'
    retain: 10 # default
    concurrency: 1 # default
    consistency: crash # default
  rpo: 30m
  volumes:
    - name: pg-data
      standbyName: pg-data # default
      replicas: 3 # default
      wave: default # default
  waves: # default
    - name: default # default
  failover: false # default
  activation: # default
    allowDegraded: false # default
    catchUpTimeout: 10m # default
  staleVolumes: Keep # default
`))
}

// TestValidateShowDefaultsKeepsWrittenValues shows that a value written out, even one equal to
// its default or out of range, is printed as written and not marked.
func TestValidateShowDefaultsKeepsWrittenValues(t *testing.T) {
	g := NewWithT(t)
	dir := writeFiles(t, map[string]string{"p.yaml": goodPlan + "      replicas: 3\n      pvc: {namespace: shop, name: data}\n" +
		"  waves:\n    - name: db\n      gates: [{kind: StatefulSet, namespace: shop, name: pg, timeout: 0s}]\n"})
	t.Chdir(dir)
	code, stdout, stderr := runValidate(t, "--show-defaults", "p.yaml")
	g.Expect(code).To(Equal(1))
	g.Expect(stderr).To(Equal("p.yaml:17:71: spec.waves[0].gates[0].timeout: must be positive, got 0s\n1 plan (0 valid), 1 problem\n"))
	g.Expect(stdout).To(ContainSubstring(`
  volumes:
    - name: pg-data
      standbyName: pg-data # default
      replicas: 3
      wave: db # default
      pv: # default
        name: pg-data # default
        storageClassName: longhorn # default
        fsType: ext4 # default
        accessModes: # default
          - ReadWriteOnce # default
      pvc:
        namespace: shop
        name: data
  waves:
    - name: db
      gates:
        - apiVersion: apps/v1 # default
          kind: StatefulSet
          namespace: shop
          name: pg
          timeout: 0s
`))
}

// rangedPlan writes every number and duration that has a default or a range; leftOut drops
// the lines marked "# optional".
const rangedPlan = `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: payments
spec:
  primary: east
  secondary: west
  schedule:
    cron: "*/15 * * * *"
    retain: RETAIN # optional
    concurrency: CONCURRENCY # optional
  rpo: RPO
  volumes:
    - name: pg-data
      replicas: REPLICAS # optional
  waves:
    - name: database
      gates:
        - kind: StatefulSet
          namespace: payments
          name: pg
          timeout: TIMEOUT # optional
      scale:
        - kind: StatefulSet
          namespace: payments
          name: pg
          replicas: SCALE
  activation:
    catchUpTimeout: CATCHUP # optional
`

// TestValidateRanges is the "validation that never guesses": a number or duration
// written out of range (0 included) is a problem at its line, while the same plan with the
// fields left out takes their defaults and is valid.
func TestValidateRanges(t *testing.T) {
	var leftOut []string
	for line := range strings.Lines(rangedPlan) {
		if !strings.Contains(line, "# optional") {
			leftOut = append(leftOut, line)
		}
	}
	written := func(retain, concurrency, rpo, replicas, timeout, scale, catchUp string) string {
		return strings.NewReplacer("RETAIN", retain, "CONCURRENCY", concurrency, "RPO", rpo, "REPLICAS", replicas,
			"TIMEOUT", timeout, "SCALE", scale, "CATCHUP", catchUp).Replace(rangedPlan)
	}
	dir := writeFiles(t, map[string]string{
		"left-out.yaml": strings.NewReplacer("RPO", "30m", "SCALE", "2").Replace(strings.Join(leftOut, "")),
		"in-range.yaml": written("100", "1", "16m", "20", "1s", "1", "90s"),
		"zeros.yaml":    written("0", "0", "0s", "0", "0s", "0", "0s"),
		"beyond.yaml":   written("101", "-1", "-30m", "21", "-5m", "-1", "-1h"),
	})
	t.Chdir(dir)
	tests := []struct {
		file   string
		code   int
		stdout string
	}{
		{file: "left-out.yaml"},
		{file: "in-range.yaml"},
		{file: "zeros.yaml", code: 1, stdout: `zeros.yaml:10:13: spec.schedule.retain: must be 1 to 100, got 0
zeros.yaml:11:18: spec.schedule.concurrency: must be 1 to 100, got 0
zeros.yaml:12:8: spec.rpo: must be positive, got 0s
zeros.yaml:15:17: spec.volumes[0].replicas: must be 1 to 20, got 0
zeros.yaml:22:20: spec.waves[0].gates[0].timeout: must be positive, got 0s
zeros.yaml:27:21: spec.waves[0].scale[0].replicas: must be at least 1, got 0
zeros.yaml:29:21: spec.activation.catchUpTimeout: must be positive, got 0s
`},
		{file: "beyond.yaml", code: 1, stdout: `beyond.yaml:10:13: spec.schedule.retain: must be 1 to 100, got 101
beyond.yaml:11:18: spec.schedule.concurrency: must be 1 to 100, got -1
beyond.yaml:12:8: spec.rpo: must be positive, got -30m
beyond.yaml:15:17: spec.volumes[0].replicas: must be 1 to 20, got 21
beyond.yaml:22:20: spec.waves[0].gates[0].timeout: must be positive, got -5m
beyond.yaml:27:21: spec.waves[0].scale[0].replicas: must be at least 1, got -1
beyond.yaml:29:21: spec.activation.catchUpTimeout: must be positive, got -1h
`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			g := NewWithT(t)
			code, stdout, _ := runValidate(t, tt.file)
			g.Expect(stdout).To(Equal(tt.stdout))
			g.Expect(code).To(Equal(tt.code))
		})
	}
}
