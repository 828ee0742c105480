package plans

import (
	"fmt"
	"path"

	"k8s.io/apimachinery/pkg/labels"
)

// Shard selects the plans one of several agents drives: those whose labels match Selector
// and whose name matches one of Names. An empty Selector or Names matches every plan.
type Shard struct {
	Selector labels.Selector
	Names    []string
}

// ParseShard builds a Shard from a Kubernetes label selector (such as "drplan.io/shard=eu" or
// "tier in (gold,silver)") and name patterns (path.Match globs, such as "payments-*").
func ParseShard(selector string, names []string) (Shard, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return Shard{}, fmt.Errorf("label selector %q: %w", selector, err)
	}
	for _, n := range names {
		if _, err := path.Match(n, ""); err != nil {
			return Shard{}, fmt.Errorf("name pattern %q: %w", n, err)
		}
	}
	return Shard{Selector: sel, Names: names}, nil
}

// Selects reports whether the shard drives plan p.
func (s Shard) Selects(p *Plan) bool {
	if s.Selector != nil && !s.Selector.Matches(labels.Set(p.Metadata.Labels)) {
		return false
	}
	if len(s.Names) == 0 {
		return true
	}
	for _, n := range s.Names {
		if ok, _ := path.Match(n, p.Name()); ok {
			return true
		}
	}
	return false
}

// Split divides the set into the plans the shard drives and the names of the others: those
// are still known (another shard drives them), never taken for removed from Git.
func (s *Set) Split(shard Shard) (mine *Set, others []string) {
	mine = &Set{Unplaced: s.Unplaced}
	for _, p := range s.Plans {
		if shard.Selects(p) {
			mine.Plans = append(mine.Plans, p)
		} else {
			others = append(others, p.Name())
		}
	}
	return mine, others
}
