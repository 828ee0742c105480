// Package plans is the DRPlan API: the Go types of apiVersion drplan.io/v1alpha1, kind DRPlan,
// their defaults (SetDefaults, the one place defaults are applied), their validation (pure
// functions over the types) and the loader that reads a tree of YAML files (LoadFS, LoadPaths)
// into a Set of plans with every problem at its file, line, column and field path.
//
// Defaults fill only the fields a document leaves out (or writes as null): a number or a
// duration written out, 0 included, is kept and checked against its range, never replaced.
//
// A plan with any problem is invalid: it is kept in the Set, marked invalid and never applied,
// while the other plans stay valid. Conflicts between plans (two plans claiming the same volume
// in the same cluster, or the same plan name) invalidate every plan involved, and each problem
// names the other place.
package plans
