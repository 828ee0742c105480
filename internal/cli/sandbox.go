package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/drplan/drplan/agent"
	"github.com/drplan/drplan/internal/sandbox"
)

type sandboxOptions struct {
	stateDir string
	down     bool
	demo     bool
	noAgent  bool
	status   string
	tools    sandbox.Tools
}

func newSandboxCommand() *cobra.Command {
	o := &sandboxOptions{}
	cmd := &cobra.Command{
		Use:   "sandbox [--state-dir DIR] [--demo | --no-agent | --down]",
		Short: "Start two local clusters, a Gitea and the agent, all on loopback",
		Long: `Sandbox runs the whole product on this machine: two Kubernetes API servers (east and west)
with the Longhorn simulator, a Gitea whose plans repository is seeded from drplan's examples,
source volumes with data on east backed up every minute, and the agent. It prints how to reach
each piece and what to try, and runs until Ctrl-C. Everything it writes is under --state-dir.

With --no-agent it starts the world only, writes the agent's config under --state-dir and prints
the command that runs an agent with it: run your own build of the agent against the sandbox.
A stand-in kubelet attaches and detaches volumes as the workloads mounting their claims scale up
and down, so plans and volumes of your own work as the examples do (docs/sandbox.md).

It needs the components make tools builds (make sandbox builds them first): it finds them with
--kube-assets and --gitea-dir, the environment, or beside the drplan binary, so a checkout's
bin/drplan runs it from any directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if o.down {
				return sandbox.Down(o.stateDir, out)
			}
			if o.demo && o.noAgent {
				return errors.New("--demo needs the sandbox's agent: drop --no-agent")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			start := time.Now()
			sb, err := sandbox.Start(ctx, sandbox.Options{StateDir: o.stateDir, Out: out, StatusListen: o.status,
				RunAgent: runSandboxAgent, NoAgent: o.noAgent, Tools: o.tools})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "ready in %s\n", time.Since(start).Round(100*time.Millisecond))
			if o.demo {
				derr := sb.Demo(ctx, out)
				fmt.Fprint(out, "\nstopping the sandbox...")
				if err := sb.Stop(); err != nil {
					return err
				}
				fmt.Fprintf(out, " stopped (whole demo: %s)\n", time.Since(start).Round(time.Second))
				return derr
			}
			sb.Summary(out)
			<-ctx.Done()
			fmt.Fprint(out, "\nstopping the sandbox...")
			if err := sb.Stop(); err != nil {
				return err
			}
			fmt.Fprintln(out, " stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&o.stateDir, "state-dir", ".state/sandbox", "directory for everything the sandbox writes")
	cmd.Flags().BoolVar(&o.down, "down", false, "stop the sandbox running from --state-dir in another process")
	cmd.Flags().BoolVar(&o.demo, "demo", false, "run the whole story by itself (protect, a pull request flipping failover, merge, waves), print it and exit")
	cmd.Flags().BoolVar(&o.noAgent, "no-agent", false, "start the world only and print the command that runs your own agent build against it")
	cmd.Flags().StringVar(&o.status, "status-listen", "", "the agent's status listener (default 127.0.0.1:9090, or a free port)")
	o.tools.BindFlags(cmd.Flags())
	return cmd
}

// runSandboxAgent runs the agent as the sandbox configured it, resyncing every
// sandbox.AgentResync so that lag figures move visibly (sandbox.AgentCommand runs it alike).
func runSandboxAgent(ctx context.Context, configPath, cacheDir string) error {
	a, err := agent.New(agent.Options{ConfigPath: configPath, CacheDir: cacheDir, Resync: sandbox.AgentResync})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}
