package forge

import "testing"

func TestShardContext(t *testing.T) {
	if got := ShardContext(""); got != ValidateContext {
		t.Errorf("ShardContext(\"\") = %q, want %q", got, ValidateContext)
	}
	if got := ShardContext("eu"); got != "drplan/validate/eu" {
		t.Errorf("ShardContext(eu) = %q", got)
	}
}
