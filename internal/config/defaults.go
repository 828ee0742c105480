package config

import "time"

// Default values, as documented on the fields they fill.
const (
	DefaultLonghornNamespace = "longhorn-system"
	DefaultBranch            = "main"
	DefaultRepoPath          = "."
	DefaultInterval          = time.Minute
	DefaultWebhookListen     = ":9292"
	DefaultMetricsListen     = ":8080"
	DefaultHealthListen      = ":9440"
	DefaultStatusListen      = ":9090"
	DefaultGitHubURL         = "https://api.github.com"
	DefaultGitLabURL         = "https://gitlab.com"
)

// SetDefaults fills every field the config leaves empty that has a default. It is the only
// place defaults are applied; it is idempotent and never overwrites a value that is set.
func SetDefaults(c *AgentConfig) {
	if c.LonghornNamespace == "" {
		c.LonghornNamespace = DefaultLonghornNamespace
	}
	r := &c.Repo
	if r.Ref == (Ref{}) {
		r.Ref.Branch = DefaultBranch
	}
	if r.Path == "" {
		r.Path = DefaultRepoPath
	}
	if r.Interval.Duration == 0 {
		r.Interval.Duration = DefaultInterval
	}
	if c.Webhook != nil && c.Webhook.Listen == "" {
		c.Webhook.Listen = DefaultWebhookListen
	}
	if c.Metrics.Listen == "" {
		c.Metrics.Listen = DefaultMetricsListen
	}
	if c.Health.Listen == "" {
		c.Health.Listen = DefaultHealthListen
	}
	if c.Status.Listen == "" {
		c.Status.Listen = DefaultStatusListen
	}
	le := &c.LeaderElection
	if le.Cluster == "" && len(c.Clusters) > 0 {
		le.Cluster = c.Clusters[0].Name
		for _, cl := range c.Clusters {
			if cl.InCluster {
				le.Cluster = cl.Name
				break
			}
		}
	}
	if le.Namespace == "" {
		le.Namespace = c.LonghornNamespace
	}
	if f := c.Forge; f != nil && f.URL == "" {
		switch f.Kind {
		case "github":
			f.URL = DefaultGitHubURL
		case "gitlab":
			f.URL = DefaultGitLabURL
		}
	}
}
