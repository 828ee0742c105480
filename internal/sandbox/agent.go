package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/drplan/drplan/internal/freeport"
	"github.com/drplan/drplan/internal/status"
)

// AgentResync is how often the sandbox's agent runs a pass when nothing triggers one: short,
// so that lag figures move visibly. The in-process agent and AgentCommand use it alike.
const AgentResync = 5 * time.Second

// agentDir is where the agent's config, credentials and cache live, under the state directory.
const agentDir = "agent"

// writeAgentConfig writes the agent's config and credentials under <state>/agent, and creates
// the Gitea webhook that tells the agent about every push and pull request at once.
func (s *Sandbox) writeAgentConfig(ctx context.Context) error {
	dir := filepath.Join(s.opts.StateDir, agentDir)
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(s.lab.Gitea.Token), 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "webhook-secret"), []byte(hex.EncodeToString(secret)), 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	s.status = s.opts.StatusListen
	if s.status == "" && free("127.0.0.1:9090") {
		s.status = "127.0.0.1:9090"
	}
	// webhook, metrics, health, and the status listener when neither given nor 9090.
	addrs := make([]string, 4)
	for i := range addrs {
		a, err := freeport.Addr()
		if err != nil {
			return fmt.Errorf("sandbox: agent listeners: %w", err)
		}
		addrs[i] = a
	}
	if s.status == "" {
		s.status = addrs[3]
	}
	hook := addrs[0]
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
`, s.agentKubecfg, sandboxNS, s.repoURL, hook, s.status, addrs[1], addrs[2], s.lab.Gitea.URL, s.lab.Gitea.Admin, repoName)
	s.config = filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
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
	return nil
}

// cacheDir is the agent's cache directory (the plans repo's clone).
func (s *Sandbox) cacheDir() string { return filepath.Join(s.opts.StateDir, agentDir, "cache") }

// AgentCommand is the command line that runs an agent as the sandbox runs its own: the config
// the sandbox wrote, its cache directory and resync. With --no-agent, run it with your build.
func (s *Sandbox) AgentCommand() string {
	return strings.Join([]string{"drplan", "agent", "--config", s.config, "--cache-dir", s.cacheDir(),
		"--resync", AgentResync.String()}, " ")
}

// startAgent runs the agent in this process with the config writeAgentConfig wrote, and
// returns once its status listener answers.
func (s *Sandbox) startAgent(ctx context.Context) error {
	log, err := fileLogger(filepath.Join(s.opts.StateDir, "agent.log"))
	if err != nil {
		return err
	}
	ctrl.SetLogger(log)
	runCtx, cancel := context.WithCancel(logr.NewContext(context.Background(), log))
	s.stop = cancel
	s.agentDone = make(chan struct{})
	go func() {
		s.agentErr = s.opts.RunAgent(runCtx, s.config, s.cacheDir())
		close(s.agentDone)
	}()
	deadline := time.Now().Add(30 * time.Second)
	// The agent's own status answering, not merely something listening on its address.
	for !answers(ctx, s.status) {
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

// answers is whether a drplan status endpoint answers on addr.
func answers(ctx context.Context, addr string) bool {
	_, _, err := status.Fetch(ctx, addr)
	return err == nil
}
