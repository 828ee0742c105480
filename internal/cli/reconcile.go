package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drplan/drplan/agent"
	"github.com/drplan/drplan/internal/revision"
)

type reconcileOptions struct {
	address string
	config  string
}

func newReconcileCommand() *cobra.Command {
	o := &reconcileOptions{}
	cmd := &cobra.Command{
		Use:   "reconcile [--config agent.yaml | --address HOST:PORT]",
		Short: "Ask the running agent to fetch the plans repository and run a pass now",
		Long: `Reconcile asks the leading agent, on its status listener, to fetch the plans repository and run a
pass at once (as flux reconcile --with-source does), and waits until that pass is done: it prints
the revision in force and what the pass did. It exits 1 when an action of the pass failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, err := statusAddress(o.address, o.config)
			if err != nil {
				return err
			}
			res, err := askReconcile(cmd, addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "reconciled revision %s: %d actions in %s\n", revision.Short(res.Revision), res.Actions, res.Duration)
			for _, e := range res.Errors {
				fmt.Fprintf(cmd.OutOrStdout(), "  failed: %s\n", e)
			}
			if len(res.Errors) > 0 {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.address, "address", "", "the agent's status listener, HOST:PORT (default: from --config, else 127.0.0.1:9090)")
	cmd.Flags().StringVar(&o.config, "config", "", "agent config file, to find the status listener")
	return cmd
}

// statusAddress is the agent's status listener: given, from the config, or the default.
func statusAddress(address, config string) (string, error) {
	if address != "" {
		return address, nil
	}
	if config != "" {
		cfg, err := agent.LoadConfig(config)
		if err != nil {
			return "", err
		}
		return cfg.Status.Listen, nil
	}
	return "127.0.0.1:9090", nil
}

func askReconcile(cmd *cobra.Command, addr string) (agent.ReconcileResult, error) {
	var res agent.ReconcileResult
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return res, fmt.Errorf("status address %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/reconcile"
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, url, nil)
	if err != nil {
		return res, err
	}
	client := &http.Client{Timeout: agent.ReconcileTimeout + 10*time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return res, fmt.Errorf("ask %s (is the agent running?): %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return res, fmt.Errorf("ask %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return res, fmt.Errorf("ask %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return res, fmt.Errorf("ask %s: %w", url, err)
	}
	return res, nil
}
