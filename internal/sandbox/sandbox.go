package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/drplan/drplan/examples"
	"github.com/drplan/drplan/internal/drlab"
	"github.com/drplan/drplan/plans"
)

// Options shape a sandbox.
type Options struct {
	// StateDir holds everything the sandbox writes. Required.
	StateDir string
	// Out receives the progress lines and the summary.
	Out io.Writer
	// StatusListen is the agent's status listener; 127.0.0.1:9090 when free, else a free port.
	StatusListen string
	// RunAgent runs the agent with the config file the sandbox wrote and a cache directory
	// until ctx ends. Required: the CLI passes the agent package's Run, so that nothing but
	// the CLI imports the agent.
	RunAgent func(ctx context.Context, configPath, cacheDir string) error
}

// Sandbox is a running sandbox.
type Sandbox struct {
	opts    Options
	lab     *drlab.Lab
	repoURL string
	kubecfg string
	// agentKubecfg is the agent's kubeconfig: a user with examples/deploy/rbac.yaml's role only.
	agentKubecfg string
	status       string
	config       string
	plans        *plans.Set
	stopData     context.CancelFunc
	// agentDone is closed when the agent returned, with its error in agentErr.
	agentDone chan struct{}
	agentErr  error
	stop      context.CancelFunc
}

const (
	pidFile   = "sandbox.pid"
	repoName  = "plans"
	sandboxNS = "longhorn-system"
)

// everyMinute makes the sandbox's backups visible: the examples' crons become every minute.
var cronLine = regexp.MustCompile(`(?m)^(\s*cron:\s*)"[^"]*"`)

// Start brings the sandbox up and returns once everything runs; Stop tears it down.
func Start(ctx context.Context, o Options) (*Sandbox, error) {
	if o.RunAgent == nil {
		return nil, errors.New("sandbox: no agent to run (Options.RunAgent)")
	}
	if o.StateDir == "" {
		return nil, errors.New("sandbox: a state directory is required")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	dir, err := filepath.Abs(o.StateDir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	o.StateDir = dir
	if pid, alive := running(dir); alive {
		return nil, fmt.Errorf("a sandbox is already running from %s (pid %d): stop it with `drplan sandbox --down`", dir, pid)
	}
	// A fresh lab each time: the state directory holds only the running sandbox.
	for _, sub := range []string{"lab", "agent", "kubeconfig", "agent.log", "lab.log"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return nil, fmt.Errorf("sandbox: clean %s: %w", sub, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "agent"), 0o755); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s := &Sandbox{opts: o}
	ok := false
	defer func() {
		if !ok {
			_ = s.Stop()
		}
	}()

	step := progress(o.Out)
	labLog, err := fileLogger(filepath.Join(dir, "lab.log"))
	if err != nil {
		return nil, err
	}
	done := step("starting clusters east and west (kube-apiserver, etcd, Longhorn simulator) and Gitea")
	s.lab, err = drlab.Start(ctx, drlab.Options{Dir: filepath.Join(dir, "lab"), Gitea: true, Logger: labLog, WorkloadDelay: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	done()
	s.kubecfg = filepath.Join(s.opts.StateDir, "kubeconfig")
	if err := writeKubeconfig(s.lab.Kubeconfigs(), s.kubecfg); err != nil {
		return nil, err
	}
	// The agent runs as a user bound to examples/deploy/rbac.yaml's role only, as it would in a
	// real cluster; the kubeconfig printed for kubectl is the admin's.
	agentKubeconfigs, err := s.lab.AgentKubeconfigs(ctx)
	if err != nil {
		return nil, err
	}
	s.agentKubecfg = filepath.Join(s.opts.StateDir, "agent", "kubeconfig")
	if err := writeKubeconfig(agentKubeconfigs, s.agentKubecfg); err != nil {
		return nil, err
	}

	done = step("seeding the plans repo from examples/ (backups every minute)")
	if err := s.seedRepo(ctx); err != nil {
		return nil, err
	}
	done()

	done = step("creating workloads and source volumes with data on east")
	if err := s.createWorkloads(ctx); err != nil {
		return nil, err
	}
	if err := s.createVolumes(ctx); err != nil {
		return nil, err
	}
	dataCtx, cancel := context.WithCancel(context.Background())
	s.stopData = cancel
	go s.writeData(dataCtx)
	go s.playKubelet(dataCtx)
	done()

	done = step("starting the agent")
	if err := s.startAgent(ctx); err != nil {
		return nil, err
	}
	done()
	ok = true
	return s, nil
}

// Summary prints what to use and what to try.
func (s *Sandbox) Summary(w io.Writer) {
	g := s.lab.Gitea
	fmt.Fprintf(w, `
drplan sandbox is up. Everything lives in %s.

  Clusters    export KUBECONFIG=%s   (contexts: east, west)
  Gitea       %s   login %s / %s
  Plans repo  git clone %s
  Agent       drplan status --address %s   (logs: %s)

Try:
  1. Open a pull request adding a volume to a plan (a new entry under spec.volumes of
     single-database.yaml), in Gitea's web editor or from your clone.
  2. Watch the preview comment on the pull request, and drplan status as backups restore on west.
  3. Merge a pull request that sets failover: true in a plan, and watch the waves activate.

Ctrl-C here (or drplan sandbox --down) stops everything.
`, s.opts.StateDir, s.kubecfg, g.URL, g.Admin, g.Password, s.repoURL, s.status, filepath.Join(s.opts.StateDir, "agent.log"))
}

// Stop stops the agent and the lab and removes the pid file.
func (s *Sandbox) Stop() error {
	var errs []error
	if s.stopData != nil {
		s.stopData()
	}
	if s.stop != nil {
		s.stop()
		select {
		case <-s.agentDone:
		case <-time.After(30 * time.Second):
			errs = append(errs, errors.New("agent did not stop within 30s"))
		}
	}
	if s.lab != nil {
		errs = append(errs, s.lab.Stop())
	}
	errs = append(errs, os.Remove(filepath.Join(s.opts.StateDir, pidFile)))
	return errors.Join(errs...)
}

// writeKubeconfig merges one kubeconfig per cluster (each with a context named like the
// cluster) into path, current context west.
func writeKubeconfig(paths map[string]string, path string) error {
	out := clientcmdapi.NewConfig()
	for name, p := range paths {
		in, err := clientcmd.LoadFromFile(p)
		if err != nil {
			return fmt.Errorf("sandbox: kubeconfig of %s: %w", name, err)
		}
		out.Clusters[name] = in.Clusters[name]
		out.AuthInfos[name] = in.AuthInfos[name]
		out.Contexts[name] = in.Contexts[name]
	}
	out.CurrentContext = "west"
	if err := clientcmd.WriteToFile(*out, path); err != nil {
		return fmt.Errorf("sandbox: write kubeconfig %s: %w", path, err)
	}
	return nil
}

// seedRepo creates the plans repository with the examples' plans, backing up every minute.
func (s *Sandbox) seedRepo(ctx context.Context) error {
	files := map[string]string{}
	err := fs.WalkDir(examples.Plans, "plans", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := examples.Plans.ReadFile(path)
		if err != nil {
			return err
		}
		files[strings.TrimPrefix(path, "plans/")] = cronLine.ReplaceAllString(string(b), `${1}"* * * * *"  # the sandbox backs up every minute`)
		return nil
	})
	if err != nil {
		return fmt.Errorf("sandbox: read examples: %w", err)
	}
	mem := fstestMap(files)
	set, problems := plans.LoadFS(mem, ".", plans.WithClusters("east", "west"))
	if len(problems) > 0 {
		return fmt.Errorf("sandbox: seeded plans are invalid: %s", problems[0])
	}
	s.plans = set
	url, err := s.lab.Gitea.CreateRepo(ctx, repoName)
	if err != nil {
		return err
	}
	s.repoURL = url
	return pushFiles(ctx, url, s.lab.Gitea.Admin, s.lab.Gitea.Token, files, "Seed the plans repo from drplan's examples")
}

// startAgent writes the agent's config and runs the agent in this process.
func (s *Sandbox) startAgent(ctx context.Context) error {
	dir := filepath.Join(s.opts.StateDir, "agent")
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(s.lab.Gitea.Token), 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "webhook-secret"), []byte(hex.EncodeToString(secret)), 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	s.status = s.opts.StatusListen
	if s.status == "" {
		s.status = "127.0.0.1:9090"
		if !free(s.status) {
			s.status = freeAddr()
		}
	}
	hook := freeAddr()
	cfg := fmt.Sprintf(`# Written by drplan sandbox.
apiVersion: drplan.io/v1alpha1
kind: AgentConfig
clusters:
  - {name: east, kubeconfig: %[1]s, context: east}
  - {name: west, kubeconfig: %[1]s, context: west}
longhornNamespace: %[2]s
repo:
  url: %[3]s
  ref: {branch: main}
  interval: 30s
  auth: {tokenFile: token}
webhook: {listen: "%[4]s", secretFile: webhook-secret}
status: {listen: "%[5]s"}
metrics: {listen: "%[6]s"}
health: {listen: "%[7]s"}
leaderElection: {enabled: true, cluster: west}
forge: {kind: gitea, url: "%[8]s", repo: %[9]s/%[10]s, tokenFile: token}
`, s.agentKubecfg, sandboxNS, s.repoURL, hook, s.status, freeAddr(), freeAddr(), s.lab.Gitea.URL, s.lab.Gitea.Admin, repoName)
	s.config = filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	// Gitea tells the agent about every push at once.
	api, err := s.lab.Gitea.Client(ctx)
	if err != nil {
		return err
	}
	if _, _, err := api.CreateRepoHook(s.lab.Gitea.Admin, repoName, gitea.CreateHookOption{
		Type: gitea.HookTypeGitea, Active: true, Events: []string{"push", "pull_request"},
		Config: map[string]string{"url": "http://" + hook + "/hooks/git", "content_type": "json", "secret": hex.EncodeToString(secret)},
	}); err != nil {
		return fmt.Errorf("sandbox: create webhook: %w", err)
	}

	log, err := fileLogger(filepath.Join(s.opts.StateDir, "agent.log"))
	if err != nil {
		return err
	}
	ctrl.SetLogger(log)
	runCtx, cancel := context.WithCancel(logr.NewContext(context.Background(), log))
	s.stop = cancel
	s.agentDone = make(chan struct{})
	go func() {
		s.agentErr = s.opts.RunAgent(runCtx, s.config, filepath.Join(dir, "cache"))
		close(s.agentDone)
	}()
	// The status listener answers once the agent runs.
	deadline := time.Now().Add(30 * time.Second)
	for !listening(s.status) {
		select {
		case <-s.agentDone:
			s.stop = nil
			return fmt.Errorf("sandbox: agent stopped at start: %w", s.agentErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("sandbox: agent status listener not up after 30s")
		}
	}
	return nil
}

// fileLogger logs JSON lines to path.
func fileLogger(path string) (logr.Logger, error) {
	cfg := zap.NewProductionConfig()
	cfg.OutputPaths = []string{path}
	cfg.ErrorOutputPaths = []string{path}
	cfg.Sampling = nil
	z, err := cfg.Build()
	if err != nil {
		return logr.Discard(), fmt.Errorf("sandbox: logger: %w", err)
	}
	return zapr.NewLogger(z), nil
}

// progress prints "what..." then "done in Xs" for each step.
func progress(w io.Writer) func(string) func() {
	return func(what string) func() {
		start := time.Now()
		fmt.Fprintf(w, "• %s...", what)
		return func() { fmt.Fprintf(w, " done (%s)\n", time.Since(start).Round(100*time.Millisecond)) }
	}
}

// running reports whether the sandbox of dir runs in a live process.
func running(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, syscall.Kill(pid, 0) == nil
}

func free(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
