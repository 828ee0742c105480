package agent

import (
	"errors"
	"time"

	"github.com/fluxcd/pkg/runtime/leaderelection"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/spf13/pflag"
)

// Options are the agent's command-line options. Everything about clusters, the repo and the
// listeners is in the config file; secrets never come from the command line.
type Options struct {
	// ConfigPath is the agent's config file (kind AgentConfig).
	ConfigPath string
	// CacheDir holds the plans repo's clone, reused across restarts.
	CacheDir string
	// Resync is how often a pass runs when nothing else triggers one, to keep lag figures current.
	Resync time.Duration
	// Logger are fluxcd/pkg/runtime's logging options.
	Logger logger.Options
	// LeaderElection are fluxcd/pkg/runtime's leader election options; the config file's
	// leaderElection.enabled turns it on too.
	LeaderElection leaderelection.Options
	// PprofListen, when set, serves Go's pprof profiles (/debug/pprof/) there: for profiling a
	// running agent, off by default.
	PprofListen string
}

// BindFlags binds the options to fs.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ConfigPath, "config", "", "path of the agent's config file (kind AgentConfig)")
	fs.StringVar(&o.CacheDir, "cache-dir", "/var/cache/drplan", "directory for the plans repo's clone, reused across restarts")
	fs.DurationVar(&o.Resync, "resync", 15*time.Second, "how often a pass runs when nothing triggers one")
	fs.StringVar(&o.PprofListen, "pprof-listen", "", "serve Go's pprof profiles on this address (such as 127.0.0.1:6060); off when empty")
	o.Logger.BindFlags(fs)
	o.LeaderElection.BindFlags(fs)
}

// Validate checks the options, one clear error.
func (o *Options) Validate() error {
	var errs []error
	if o.ConfigPath == "" {
		errs = append(errs, errors.New("--config is required"))
	}
	if o.CacheDir == "" {
		errs = append(errs, errors.New("--cache-dir must not be empty"))
	}
	if o.Resync < time.Second {
		errs = append(errs, errors.New("--resync must be at least 1s"))
	}
	return errors.Join(errs...)
}
