package cli

import (
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/drplan/drplan/agent"
)

func newAgentCommand() *cobra.Command {
	opts := &agent.Options{}
	cmd := &cobra.Command{
		Use:   "agent --config agent.yaml",
		Short: "Run the agent: pull the plans repo and drive both clusters",
		Long: `The agent pulls the plans repository, and keeps every valid plan true in its primary and
secondary clusters: a recurring backup job on the primary, standby volumes kept in incremental
restore on the secondary. It serves its status on the config's status listener (drplan status
reads it), Prometheus metrics, health probes, and a webhook for forge push events.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := logger.NewLogger(opts.Logger)
			logger.SetLogger(log)
			a, err := agent.New(*opts)
			if err != nil {
				return err
			}
			ctx := logr.NewContext(ctrl.SetupSignalHandler(), log)
			return a.Run(ctx)
		},
	}
	opts.BindFlags(cmd.Flags())
	return cmd
}
