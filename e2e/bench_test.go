package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// crashVolumes is the size of the crash-cost benchmark's plans: the cost of a crash is the
// lease's and the restart's, not the plan's.
const crashVolumes = 8

// make bench runs TestBenchmarks with these set: the failover sizes (volumes per route, comma
// separated) and the Markdown file to write (its JSON beside it, .json for .md).
const (
	envBenchSizes = "DRPLAN_BENCH_SIZES"
	envBenchOut   = "DRPLAN_BENCH_OUT"
)

// benchReport is everything make bench measured in one run.
type benchReport struct {
	Date    time.Time `json:"date"`
	Machine machine   `json:"machine"`
	// Failover is the failover benchmark per size.
	Failover []failoverBench `json:"failover"`
	// Lifecycle are the reaction, lag and crash-cost benchmarks.
	Lifecycle *lifecycleBench `json:"lifecycle,omitempty"`
	// Micro are the Go benchmarks the report quotes, by name.
	Micro []microBench `json:"micro"`
}

type machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpuModel"`
	MemBytes int64  `json:"memBytes"`
	Go       string `json:"go"`
}

// microBench is one Go benchmark's result.
type microBench struct {
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"nsPerOp"`
	BytesPerOp  float64 `json:"bytesPerOp"`
	AllocsPerOp float64 `json:"allocsPerOp"`
}

// TestBenchmarks is make bench's harness: the failover benchmark at each size, the Go
// benchmarks of the planner and the plans, and the report. It runs only when make bench asks.
func TestBenchmarks(t *testing.T) {
	sizes := os.Getenv(envBenchSizes)
	if sizes == "" {
		t.Skipf("make bench runs this (%s=100,500,1000 %s=docs/benchmarks.md)", envBenchSizes, envBenchOut)
	}
	requireLab(t)
	g := NewWithT(t)
	rep := benchReport{Date: time.Now().UTC(), Machine: thisMachine()}
	// The Go benchmarks first, before any lab of the failover benchmark loads the machine.
	rep.Micro = runMicroBenchmarks(t)
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		g.Expect(err).NotTo(HaveOccurred(), "%s=%s", envBenchSizes, sizes)
		rep.Failover = append(rep.Failover, runFailoverBench(t, n))
	}
	lc := runLifecycleBench(t, crashVolumes)
	rep.Lifecycle = &lc
	out := os.Getenv(envBenchOut)
	if out == "" {
		t.Log(renderBench(rep))
		return
	}
	g.Expect(os.WriteFile(out, []byte(renderBench(rep)), 0o644)).To(Succeed())
	js, err := json.MarshalIndent(rep, "", "  ")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(strings.TrimSuffix(out, filepath.Ext(out))+".json", append(js, '\n'), 0o644)).To(Succeed())
	t.Logf("wrote %s", out)
}

// The harness itself, small, in every make test: all three routes reach every volume settled
// and the report renders. Its figures mean nothing at this size and are not checked.
func TestBenchmarkHarness(t *testing.T) {
	requireLab(t)
	t.Parallel()
	res := runFailoverBench(t, 8)
	g := NewWithT(t)
	for _, r := range []string{routeDrplan, routeLimit, routeManual} {
		g.Expect(res.Waves[r]).To(BeNumerically(">", 0), r)
		g.Expect(res.WaveTimes[r]).To(HaveLen(benchWaves), r)
	}
	g.Expect(res.Steady.Passes).To(BeNumerically(">", 0))
	md := renderBench(benchReport{Date: time.Now(), Machine: thisMachine(), Failover: []failoverBench{res}})
	g.Expect(md).To(ContainSubstring("| 8 |"))
}

// runMicroBenchmarks runs every Go benchmark of the module (but e2e's, which are this harness)
// and parses their results. Only the packages that have benchmarks are run: the others' test
// binaries would start their servers for nothing.
func runMicroBenchmarks(t *testing.T) []microBench {
	t.Helper()
	g := NewWithT(t)
	pkgs := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "e2e" || d.Name() == "bin" || strings.HasPrefix(d.Name(), ".")) && path != "..":
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, "_test.go"):
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if benchFunc.Match(b) {
			pkgs["./"+filepath.ToSlash(filepath.Dir(strings.TrimPrefix(path, "../")))] = true
		}
		return nil
	})
	g.Expect(err).NotTo(HaveOccurred())
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1"}
	args = append(args, slices.Sorted(maps.Keys(pkgs))...)
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), "go %s:\n%s", strings.Join(args, " "), out)
	return parseBenchOutput(out)
}

var benchFunc = regexp.MustCompile(`(?m)^func Benchmark`)

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)

// parseBenchOutput reads go test -bench output's result lines.
func parseBenchOutput(raw []byte) []microBench {
	var out []microBench
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		b := microBench{Name: m[1]}
		b.NsPerOp, _ = strconv.ParseFloat(m[2], 64)
		b.BytesPerOp, _ = strconv.ParseFloat(m[3], 64)
		b.AllocsPerOp, _ = strconv.ParseFloat(m[4], 64)
		out = append(out, b)
	}
	return out
}

func thisMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				var kb int64
				_, _ = fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
				m.MemBytes = kb << 10
			}
		}
	}
	return m
}

// renderBench is the report as Markdown.
func renderBench(r benchReport) string {
	var b strings.Builder
	sec := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
	ratio := func(a, c time.Duration) string {
		if c <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", float64(a)/float64(c))
	}
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Generated by `make bench` on %s: %d CPUs (%s), %.1f GiB memory, %s. ",
		r.Date.Format("2006-01-02"), r.Machine.CPUs, orDash(r.Machine.CPUModel), float64(r.Machine.MemBytes)/(1<<30), r.Machine.Go)
	b.WriteString("Every figure of a table comes from the same run, side by side: on a shared, noisy machine the ratios are the result, the absolute times only context. " +
		"The clusters are two real kube-apiservers with etcd; Longhorn is the simulator (internal/longhornsim), set to answer at once, so only the cost of each route shows. " +
		"The raw figures are in `benchmarks.json`; the harness is `e2e/bench_test.go`.\n\n")

	if len(r.Failover) > 0 {
		b.WriteString("## Failover: activating N standby volumes in 4 waves\n\n")
		b.WriteString("Three plans of N volumes each, protected by the agent, then activated three ways on the same lab, one after another. " +
			"A route's time runs from its first activation request to its last volume settled (activated and detached by Longhorn), as one watch on the secondary sees them:\n\n" +
			"- **limit**: a bare client-go program with the agent's client settings (QPS 50, burst 100), every patch of a wave at once, waiting on a watch per wave;\n" +
			"- **manual**: the Longhorn docs' way, a `kubectl patch` per volume and a `kubectl wait` per wave;\n" +
			"- **drplan**: the agent, after a commit sets `failover: true` (planned switchover: final backups and catch-up first, not counted in *waves*; *from fetch* counts them).\n\n")
		b.WriteString("*manual / limit* is the most any agent could gain over the kubectl loop on this lab: the limit's own time is the API server's and the simulator's, which no client shortens.\n\n")
		b.WriteString("| N | limit | drplan waves | manual | drplan / limit | manual / drplan | manual / limit | drplan from fetch |\n|---|---|---|---|---|---|---|---|\n")
		for _, f := range r.Failover {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", f.Volumes, sec(f.Waves[routeLimit]), sec(f.Waves[routeDrplan]), sec(f.Waves[routeManual]),
				ratio(f.Waves[routeDrplan], f.Waves[routeLimit]), ratio(f.Waves[routeManual], f.Waves[routeDrplan]), ratio(f.Waves[routeManual], f.Waves[routeLimit]), sec(f.DrplanTotal))
		}
		b.WriteString("\nPer wave (limit / drplan / manual):\n\n| N | wave 1 | wave 2 | wave 3 | wave 4 |\n|---|---|---|---|---|\n")
		for _, f := range r.Failover {
			fmt.Fprintf(&b, "| %d |", f.Volumes)
			for w := range benchWaves {
				fmt.Fprintf(&b, " %s / %s / %s |", waveSec(f.WaveTimes[routeLimit], w), waveSec(f.WaveTimes[routeDrplan], w), waveSec(f.WaveTimes[routeManual], w))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n## Protection and steady state\n\n" +
			"*Backups* is the simulated primary taking the first backup of all 3×N source volumes (the recurring jobs run at once; the simulator's work). *Protect* is from then to all 3×N standby volumes created and caught up: the secondary reading the store, drplan creating each standby volume, Longhorn restoring it. " +
			"*Steady* watches the agent with 3×N volumes protected and nothing changing, one pass a second: API requests (both clusters), CPU per pass, resident memory.\n\n")
		b.WriteString("| N | standby volumes | backups | protect | idle window | passes | API requests | CPU per pass | RSS |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, f := range r.Failover {
			s := f.Steady
			fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %.0f | %.0f | %.2f ms | %.0f MiB |\n", f.Volumes, 3*f.Volumes, sec(f.Backups), sec(f.Protect), sec(s.Window), s.Passes, s.Requests,
				float64(s.CPUPerPass)/float64(time.Millisecond), float64(s.RSS)/(1<<20))
		}
	}
	if lc := r.Lifecycle; lc != nil {
		fmt.Fprintf(&b, "\n## Reaction\n\nFrom a push adding a plan to the agent's first write for it (the plan's RecurringJob on the primary), and from a pull request opened to its preview comment; "+
			"the repository polled at the default interval (%s), with and without the forge's webhook (Gitea).\n\n", lc.RepoInterval)
		b.WriteString("| | with the webhook | polling only |\n|---|---|---|\n")
		fmt.Fprintf(&b, "| push → first write | %s | %s |\n| pull request → preview comment | %s | %s |\n",
			sec(lc.PushToWriteWebhook), sec(lc.PushToWritePolling), sec(lc.PreviewWebhook), sec(lc.PreviewPolling))
		fmt.Fprintf(&b, "\n## Replication lag\n\nFrom a backup completed on the primary to the standby volume having restored it. "+
			"The secondary's BackupTarget polls the store every %s here (Longhorn's default is 5 minutes); drplan asks it to sync as soon as it sees the backup.\n\n", lc.Poll)
		fmt.Fprintf(&b, "| with drplan's sync requests | Longhorn's poll alone | poll / drplan |\n|---|---|---|\n| %s | %s | %s |\n", sec(lc.LagSync), sec(lc.LagPoll), ratio(lc.LagPoll, lc.LagSync))
		c := lc.Failover
		fmt.Fprintf(&b, "\n## Crash cost\n\nA planned switchover of %d volumes in 4 waves with two replicas of the agent, from the failover commit to every volume settled; "+
			"in two of the runs the leader is killed (SIGKILL) as its first wave gets under way and the other replica takes over once the lease expires. "+
			"See docs/operations.md for the settings.\n\n", c.Volumes)
		b.WriteString("| run | time to active | extra RTO |\n|---|---|---|\n")
		fmt.Fprintf(&b, "| no crash | %s | – |\n| crash, fluxcd defaults (lease 35s) | %s | %s |\n| crash, DR settings (lease 10s) | %s | %s |\n",
			sec(c.NoCrash), sec(c.FluxDefaults), sec(c.FluxDefaults-c.NoCrash), sec(c.DRSettings), sec(c.DRSettings-c.NoCrash))
	}
	if decide := microByPrefix(r.Micro, "BenchmarkDecide/"); len(decide) > 0 {
		b.WriteString("\n## Planner scaling\n\n`planner.Decide`, one steady-state decision of one plan (fresh observed state each time, so its indexes are built in the measured time). " +
			"*× per step* divides by the row with ten times fewer volumes and the same backups: linear is 10 (5 for the 1,000 → 5,000 step).\n\n")
		b.WriteString("| benchmark | time per decision | × per step | memory | allocations |\n|---|---|---|---|---|\n")
		for _, m := range decide {
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f MiB | %.0f |\n", strings.TrimPrefix(m.Name, "BenchmarkDecide/"), nsString(m.NsPerOp), stepRatio(decide, m), m.BytesPerOp/(1<<20), m.AllocsPerOp)
		}
	}
	if load := microByPrefix(r.Micro, "BenchmarkLoadFS/"); len(load) > 0 {
		b.WriteString("\n## Plans\n\nParsing and validating a tree of plan files (`plans.LoadFS`).\n\n| benchmark | time | memory | allocations |\n|---|---|---|---|\n")
		for _, m := range load {
			fmt.Fprintf(&b, "| %s | %s | %.1f MiB | %.0f |\n", strings.TrimPrefix(m.Name, "Benchmark"), nsString(m.NsPerOp), m.BytesPerOp/(1<<20), m.AllocsPerOp)
		}
	}
	var rest []microBench
	for _, m := range r.Micro {
		if !strings.HasPrefix(m.Name, "BenchmarkDecide/") && !strings.HasPrefix(m.Name, "BenchmarkLoadFS/") {
			rest = append(rest, m)
		}
	}
	if len(rest) > 0 {
		b.WriteString("\n## Other Go benchmarks\n\n| benchmark | time | memory | allocations |\n|---|---|---|---|\n")
		for _, m := range rest {
			fmt.Fprintf(&b, "| %s | %s | %.1f KiB | %.0f |\n", strings.TrimPrefix(m.Name, "Benchmark"), nsString(m.NsPerOp), m.BytesPerOp/(1<<10), m.AllocsPerOp)
		}
	}
	return b.String()
}

func waveSec(ws []time.Duration, i int) string {
	if i >= len(ws) {
		return "–"
	}
	return fmt.Sprintf("%.2f", ws[i].Seconds())
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func microByPrefix(ms []microBench, prefix string) []microBench {
	var out []microBench
	for _, m := range ms {
		if strings.HasPrefix(m.Name, prefix) {
			out = append(out, m)
		}
	}
	return out
}

func nsString(ns float64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	}
}

var volumesParam = regexp.MustCompile(`volumes=(\d+)`)

// stepRatio divides m's time by that of the benchmark with the next smaller volume count and
// otherwise the same name; "–" for the smallest.
func stepRatio(all []microBench, m microBench) string {
	mv := volumesParam.FindStringSubmatch(m.Name)
	if mv == nil {
		return "–"
	}
	n, _ := strconv.Atoi(mv[1])
	best, bestN := microBench{}, 0
	for _, o := range all {
		ov := volumesParam.FindStringSubmatch(o.Name)
		if ov == nil || volumesParam.ReplaceAllString(o.Name, "") != volumesParam.ReplaceAllString(m.Name, "") {
			continue
		}
		on, _ := strconv.Atoi(ov[1])
		if on < n && on > bestN {
			best, bestN = o, on
		}
	}
	if bestN == 0 || best.NsPerOp == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", m.NsPerOp/best.NsPerOp)
}

// The report's arithmetic: ratios side by side and the planner's growth per step.
func TestRenderBench(t *testing.T) {
	g := NewWithT(t)
	md := renderBench(benchReport{Date: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), Machine: machine{CPUs: 2, MemBytes: 4 << 30, Go: "go1.26"},
		Failover: []failoverBench{{Volumes: 200,
			Waves:     map[string]time.Duration{routeLimit: 10 * time.Second, routeDrplan: 12 * time.Second, routeManual: 120 * time.Second},
			WaveTimes: map[string][]time.Duration{routeLimit: {time.Second}},
		}},
		Micro: []microBench{
			{Name: "BenchmarkDecide/volumes=100/backups=24", NsPerOp: 1e5},
			{Name: "BenchmarkDecide/volumes=1000/backups=24", NsPerOp: 1.2e6},
			{Name: "BenchmarkDecide/volumes=1000/backups=1", NsPerOp: 5e5},
			{Name: "BenchmarkParseHostileInput/deep", NsPerOp: 2000},
		}})
	g.Expect(md).To(ContainSubstring("| 200 | 10.00 s | 12.00 s | 120.00 s | 1.20 | 10.00 | 12.00 |"))
	g.Expect(md).To(ContainSubstring("| 200 | 1.00 / – / – | – / – / – |"))
	g.Expect(md).To(ContainSubstring("| volumes=1000/backups=24 | 1.20 ms | 12.0 |"))
	g.Expect(md).To(ContainSubstring("| volumes=1000/backups=1 | 500.0 µs | – |"), "no smaller size with one backup")
	g.Expect(md).To(ContainSubstring("| ParseHostileInput/deep | 2.0 µs |"))
	g.Expect(md).To(ContainSubstring("2 CPUs (–), 4.0 GiB memory"))
	md = renderBench(benchReport{Lifecycle: &lifecycleBench{RepoInterval: time.Minute, Poll: time.Minute,
		LagSync: 2 * time.Second, LagPoll: 40 * time.Second,
		Failover: crashBench{Volumes: 8, NoCrash: 10 * time.Second, FluxDefaults: 50 * time.Second, DRSettings: 22 * time.Second}}})
	g.Expect(md).To(ContainSubstring("| 2.00 s | 40.00 s | 20.00 |"))
	g.Expect(md).To(ContainSubstring("| crash, fluxcd defaults (lease 35s) | 50.00 s | 40.00 s |"))
	g.Expect(md).To(ContainSubstring("| crash, DR settings (lease 10s) | 22.00 s | 12.00 s |"))
}

func TestParseBenchOutput(t *testing.T) {
	got := parseBenchOutput([]byte("goos: linux\nBenchmarkDecide/volumes=100/backups=1-2   \t    5000\t    223412 ns/op\t  104857 B/op\t      67 allocs/op\nPASS\nBenchmarkX 10 5.5 ns/op\n"))
	NewWithT(t).Expect(got).To(Equal([]microBench{
		{Name: "BenchmarkDecide/volumes=100/backups=1", NsPerOp: 223412, BytesPerOp: 104857, AllocsPerOp: 67},
		{Name: "BenchmarkX", NsPerOp: 5.5},
	}))
}
