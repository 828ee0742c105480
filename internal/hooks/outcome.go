package hooks

import (
	"errors"
	"fmt"
	"strings"
)

// Err joins every failure, the hooks' (each named with its phase) and the snapshot's, into one
// error, or is nil when nothing failed.
func (o Outcome) Err() error {
	var errs []error
	for _, r := range o.Results {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s hook %s: %w", r.Phase, r.Hook, r.Err))
		}
	}
	switch {
	case o.TakeErr == nil:
	case errors.Is(o.TakeErr, ErrNotTaken):
		errs = append(errs, o.TakeErr)
	default:
		errs = append(errs, fmt.Errorf("snapshot: %w", o.TakeErr))
	}
	return errors.Join(errs...)
}

// Summary is one line for logs and pull-request comments, the hooks and the snapshot in the
// order they ran, such as "pre checkpoint ok (1 pod), snapshot taken, post resume ok". The parts
// are separated by semicolons when one failed, since errors may hold commas.
func (o Outcome) Summary() string {
	var parts []string
	failed := false
	add := func(s string, err error) {
		if err != nil {
			failed = true
			s += " failed: " + oneLine(err.Error())
		}
		parts = append(parts, s)
	}
	snapshot := func() {
		switch {
		case o.Taken && len(o.Results) > 0 && !o.Consistent && o.ranPre():
			parts = append(parts, "snapshot taken, not application-consistent")
		case o.Taken:
			parts = append(parts, "snapshot taken")
		case errors.Is(o.TakeErr, ErrNotTaken):
			failed = true
			parts = append(parts, "no snapshot taken")
		case o.TakeErr != nil:
			add("snapshot", o.TakeErr)
		default:
			parts = append(parts, "no snapshot taken")
		}
	}
	done := false
	for _, r := range o.Results {
		if r.Phase != PhasePre && !done {
			snapshot()
			done = true
		}
		s := r.Phase + " " + r.Hook
		switch {
		case r.Skipped != "":
			s += " skipped (" + r.Skipped + ")"
		case r.Err == nil:
			s += " ok"
			if n := len(r.Pods); n > 0 {
				s += fmt.Sprintf(" (%d pod%s)", n, plural(n))
			}
		}
		add(s, r.Err)
	}
	if !done {
		snapshot()
	}
	sep := ", "
	if failed {
		sep = "; "
	}
	return strings.Join(parts, sep)
}

// ranPre is whether any pre hook ran.
func (o Outcome) ranPre() bool {
	for _, r := range o.Results {
		if r.Phase == PhasePre {
			return true
		}
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
