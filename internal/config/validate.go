package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/plans/strictyaml"
)

// MinInterval is the shortest poll interval of the plans repository.
const MinInterval = time.Second

// findings collects the problems of validation functions, by field path, with the checks
// the config shares (labels, secrets).
type findings struct{ strictyaml.FieldErrors }

// validate checks a defaulted config. It is pure: it reads no file and no environment
// variable, so that a config can be checked in CI, away from the secrets it names.
func validate(c *AgentConfig) []strictyaml.FieldError {
	var f findings
	if c.APIVersion != APIVersion {
		f.Add("apiVersion", "must be %s, got %q", APIVersion, c.APIVersion)
	}
	if c.Kind != Kind {
		f.Add("kind", "must be %s, got %q", Kind, c.Kind)
	}
	validateClusters(&f, c.Clusters)
	f.label("longhornNamespace", c.LonghornNamespace)
	validateRepo(&f, &c.Repo)
	validateListeners(&f, c)
	if w := c.Webhook; w != nil {
		f.secret("webhook", "secretFile", w.SecretFile, "secretEnv", w.SecretEnv,
			"the HMAC secret the forge signs events with; without it anyone could trigger the agent")
	}
	le := c.LeaderElection
	if le.Cluster != "" && !c.hasCluster(le.Cluster) {
		f.Add("leaderElection.cluster", "cluster %q is not in clusters", le.Cluster)
	}
	f.label("leaderElection.namespace", le.Namespace)
	if c.Forge != nil {
		validateForge(&f, c.Forge)
	}
	if a := c.FailoverAuthorization; a != nil {
		validateAuthorization(&f, a, c.Forge != nil)
	}
	if sh := c.Shard; sh != nil {
		f.label("shard.name", sh.Name)
		if _, err := labels.Parse(sh.Selector); err != nil {
			f.Add("shard.selector", "invalid label selector: %v", err)
		}
		for i, n := range sh.Names {
			if _, err := path.Match(n, ""); err != nil || n == "" {
				f.Add(fmt.Sprintf("shard.names[%d]", i), "invalid name pattern %q: use a glob such as payments-*", n)
			}
		}
	}
	return f.FieldErrors
}

func validateClusters(f *findings, clusters []Cluster) {
	if len(clusters) == 0 {
		f.Add("clusters", "required: at least one cluster")
	}
	seen := map[string]int{}
	inCluster := -1
	for i, c := range clusters {
		p := fmt.Sprintf("clusters[%d]", i)
		if f.label(p+".name", c.Name) {
			if first, dup := seen[c.Name]; dup {
				f.Add(p+".name", "cluster %q is already defined at clusters[%d]", c.Name, first)
			} else {
				seen[c.Name] = i
			}
		}
		switch {
		case c.InCluster && c.Kubeconfig != "":
			f.Add(p+".kubeconfig", "set either kubeconfig or inCluster, not both")
		case !c.InCluster && c.Kubeconfig == "":
			f.Add(p, "set kubeconfig (a path) or inCluster: true")
		}
		if c.Context != "" && c.Kubeconfig == "" {
			f.Add(p+".context", "only used with kubeconfig")
		}
		if c.InCluster {
			if inCluster >= 0 {
				f.Add(p+".inCluster", "only one cluster can be in-cluster; clusters[%d] already is", inCluster)
			} else {
				inCluster = i
			}
		}
	}
}

// scpLike matches Git's scp-like SSH syntax, user@host:path.
var scpLike = regexp.MustCompile(`^([A-Za-z0-9._~-]+@)?[A-Za-z0-9.-]+:[^/][^\s]*$|^([A-Za-z0-9._~-]+@)?[A-Za-z0-9.-]+:/[^\s]*$`)

func validateRepo(f *findings, r *Repo) {
	ssh := false
	switch u, err := url.Parse(r.URL); {
	case r.URL == "":
		f.Add("repo.url", "required: the URL of the plans repository")
	case strings.Contains(r.URL, "://"):
		if err != nil {
			f.Add("repo.url", "invalid URL: %v", urlError(err))
			break
		}
		switch u.Scheme {
		case "https", "http", "file":
			if u.User != nil {
				f.Add("repo.url", "credentials must not be written in the URL: use repo.auth.tokenFile or repo.auth.tokenEnv")
			}
		case "ssh":
			ssh = true
			if _, hasPassword := u.User.Password(); hasPassword {
				f.Add("repo.url", "credentials must not be written in the URL: use repo.auth.sshKeyFile")
			}
		default:
			f.Add("repo.url", "unsupported scheme %q: use https, http, ssh or file", u.Scheme)
		}
		if u.Scheme != "file" && u.Host == "" {
			f.Add("repo.url", "the URL has no host")
		}
	case scpLike.MatchString(r.URL):
		ssh = true
	default:
		f.Add("repo.url", "not a Git URL: use https://host/owner/repo.git or git@host:owner/repo.git")
	}
	set := 0
	for _, v := range []string{r.Ref.Branch, r.Ref.Tag, r.Ref.Commit} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		f.Add("repo.ref", "set one of branch, tag and commit, not %d", set)
	}
	if c := r.Ref.Commit; c != "" && !commitPattern.MatchString(c) {
		f.Add("repo.ref.commit", "must be a full commit hash (40 or 64 lower-case hexadecimal digits), got %q", c)
	}
	if p := r.Path; path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		f.Add("repo.path", "must be a clean relative path inside the repository, such as plans or ., got %q", p)
	}
	if r.Interval.Duration < MinInterval {
		f.Add("repo.interval", "must be at least 1s, got %s", r.Interval)
	}
	a := r.Auth
	token := a.TokenFile != "" || a.TokenEnv != ""
	if a.TokenFile != "" && a.TokenEnv != "" {
		f.Add("repo.auth.tokenEnv", "set tokenFile or tokenEnv, not both")
	}
	f.envName("repo.auth.tokenEnv", a.TokenEnv)
	switch {
	case ssh && token:
		f.Add("repo.auth", "a token authenticates over HTTPS; for an SSH URL set sshKeyFile and knownHostsFile")
	case ssh && a.SSHKeyFile == "":
		f.Add("repo.auth.sshKeyFile", "required for an SSH URL")
	case !ssh && a.SSHKeyFile != "":
		f.Add("repo.auth.sshKeyFile", "an SSH key needs an SSH URL (ssh:// or git@host:path)")
	}
	if a.SSHKeyFile != "" && a.KnownHostsFile == "" {
		f.Add("repo.auth.knownHostsFile", "required with sshKeyFile: the agent does not trust an unknown SSH host key")
	}
	if a.KnownHostsFile != "" && a.SSHKeyFile == "" {
		f.Add("repo.auth.knownHostsFile", "only used with sshKeyFile")
	}
}

func validateAuthorization(f *findings, a *FailoverAuthorization, forge bool) {
	const p = "failoverAuthorization"
	if a.SignedCommits && len(a.TrustedKeys) == 0 {
		f.Add(p+".trustedKeys", "required with signedCommits: the files of the keys whose signatures authorize a failover")
	}
	if a.Approvals > 0 && !forge {
		f.Add(p+".approvals", "approvals are read from the forge: set forge")
	}
	plans.CheckApprovers(&f.FieldErrors, p, a.Approvals, a.Reviewers, a.Teams)
}

var commitPattern = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

func validateListeners(f *findings, c *AgentConfig) {
	addrs := []struct{ path, addr string }{
		{"metrics.listen", c.Metrics.Listen},
		{"health.listen", c.Health.Listen},
		{"status.listen", c.Status.Listen},
	}
	if c.Webhook != nil {
		addrs = append(addrs, struct{ path, addr string }{"webhook.listen", c.Webhook.Listen})
	}
	ports := map[string]string{}
	for _, a := range addrs {
		_, port, err := net.SplitHostPort(a.addr)
		if err != nil {
			f.Add(a.path, "invalid address %q: use host:port or :port", a.addr)
			continue
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			f.Add(a.path, "invalid port %q in %q", port, a.addr)
			continue
		}
		if n == 0 {
			continue // an ephemeral port never clashes
		}
		// Both sides of a clash are reported: one of them may be a default, written nowhere.
		if first, dup := ports[port]; dup {
			f.Add(a.path, "port %s is also used by %s", port, first)
			f.Add(first, "port %s is also used by %s", port, a.path)
		} else {
			ports[port] = a.path
		}
	}
}

func validateForge(f *findings, fg *Forge) {
	switch fg.Kind {
	case "gitea", "github", "gitlab":
	case "":
		f.Add("forge.kind", "required: gitea, github or gitlab")
	default:
		f.Add("forge.kind", "must be gitea, github or gitlab, got %q", fg.Kind)
	}
	switch u, err := url.Parse(fg.URL); {
	case fg.URL == "" && fg.Kind == "gitea":
		f.Add("forge.url", "required for gitea: the base URL of the Gitea server")
	case fg.URL == "":
	case err != nil:
		f.Add("forge.url", "invalid URL: %v", urlError(err))
	case u.Scheme != "https" && u.Scheme != "http":
		f.Add("forge.url", "must be an http or https URL, got %q", fg.URL)
	case u.User != nil:
		f.Add("forge.url", "credentials must not be written in the URL: use forge.tokenFile or forge.tokenEnv")
	case u.Host == "":
		f.Add("forge.url", "the URL has no host")
	}
	parts := strings.Split(fg.Repo, "/")
	valid := len(parts) >= 2 && (len(parts) == 2 || fg.Kind == "gitlab")
	for _, p := range parts {
		valid = valid && p != "" && !strings.ContainsAny(p, " \t")
	}
	if !valid {
		f.Add("forge.repo", "must be owner/name (GitLab: group/subgroup/name), got %q", fg.Repo)
	}
	f.secret("forge", "tokenFile", fg.TokenFile, "tokenEnv", fg.TokenEnv, "the API token drplan comments and sets commit statuses with")
}

// secret checks that exactly one of a file and an environment variable names a secret.
func (f *findings) secret(parent, fileField, file, envField, env, what string) {
	switch {
	case file == "" && env == "":
		f.Add(parent, "set %s or %s: %s", fileField, envField, what)
	case file != "" && env != "":
		f.Add(parent+"."+envField, "set %s or %s, not both", fileField, envField)
	}
	f.envName(parent+"."+envField, env)
}

var envPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (f *findings) envName(path, name string) {
	if name != "" && !envPattern.MatchString(name) {
		f.Add(path, "invalid environment variable name %q", name)
	}
}

// label checks that value is set and a DNS-1123 label; it reports whether it is.
func (f *findings) label(path, value string) bool {
	if value == "" {
		f.Add(path, "required")
		return false
	}
	if msgs := validation.IsDNS1123Label(value); len(msgs) > 0 {
		f.Add(path, "invalid name %q: %s", value, strings.Join(msgs, "; "))
		return false
	}
	return true
}

// urlError drops the URL from a *url.Error: it may hold a credential.
func urlError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
