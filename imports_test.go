package main

import (
	"bufio"
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// The import rules of docs/architecture.md, held by `go list`. A rule broken fails with the
// package and the offending import.

const module = "github.com/drplan/drplan"

// pure are the packages that decide or describe and do no I/O: they may not depend, even
// transitively, on a client, a forge, Git or the agent's I/O packages.
var pure = []string{module + "/plans/...", module + "/internal/planner", module + "/internal/observed", module + "/internal/longhorn", module + "/internal/report", module + "/internal/planstatus"}

// forbiddenDeps are import path prefixes no pure package may depend on.
var forbiddenDeps = []string{
	"k8s.io/client-go/",
	"sigs.k8s.io/controller-runtime",
	"github.com/go-git/",
	"code.gitea.io/",
	"github.com/google/go-github",
	"gitlab.com/gitlab-org/",
	module + "/agent",
	module + "/internal/cluster",
	module + "/internal/executor",
	module + "/internal/forge",
	module + "/internal/source",
	module + "/internal/webhook",
	module + "/internal/status",
	module + "/internal/pullrequests",
	module + "/internal/testenv",
	module + "/internal/kubeletstandin",
	module + "/internal/hooks",
	module + "/internal/backups",
	module + "/internal/drlab",
	module + "/internal/longhornsim",
	module + "/internal/sandbox",
}

// forbiddenDirect are standard packages for I/O a pure package may not import itself
// (apimachinery brings net/http in transitively; the pure packages never call it).
var forbiddenDirect = []string{"net", "net/http", "os/exec"}

type pkg struct {
	path    string
	imports []string // of the package, its tests and its external tests
	deps    []string
}

func list(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	args := append([]string{"list", "-f", "{{.ImportPath}}|{{join .Imports \",\"}},{{join .TestImports \",\"}},{{join .XTestImports \",\"}}|{{join .Deps \",\"}}"}, patterns...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(patterns, " "), err, stderr)
	}
	var pkgs []pkg
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "|", 3)
		if len(parts) != 3 {
			continue
		}
		pkgs = append(pkgs, pkg{path: parts[0], imports: split(parts[1]), deps: split(parts[2])})
	}
	return pkgs
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

func TestPurePackagesDoNoIO(t *testing.T) {
	for _, p := range list(t, pure...) {
		for _, d := range p.deps {
			for _, f := range forbiddenDeps {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s: the planner, plans, the observed state, the Longhorn types and the report renderers do no I/O (docs/architecture.md)", p.path, d)
				}
			}
		}
	}
	// Direct imports, tests left out: a test may read its golden files.
	out, err := exec.Command("go", append([]string{"list", "-f", "{{.ImportPath}}|{{join .Imports \",\"}}"}, pure...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, imports, _ := strings.Cut(line, "|")
		for _, i := range split(imports) {
			for _, f := range forbiddenDirect {
				if i == f {
					t.Errorf("%s imports %s: a pure package does no network or process I/O (docs/architecture.md)", path, i)
				}
			}
		}
	}
}

func TestOnlyTheCLIImportsAgent(t *testing.T) {
	for _, p := range list(t, "./...") {
		if p.path == module+"/internal/cli" || p.path == module+"/agent" {
			continue
		}
		for _, i := range p.imports {
			if i == module+"/agent" {
				t.Errorf("%s imports %s: nothing but the CLI (internal/cli) imports the agent (docs/architecture.md)", p.path, i)
			}
		}
	}
}

func TestTestSupportOnlyInTestsAndTheSandbox(t *testing.T) {
	support := []string{module + "/internal/testenv", module + "/internal/drlab", module + "/internal/longhornsim", module + "/internal/kubeletstandin"}
	allowed := func(path string) bool {
		for _, a := range append(support, module+"/internal/sandbox", module+"/e2e") {
			if path == a || strings.HasPrefix(path, a+"/") {
				return true
			}
		}
		return false
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \",\"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, imports, _ := strings.Cut(line, "|")
		if allowed(path) || path == module+"/internal/cli" {
			continue // the CLI starts the sandbox, which is built on them
		}
		for _, i := range split(imports) {
			for _, s := range support {
				if i == s || strings.HasPrefix(i, s+"/") {
					t.Errorf("%s imports %s: test support is imported only by tests, e2e and the sandbox (docs/architecture.md)", path, i)
				}
			}
		}
	}
}
