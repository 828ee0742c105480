// Package config is the agent's config file: apiVersion drplan.io/v1alpha1, kind AgentConfig.
// It names the clusters plans refer to and how to reach them, the plans repository and how to
// authenticate to it, the forge that receives pull-request comments, and the agent's listen
// addresses.
//
// It is read with the same strict, positioned loader as plans (plans/strictyaml): unknown
// fields, duplicate keys and wrong values are problems at FILE:LINE:COL. Secrets are never
// written inline: only the path of a file or the name of an environment variable that holds
// them, read when needed (Auth.Token, Webhook.Secret, Forge.Token).
package config
