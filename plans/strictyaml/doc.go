// Package strictyaml decodes drplan's own YAML kinds (DRPlan, AgentConfig) strictly and with
// positions: every problem names its file, line, column and field path.
//
// Loading is two steps. Parse checks a file as a whole (size, binary content, UTF-8, YAML
// syntax) and splits it into documents, each with its apiVersion and kind. Decode then walks one
// document against a Go type by its json tags, so that unknown fields (with a "did you mean"),
// duplicate keys, wrong scalar types and merge keys are reported where they are written, and it
// records where every field was found so that later validation can point at it, and defaults
// can tell a field left out from one written with a zero value (Locations).
//
// Hostile input is bounded: files above MaxFileSize, binary content, invalid UTF-8, nesting deeper
// than the YAML parser allows and alias expansion above MaxValues each give one problem, never a
// panic or a hang.
package strictyaml
