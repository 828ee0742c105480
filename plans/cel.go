package plans

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
)

// ParseCEL parses a gate's CEL expression in the environment Flux's custom health checks use
// (fluxcd/pkg/runtime/cel: the same options and extensions), without variables: an object's
// fields are only known when it is read.
func ParseCEL(expr string) error {
	env, err := cel.NewEnv(
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Encoders(),
	)
	if err != nil {
		return err
	}
	_, issues := env.Parse(expr)
	if issues == nil || issues.Err() == nil {
		return nil
	}
	// The first error is the one to fix; the others usually follow from it.
	if errs := issues.Errors(); len(errs) > 0 {
		e := errs[0]
		return fmt.Errorf("column %d: %s", e.Location.Column()+1, e.Message)
	}
	return errors.New(strings.ReplaceAll(issues.Err().Error(), "\n", " "))
}
