package config

import "github.com/drplan/drplan/plans/strictyaml"

// APIVersion and Kind identify an agent config document.
const (
	APIVersion = "drplan.io/v1alpha1"
	Kind       = "AgentConfig"
)

// Duration is a length of time written like 90s, 30m or 1h30m.
type Duration = strictyaml.Duration

// AgentConfig is the agent's config file.
type AgentConfig struct {
	// APIVersion must be drplan.io/v1alpha1.
	APIVersion string `json:"apiVersion" jsonschema:"required,enum=drplan.io/v1alpha1"`
	// Kind must be AgentConfig.
	Kind string `json:"kind" jsonschema:"required,enum=AgentConfig"`
	// Clusters are the Kubernetes clusters plans name as primary and secondary.
	Clusters []Cluster `json:"clusters" jsonschema:"required,minItems=1"`
	// LonghornNamespace is the namespace of Longhorn's objects in every cluster. Default: `longhorn-system`.
	LonghornNamespace string `json:"longhornNamespace" jsonschema:"maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Repo is the plans repository.
	Repo Repo `json:"repo" jsonschema:"required"`
	// Webhook receives push and pull-request events from the forge so the agent fetches at once
	// instead of waiting for the next poll. Off when absent.
	Webhook *Webhook `json:"webhook,omitempty"`
	// Metrics serves Prometheus metrics. Default: `{"listen": ":8080"}`.
	Metrics Listener `json:"metrics"`
	// Health serves the liveness and readiness probes. Default: `{"listen": ":9440"}`.
	Health Listener `json:"health"`
	// Status serves per-plan and per-volume status, as read by drplan status. Default: `{"listen": ":9090"}`.
	Status Listener `json:"status"`
	// LeaderElection lets several replicas of the agent run with one of them active.
	LeaderElection LeaderElection `json:"leaderElection"`
	// Forge is where pull requests of the plans repository live, for preview comments and
	// commit statuses. Off when absent.
	Forge *Forge `json:"forge,omitempty"`
	// Shard makes this agent one of several sharing the plans repository, as Flux shards its
	// controllers: it drives only the plans its shard selects, under a leader-election lease of
	// its own, and claims each plan in the plan's secondary cluster so that no plan is driven by
	// two shards. Absent: the agent drives every plan.
	Shard *Shard `json:"shard,omitempty"`
	// FailoverAuthorization is who may start a failover: a commit signed by a trusted key, a
	// pull request approved by allowed reviewers. Plans can add to it, never take away. Off
	// when absent: whoever can push failover: true to the tracked branch can fail a plan over.
	FailoverAuthorization *FailoverAuthorization `json:"failoverAuthorization,omitempty"`
}

// FailoverAuthorization is who may start a failover, for every plan.
type FailoverAuthorization struct {
	// TrustedKeys are files or directories (a mounted Secret) of public keys: ASCII-armored
	// OpenPGP keys and SSH keys in authorized_keys format. Required when signedCommits is set
	// here or by a plan.
	TrustedKeys []string `json:"trustedKeys,omitempty"`
	// SignedCommits requires the commit that set failover: true to carry a valid OpenPGP or SSH
	// signature by one of trustedKeys.
	SignedCommits bool `json:"signedCommits,omitempty"`
	// Approvals is how many allowed reviewers must have approved the pull request that merged
	// the failover, after its last push; a commit pushed straight to the branch is refused.
	// Needs forge. Zero or absent: no review.
	Approvals int `json:"approvals,omitempty" jsonschema:"minimum=0,maximum=20"`
	// Reviewers are the forge logins whose approvals count. With teams: a reviewer counts when
	// either names them. Neither: every approval counts.
	Reviewers []string `json:"reviewers,omitempty"`
	// Teams are forge teams (org/team; a group path on GitLab) whose members' approvals count.
	Teams []string `json:"teams,omitempty"`
}

// Shard selects the plans one agent drives among several.
type Shard struct {
	// Name identifies the shard among the agents of the plans repository (a DNS-1123 label); it
	// names the shard's lease and holds its claims on plans.
	Name string `json:"name" jsonschema:"required,minLength=1,maxLength=40,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Selector is a Kubernetes label selector over the plans' metadata.labels, such as
	// `drplan.io/shard=eu` or `tier in (gold,silver)`. Default: every plan.
	Selector string `json:"selector,omitempty"`
	// Names are patterns of plan names (globs such as `payments-*`); a plan must match one.
	// Default: every name.
	Names []string `json:"names,omitempty"`
}

// Cluster is how the agent reaches one Kubernetes cluster.
type Cluster struct {
	// Name is how plans refer to the cluster (a DNS-1123 label), such as east or west.
	Name string `json:"name" jsonschema:"required,minLength=1,maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
	// Kubeconfig is the path of a kubeconfig file for the cluster; a relative path is relative to
	// the config file's directory. Exactly one of kubeconfig and inCluster is set.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Context is the kubeconfig context to use. Default: the kubeconfig's current context.
	Context string `json:"context,omitempty"`
	// InCluster uses the service account of the pod the agent runs in. At most one cluster is
	// in-cluster. Default: `false`.
	InCluster bool `json:"inCluster"`
}

// Repo is the plans repository.
type Repo struct {
	// URL of the repository: https://, http://, ssh:// or user@host:path. Credentials never go in
	// the URL: use auth.
	URL string `json:"url" jsonschema:"required,minLength=1"`
	// Ref is the branch, tag or commit the agent applies. Default: `{"branch": "main"}`.
	Ref Ref `json:"ref"`
	// Path is the directory of the plans inside the repository. Default: `.`.
	Path string `json:"path"`
	// Interval is how often the agent fetches the repository (webhooks make it sooner). Default: `1m`.
	Interval Duration `json:"interval"`
	// Auth is how the agent authenticates to the repository. Off when empty (a public repository).
	Auth Auth `json:"auth,omitzero"`
}

// Ref is one of a branch, a tag or a commit.
type Ref struct {
	// Branch to follow.
	Branch string `json:"branch,omitempty"`
	// Tag to apply.
	Tag string `json:"tag,omitempty"`
	// Commit to apply: a full hexadecimal commit hash.
	Commit string `json:"commit,omitempty" jsonschema:"pattern=^([0-9a-f]{40}|[0-9a-f]{64})$"`
}

// Auth is how the agent authenticates to the plans repository: a token over HTTPS (from a file
// or an environment variable), or an SSH key with known hosts.
type Auth struct {
	// TokenFile is the path of a file holding an HTTPS access token.
	TokenFile string `json:"tokenFile,omitempty"`
	// TokenEnv is the name of an environment variable holding an HTTPS access token.
	TokenEnv string `json:"tokenEnv,omitempty" jsonschema:"pattern=^[A-Za-z_][A-Za-z0-9_]*$"`
	// SSHKeyFile is the path of a file holding an SSH private key, for an SSH URL.
	SSHKeyFile string `json:"sshKeyFile,omitempty"`
	// KnownHostsFile is the path of a known_hosts file the SSH server's key must be in; required
	// with sshKeyFile.
	KnownHostsFile string `json:"knownHostsFile,omitempty"`
}

// Webhook receives events from the forge.
type Webhook struct {
	// Listen is the address the webhook receiver listens on. Default: `:9292`.
	Listen string `json:"listen"`
	// SecretFile is the path of a file holding the webhook's HMAC secret.
	SecretFile string `json:"secretFile,omitempty"`
	// SecretEnv is the name of an environment variable holding the webhook's HMAC secret.
	SecretEnv string `json:"secretEnv,omitempty" jsonschema:"pattern=^[A-Za-z_][A-Za-z0-9_]*$"`
}

// Listener is an address an endpoint listens on.
type Listener struct {
	// Listen is a host:port address; an empty host listens on every interface.
	Listen string `json:"listen"`
}

// LeaderElection lets several replicas of the agent run with one of them active.
type LeaderElection struct {
	// Enabled turns leader election on. Default: `false`.
	Enabled bool `json:"enabled"`
	// Cluster is the name of the cluster that holds the lease. Default: the in-cluster cluster,
	// or else the first cluster.
	Cluster string `json:"cluster,omitempty"`
	// Namespace is the namespace of the lease. Default: longhornNamespace.
	Namespace string `json:"namespace,omitempty" jsonschema:"maxLength=63,pattern=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"`
}

// Forge is where the plans repository's pull requests live.
type Forge struct {
	// Kind of forge: gitea, github or gitlab.
	Kind string `json:"kind" jsonschema:"required,enum=gitea,enum=github,enum=gitlab"`
	// URL is the forge's base URL, for a self-hosted instance. Default: https://api.github.com
	// for github, https://gitlab.com for gitlab; required for gitea.
	URL string `json:"url,omitempty"`
	// Repo is the repository on the forge: owner/name (GitLab: group/subgroup/name).
	Repo string `json:"repo" jsonschema:"required,minLength=3"`
	// TokenFile is the path of a file holding the forge's API token.
	TokenFile string `json:"tokenFile,omitempty"`
	// TokenEnv is the name of an environment variable holding the forge's API token.
	TokenEnv string `json:"tokenEnv,omitempty" jsonschema:"pattern=^[A-Za-z_][A-Za-z0-9_]*$"`
}
