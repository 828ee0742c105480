// Package schema generates, from the Go types, the JSON Schemas of drplan's YAML kinds
// (drplan.schema.json for DRPlan, agentconfig.schema.json for AgentConfig) and the field
// reference of docs/plans.md. Editors use the schemas through a yaml-language-server comment;
// tests check that the checked-in files are what the types produce, that the schemas accept the
// examples and reject the broken plans they can, and that every documented default is the one
// plans.SetDefaults and config.SetDefaults apply.
//
// Descriptions come from the fields' Go comments. A comment ending with "Default: `x`." (x a
// JSON value, or a bare word read as a string) gives the schema's default; any other
// "Default: ..." sentence is documentation only.
//
//go:generate go run ./internal/gen
package schema
