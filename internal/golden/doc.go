// Package golden compares test output with golden files under testdata/, the one way drplan's
// tests pin rendered output (plans' problems, the planner's decisions, reports, wire formats).
//
// Assert compares; with the environment variable UPDATE_GOLDEN set to any non-empty value it
// writes the output to the file instead, creating its directories, so that
//
//	UPDATE_GOLDEN=1 go test ./internal/report/
//
// regenerates a package's golden files. Review the regenerated files with git diff.
package golden
