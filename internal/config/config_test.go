package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

const minimal = `apiVersion: drplan.io/v1alpha1
kind: AgentConfig
clusters:
  - name: east
    kubeconfig: east.kubeconfig
  - name: west
    inCluster: true
repo:
  url: https://git.example.com/platform/plans.git
`

func problemLines(problems []Problem) []string {
	out := []string{}
	for _, p := range problems {
		out = append(out, p.String())
	}
	return out
}

func TestParseDefaults(t *testing.T) {
	g := NewWithT(t)
	c, problems := Parse("agent.yaml", []byte(minimal))
	g.Expect(problems).To(BeEmpty())
	g.Expect(*c).To(Equal(AgentConfig{
		APIVersion: APIVersion,
		Kind:       Kind,
		Clusters: []Cluster{
			{Name: "east", Kubeconfig: "east.kubeconfig"},
			{Name: "west", InCluster: true},
		},
		LonghornNamespace: "longhorn-system",
		Repo: Repo{
			URL:      "https://git.example.com/platform/plans.git",
			Ref:      Ref{Branch: "main"},
			Path:     ".",
			Interval: Duration{Duration: time.Minute},
		},
		Metrics:        Listener{Listen: ":8080"},
		Health:         Listener{Listen: ":9440"},
		Status:         Listener{Listen: ":9090"},
		LeaderElection: LeaderElection{Cluster: "west", Namespace: "longhorn-system"},
	}))
	g.Expect(c.ClusterNames()).To(Equal([]string{"east", "west"}))
	west, ok := c.Cluster("west")
	g.Expect(ok).To(BeTrue())
	g.Expect(west.InCluster).To(BeTrue())
	_, ok = c.Cluster("north")
	g.Expect(ok).To(BeFalse())
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name  string
		patch string // appended to, or replacing lines of, the minimal config
		text  string // the whole file, when set
		want  []string
	}{
		{
			name: "inline token",
			text: strings.Replace(minimal, "  url: https://git.example.com/platform/plans.git\n",
				"  url: https://git.example.com/platform/plans.git\n  auth:\n    token: ghp_123\n", 1),
			want: []string{`agent.yaml:11:5: repo.auth.token: unknown field "token": secrets are never written inline: name a file (the …File field) or an environment variable (the …Env field) that holds it`},
		},
		{
			name: "credentials in the URL",
			text: strings.Replace(minimal, "https://git.example.com", "https://bot:s3cret@git.example.com", 1),
			want: []string{`agent.yaml:9:8: repo.url: credentials must not be written in the URL: use repo.auth.tokenFile or repo.auth.tokenEnv`},
		},
		{
			name: "ssh without a key",
			text: strings.Replace(minimal, "https://git.example.com/platform/plans.git", "git@git.example.com:platform/plans.git", 1),
			want: []string{`agent.yaml:8:1: repo.auth.sshKeyFile: required for an SSH URL`},
		},
		{
			name: "ssh key without known hosts, and a token",
			text: strings.Replace(minimal, "  url: https://git.example.com/platform/plans.git\n",
				"  url: ssh://git@git.example.com/platform/plans.git\n  auth: {sshKeyFile: id_ed25519, tokenEnv: TOKEN}\n", 1),
			want: []string{
				`agent.yaml:10:3: repo.auth: a token authenticates over HTTPS; for an SSH URL set sshKeyFile and knownHostsFile`,
				`agent.yaml:10:3: repo.auth.knownHostsFile: required with sshKeyFile: the agent does not trust an unknown SSH host key`,
			},
		},
		{
			name:  "several refs, bad commit, path outside, fast poll",
			patch: "  ref: {branch: main, commit: abc123}\n  path: ../plans\n  interval: 100ms\n",
			want: []string{
				`agent.yaml:10:3: repo.ref: set one of branch, tag and commit, not 2`,
				`agent.yaml:10:31: repo.ref.commit: must be a full commit hash (40 or 64 lower-case hexadecimal digits), got "abc123"`,
				`agent.yaml:11:9: repo.path: must be a clean relative path inside the repository, such as plans or ., got "../plans"`,
				`agent.yaml:12:13: repo.interval: must be at least 1s, got 100ms`,
			},
		},
		{
			name: "clusters",
			text: strings.Replace(minimal, "    inCluster: true\n", "    inCluster: true\n  - name: west\n    context: dr\n  - name: North\n    kubeconfig: n\n    inCluster: true\n", 1),
			want: []string{
				`agent.yaml:8:5: clusters[2]: set kubeconfig (a path) or inCluster: true`,
				`agent.yaml:8:11: clusters[2].name: cluster "west" is already defined at clusters[1]`,
				`agent.yaml:9:14: clusters[2].context: only used with kubeconfig`,
				`agent.yaml:10:11: clusters[3].name: invalid name "North": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
				`agent.yaml:11:17: clusters[3].kubeconfig: set either kubeconfig or inCluster, not both`,
				`agent.yaml:12:16: clusters[3].inCluster: only one cluster can be in-cluster; clusters[1] already is`,
			},
		},
		{
			name:  "listeners clash, webhook without a secret",
			patch: "metrics: {listen: \":9440\"}\nstatus: {listen: localhost}\nwebhook: {listen: \":8443\"}\n",
			want: []string{
				`agent.yaml:1:1: health.listen: port 9440 is also used by metrics.listen`,
				`agent.yaml:10:19: metrics.listen: port 9440 is also used by health.listen`,
				`agent.yaml:11:18: status.listen: invalid address "localhost": use host:port or :port`,
				`agent.yaml:12:1: webhook: set secretFile or secretEnv: the HMAC secret the forge signs events with; without it anyone could trigger the agent`,
			},
		},
		{
			name:  "failover authorization without keys or forge",
			patch: "failoverAuthorization: {signedCommits: true, approvals: 2, reviewers: [a b], teams: [sre]}\n",
			want: []string{
				`agent.yaml:10:1: failoverAuthorization.trustedKeys: required with signedCommits: the files of the keys whose signatures authorize a failover`,
				`agent.yaml:10:57: failoverAuthorization.approvals: approvals are read from the forge: set forge`,
				`agent.yaml:10:72: failoverAuthorization.reviewers[0]: must be a forge login, got "a b"`,
				`agent.yaml:10:86: failoverAuthorization.teams[0]: must be org/team (a group path on GitLab), got "sre"`,
			},
		},
		{
			name:  "forge",
			patch: "forge: {kind: gitea, repo: plans, tokenFile: t, tokenEnv: 'BAD-NAME'}\n",
			want: []string{
				`agent.yaml:10:1: forge.url: required for gitea: the base URL of the Gitea server`,
				`agent.yaml:10:28: forge.repo: must be owner/name (GitLab: group/subgroup/name), got "plans"`,
				`agent.yaml:10:59: forge.tokenEnv: invalid environment variable name "BAD-NAME"`,
				`agent.yaml:10:59: forge.tokenEnv: set tokenFile or tokenEnv, not both`,
			},
		},
		{
			name:  "forge kind",
			patch: "forge: {kind: bitbucket, repo: a/b}\n",
			want: []string{
				`agent.yaml:10:1: forge: set tokenFile or tokenEnv: the API token drplan comments and sets commit statuses with`,
				`agent.yaml:10:15: forge.kind: must be gitea, github or gitlab, got "bitbucket"`,
			},
		},
		{
			name:  "leader election in an unknown cluster",
			patch: "leaderElection: {enabled: true, cluster: north}\n",
			want:  []string{`agent.yaml:10:42: leaderElection.cluster: cluster "north" is not in clusters`},
		},
		{
			name:  "a shard with a broken selector, a broken name pattern and no name",
			patch: "shard: {selector: \"tier in (gold\", names: [\"pay-[\"]}\n",
			want: []string{
				`agent.yaml:10:1: shard.name: required`,
				`agent.yaml:10:19: shard.selector: invalid label selector: unable to parse requirement: found '', expected: ',' or ')'`,
				`agent.yaml:10:44: shard.names[0]: invalid name pattern "pay-[": use a glob such as payments-*`,
			},
		},
		{
			name: "not an agent config",
			text: "apiVersion: drplan.io/v1alpha1\nkind: DRPlan\n",
			want: []string{`agent.yaml:1:1: .: not an agent config (apiVersion "drplan.io/v1alpha1", kind "DRPlan"): want apiVersion drplan.io/v1alpha1, kind AgentConfig`},
		},
		{
			name: "two configs",
			text: minimal + "---\n" + minimal,
			want: []string{`agent.yaml:11:1: .: a second AgentConfig document: the file holds one (the first starts at line 1)`},
		},
		{
			name: "typo",
			text: strings.Replace(minimal, "repo:", "repos:", 1),
			want: []string{
				`agent.yaml:1:1: repo.url: required: the URL of the plans repository`,
				`agent.yaml:8:1: repos: unknown field "repos"; did you mean "repo"?`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			text := tt.text
			if text == "" {
				// Appended to minimal: a patch indented by two spaces adds fields to repo,
				// minimal's last mapping; one that is not adds top-level fields.
				text = minimal + tt.patch
			}
			_, problems := Parse("agent.yaml", []byte(text))
			g.Expect(problemLines(problems)).To(Equal(tt.want))
		})
	}
}

func TestLoadResolvesPathsNextToTheFile(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	text := minimal + `  auth: {tokenFile: secrets/token}
forge: {kind: github, repo: acme/plans, tokenFile: /abs/forge-token}
`
	g.Expect(os.WriteFile(filepath.Join(dir, "agent.yaml"), []byte(text), 0o600)).To(Succeed())
	c, problems := Load(filepath.Join(dir, "agent.yaml"))
	g.Expect(problems).To(BeEmpty())
	g.Expect(c.Clusters[0].Kubeconfig).To(Equal(filepath.Join(dir, "east.kubeconfig")))
	g.Expect(c.Repo.Auth.TokenFile).To(Equal(filepath.Join(dir, "secrets", "token")))
	g.Expect(c.Forge.TokenFile).To(Equal("/abs/forge-token"))
	g.Expect(c.Forge.URL).To(Equal("https://api.github.com"))

	_, problems = Load(filepath.Join(dir, "missing.yaml"))
	g.Expect(problemLines(problems)).To(Equal([]string{filepath.ToSlash(filepath.Join(dir, "missing.yaml")) + ":1:1: .: cannot read file: no such file or directory"}))
}

func TestSecrets(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	g.Expect(os.WriteFile(filepath.Join(dir, "token"), []byte("t0ken\n"), 0o600)).To(Succeed())
	g.Expect(os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600)).To(Succeed())
	t.Setenv("DRPLAN_TEST_SECRET", "hmac")
	t.Setenv("DRPLAN_TEST_EMPTY", "")

	tok, err := Auth{TokenFile: filepath.Join(dir, "token")}.Token()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tok).To(Equal("t0ken"))

	tok, err = Auth{}.Token()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tok).To(BeEmpty(), "no auth configured: a public repository")

	secret, err := Webhook{SecretEnv: "DRPLAN_TEST_SECRET"}.Secret()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(secret)).To(Equal("hmac"))

	_, err = Forge{Kind: "gitea", TokenEnv: "DRPLAN_TEST_UNSET"}.Token()
	g.Expect(err).To(MatchError("read gitea token: environment variable DRPLAN_TEST_UNSET is not set"))
	_, err = Forge{Kind: "gitea", TokenEnv: "DRPLAN_TEST_EMPTY"}.Token()
	g.Expect(err).To(MatchError(errEmptySecret))
	_, err = Auth{TokenFile: filepath.Join(dir, "empty")}.Token()
	g.Expect(err).To(MatchError(errEmptySecret))
	_, err = Auth{TokenFile: filepath.Join(dir, "none")}.Token()
	g.Expect(err).To(MatchError(os.ErrNotExist))
	g.Expect(err.Error()).NotTo(ContainSubstring("t0ken"))
}

// TestExampleIsValid keeps examples/agent.yaml valid, with the clusters the e2e tests and the
// sandbox use.
func TestExampleIsValid(t *testing.T) {
	g := NewWithT(t)
	c, problems := Load("../../examples/agent.yaml")
	g.Expect(problemLines(problems)).To(BeEmpty())
	g.Expect(c.ClusterNames()).To(Equal([]string{"east", "west"}))
	g.Expect(c.LonghornNamespace).To(Equal("longhorn-system"))
}
