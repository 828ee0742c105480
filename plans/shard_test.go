package plans

import (
	"slices"
	"testing"
)

func TestShardSelects(t *testing.T) {
	plan := func(name string, labels map[string]string) *Plan {
		return &Plan{DRPlan: DRPlan{Metadata: Metadata{Name: name, Labels: labels}}}
	}
	for _, tc := range []struct {
		name     string
		selector string
		names    []string
		plan     *Plan
		want     bool
	}{
		{"everything", "", nil, plan("shop", nil), true},
		{"label matches", "drplan.io/shard=eu", nil, plan("shop", map[string]string{"drplan.io/shard": "eu"}), true},
		{"label differs", "drplan.io/shard=eu", nil, plan("shop", map[string]string{"drplan.io/shard": "us"}), false},
		{"label missing", "drplan.io/shard=eu", nil, plan("shop", nil), false},
		{"set-based", "tier in (gold,silver)", nil, plan("shop", map[string]string{"tier": "silver"}), true},
		{"not in", "tier notin (gold)", nil, plan("shop", nil), true},
		{"name glob", "", []string{"pay-*"}, plan("pay-eu", nil), true},
		{"name glob misses", "", []string{"pay-*"}, plan("shop", nil), false},
		{"second name", "", []string{"pay-*", "shop"}, plan("shop", nil), true},
		{"both must match", "tier=gold", []string{"shop"}, plan("shop", map[string]string{"tier": "bronze"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseShard(tc.selector, tc.names)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Selects(tc.plan); got != tc.want {
				t.Errorf("Selects = %t, want %t", got, tc.want)
			}
		})
	}
}

func TestParseShardErrors(t *testing.T) {
	if _, err := ParseShard("tier in (gold", nil); err == nil {
		t.Error("a broken selector parsed")
	}
	if _, err := ParseShard("", []string{"pay-["}); err == nil {
		t.Error("a broken name pattern parsed")
	}
}

func TestSetSplit(t *testing.T) {
	set := &Set{Plans: []*Plan{
		{DRPlan: DRPlan{Metadata: Metadata{Name: "a", Labels: map[string]string{"shard": "one"}}}},
		{DRPlan: DRPlan{Metadata: Metadata{Name: "b", Labels: map[string]string{"shard": "two"}}}},
		{DRPlan: DRPlan{Metadata: Metadata{Name: "c"}}},
	}, Unplaced: []Problem{{Message: "x"}}}
	s, err := ParseShard("shard=one", nil)
	if err != nil {
		t.Fatal(err)
	}
	mine, others := set.Split(s)
	if got := mine.Names(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("mine = %v", got)
	}
	if !slices.Equal(others, []string{"b", "c"}) {
		t.Errorf("others = %v", others)
	}
	if mine.Complete() {
		t.Error("the shard's set lost the tree's unplaced problems")
	}
}
