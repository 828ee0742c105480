package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/drplan/drplan/plans/strictyaml"
)

// Problem is one thing wrong in the config file, printed as FILE:LINE:COL: FIELD: MESSAGE.
type Problem = strictyaml.Problem

// Load reads the config file at path, applies defaults, validates it and makes its relative
// file paths (kubeconfig, token, key and secret files) relative to the file's directory. The
// config is usable only when no problem is returned. Load reads no secret: see Auth.Token,
// Webhook.Secret and Forge.Token.
func Load(path string) (*AgentConfig, []Problem) {
	display := filepath.ToSlash(path)
	data, problem := strictyaml.ReadFile(os.DirFS(filepath.Dir(path)), filepath.Base(path))
	if problem != nil {
		problem.File = display
		return nil, []Problem{*problem}
	}
	c, problems := Parse(display, data)
	if c != nil {
		c.resolvePaths(filepath.Dir(path))
	}
	return c, problems
}

// Parse reads a config from data, the content of the file named file, applies defaults and
// validates it. The file must hold exactly one AgentConfig document. Relative paths are left as
// written.
func Parse(file string, data []byte) (*AgentConfig, []Problem) {
	docs, problems := strictyaml.Parse(file, data)
	if len(problems) > 0 {
		return nil, problems
	}
	var found []strictyaml.Document
	for _, d := range docs {
		if d.APIVersion == APIVersion && d.Kind == Kind {
			found = append(found, d)
			continue
		}
		problems = append(problems, strictyaml.Problem{File: file, Line: d.Start().Line, Column: d.Start().Column,
			Field: strictyaml.RootField, Message: fmt.Sprintf("not an agent config (apiVersion %q, kind %q): want apiVersion %s, kind %s",
				d.APIVersion, d.Kind, APIVersion, Kind)})
	}
	if len(found) == 0 {
		return nil, strictyaml.Sorted(problems)
	}
	for _, d := range found[1:] {
		problems = append(problems, strictyaml.Problem{File: file, Line: d.Start().Line, Column: d.Start().Column,
			Field: strictyaml.RootField, Message: fmt.Sprintf("a second AgentConfig document: the file holds one (the first starts at line %d)", found[0].Start().Line)})
	}
	c := &AgentConfig{}
	locs, decoded := strictyaml.Decode(found[0], c, strictyaml.Options{Hint: inlineSecretHint})
	SetDefaults(c)
	problems = append(problems, decoded...)
	problems = append(problems, strictyaml.Place(file, locs, validate(c), decoded)...)
	return c, strictyaml.Sorted(problems)
}

// inlineSecretHint explains why a field that looks like an inline secret does not exist.
func inlineSecretHint(_, key string) string {
	switch strings.ToLower(key) {
	case "token", "secret", "password", "sshkey", "privatekey", "knownhosts":
		return "secrets are never written inline: name a file (the …File field) or an environment variable (the …Env field) that holds it"
	}
	return ""
}

// ClusterNames returns the names of the configured clusters, in order.
func (c *AgentConfig) ClusterNames() []string {
	out := make([]string, 0, len(c.Clusters))
	for _, cl := range c.Clusters {
		out = append(out, cl.Name)
	}
	return out
}

// Cluster returns the configured cluster named name.
func (c *AgentConfig) Cluster(name string) (Cluster, bool) {
	i := slices.IndexFunc(c.Clusters, func(cl Cluster) bool { return cl.Name == name })
	if i < 0 {
		return Cluster{}, false
	}
	return c.Clusters[i], true
}

func (c *AgentConfig) hasCluster(name string) bool {
	_, ok := c.Cluster(name)
	return ok
}

// resolvePaths makes the relative file paths of c relative to dir.
func (c *AgentConfig) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for i := range c.Clusters {
		abs(&c.Clusters[i].Kubeconfig)
	}
	abs(&c.Repo.Auth.TokenFile)
	abs(&c.Repo.Auth.SSHKeyFile)
	abs(&c.Repo.Auth.KnownHostsFile)
	if c.Webhook != nil {
		abs(&c.Webhook.SecretFile)
	}
	if c.Forge != nil {
		abs(&c.Forge.TokenFile)
	}
	if c.FailoverAuthorization != nil {
		for i := range c.FailoverAuthorization.TrustedKeys {
			abs(&c.FailoverAuthorization.TrustedKeys[i])
		}
	}
}
