package sandbox

import (
	"context"
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
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/examples"
	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
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
	// until ctx ends. Required unless NoAgent: the CLI passes the agent package's Run, so that
	// nothing but the CLI imports the agent.
	RunAgent func(ctx context.Context, configPath, cacheDir string) error
	// NoAgent starts the world only: the agent's config is written (AgentCommand runs an agent
	// with it) but no agent runs.
	NoAgent bool
	// Tools says where the components are; empty fields are found as Tools describes.
	Tools Tools
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
	// plans are the seeded plans, as pushed.
	plans *plans.Set
	// log is the lab's log (lab.log): the simulators, the stand-in kubelet and applications.
	log      logr.Logger
	stopData context.CancelFunc
	// players are the stand-in kubelet and applications, stopped by stopData.
	players sync.WaitGroup
	// agentDone is closed when the agent returned, with its error in agentErr.
	agentDone chan struct{}
	agentErr  error
	stop      context.CancelFunc
}

const (
	pidFile = "sandbox.pid"
	// allowDetachedSetting is Longhorn's setting letting recurring backups take detached volumes.
	allowDetachedSetting = "allow-recurring-job-while-volume-detached"
	repoName             = "plans"
	sandboxNS            = "longhorn-system"
)

// The sandbox makes backups visible: the examples' crons become every minute, and each plan
// keeps an hour of them (more than a backup may take to be restored on the secondary, which
// validation asks of a retain).
var (
	cronLine   = regexp.MustCompile(`(?m)^(\s*cron:\s*)"[^"]*"`)
	retainLine = regexp.MustCompile(`(?m)^(\s*retain:\s*)\d+`)
)

// sandboxRetain is the retain of every seeded plan.
const sandboxRetain = 60

// Start brings the sandbox up and returns once everything runs; Stop tears it down.
func Start(ctx context.Context, o Options) (*Sandbox, error) {
	if o.RunAgent == nil && !o.NoAgent {
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
	if err := o.Tools.use(); err != nil {
		return nil, err
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
	if o.NoAgent {
		// controller-runtime's clients log through its global logger, set once per process:
		// to the agent's log when the agent runs here, else to the lab's.
		ctrl.SetLogger(labLog)
	}
	done := step("starting clusters east and west (kube-apiserver, etcd, Longhorn simulator) and Gitea")
	s.log = labLog.WithName("sandbox")
	s.lab, err = drlab.Start(ctx, drlab.Options{Dir: filepath.Join(dir, "lab"), Gitea: true, Logger: labLog, WorkloadDelay: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	if err := s.allowDetachedBackups(ctx); err != nil {
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

	done = step("creating workloads, claims and source volumes with data on east")
	if err := s.createVolumes(ctx); err != nil {
		return nil, err
	}
	if err := s.createWorkloads(ctx); err != nil {
		return nil, err
	}
	dataCtx, cancel := context.WithCancel(context.Background())
	s.stopData = cancel
	s.players.Go(func() { s.playKubelet(dataCtx) })
	s.players.Go(func() { s.writeData(dataCtx) })
	if err := s.waitAttached(ctx); err != nil {
		return nil, err
	}
	done()

	if err := s.writeAgentConfig(ctx); err != nil {
		return nil, err
	}
	if !o.NoAgent {
		done = step("starting the agent")
		if err := s.startAgent(ctx); err != nil {
			return nil, err
		}
		done()
	}
	ok = true
	return s, nil
}

// allowDetachedBackups sets Longhorn's allow-recurring-job-while-volume-detached in every
// cluster (Longhorn's default is false), so that a volume of yours that no workload mounts is
// backed up too.
func (s *Sandbox) allowDetachedBackups(ctx context.Context) error {
	for name, c := range s.lab.Clusters {
		st := &longhorn.Setting{}
		st.Name, st.Namespace = allowDetachedSetting, sandboxNS
		if err := c.Client.Patch(ctx, st, client.RawPatch(types.MergePatchType, []byte(`{"value":"true"}`))); err != nil {
			return fmt.Errorf("sandbox: set %s in cluster %s: %w", allowDetachedSetting, name, err)
		}
	}
	return nil
}

// Summary prints what to use and what to try.
func (s *Sandbox) Summary(w io.Writer) {
	g := s.lab.Gitea
	agent := fmt.Sprintf("drplan status --address %s   (logs: %s)", s.status, filepath.Join(s.opts.StateDir, "agent.log"))
	if s.opts.NoAgent {
		agent = fmt.Sprintf(`not started (--no-agent). Run your build of the agent with:
                %s
              then drplan status --address %s`, s.AgentCommand(), s.status)
	}
	fmt.Fprintf(w, `
drplan sandbox is up. Everything lives in %s.

  Clusters    export KUBECONFIG=%s   (contexts: east, west)
  Gitea       %s   login %s / %s
  Plans repo  git clone %s
  Agent       %s
  Data        %s   (each volume's data, as the simulator holds it)

Try:
  1. Open a pull request adding a volume to a plan (a new entry under spec.volumes of
     single-database.yaml), in Gitea's web editor or from your clone.
  2. Watch the preview comment on the pull request, and drplan status as backups restore on west.
  3. Merge a pull request that sets failover: true in a plan, and watch the waves activate.
  4. Bring a plan of your own: push it to the repo, create its volumes on east (Longhorn
     Volumes in %s) and the workloads mounting their claims (docs/sandbox.md).

Ctrl-C here (or drplan sandbox --down) stops everything.
`, s.opts.StateDir, s.kubecfg, g.URL, g.Admin, g.Password, s.repoURL, agent, VolumeDataPath(s.opts.StateDir, "<cluster>", "<volume>"), sandboxNS)
}

// VolumeDataPath is where the simulator of cluster keeps the data of volume, in the sandbox
// whose state directory is stateDir: compare a source volume's with its standby's after a
// failover.
func VolumeDataPath(stateDir, cluster, volume string) string {
	return filepath.Join(stateDir, "lab", cluster+"-volumes", volume+".img")
}

// Stop stops the agent and the lab and removes the pid file.
func (s *Sandbox) Stop() error {
	var errs []error
	if s.stopData != nil {
		s.stopData()
		s.players.Wait()
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
	files, set, err := seedPlans()
	if err != nil {
		return err
	}
	s.plans = set
	url, err := s.lab.Gitea.CreateRepo(ctx, repoName)
	if err != nil {
		return err
	}
	s.repoURL = url
	return pushFiles(ctx, url, s.lab.Gitea.Admin, s.lab.Gitea.Token, files, "Seed the plans repo from drplan's examples")
}

// seedPlans reads the examples' plans, embedded in the binary, with their crons made every
// minute, and loads them.
func seedPlans() (map[string]string, *plans.Set, error) {
	files := map[string]string{}
	err := fs.WalkDir(examples.Plans, "plans", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := examples.Plans.ReadFile(path)
		if err != nil {
			return err
		}
		yaml := cronLine.ReplaceAllString(string(b), `${1}"* * * * *"  # the sandbox backs up every minute`)
		yaml = retainLine.ReplaceAllString(yaml, fmt.Sprintf("${1}%d  # and keeps an hour of backups", sandboxRetain))
		files[strings.TrimPrefix(path, "plans/")] = yaml
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: read examples: %w", err)
	}
	set, problems := plans.LoadFS(fstestMap(files), ".", plans.WithClusters("east", "west"))
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("sandbox: seeded plans are invalid: %s", problems[0])
	}
	return files, set, nil
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
