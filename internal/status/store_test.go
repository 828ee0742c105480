package status

import (
	"context"
	"testing"
	"time"
)

func TestStoreAfter(t *testing.T) {
	var s Store
	seq := s.Seq()
	s.Set(Status{LastPass: PassStatus{Actions: 1}})
	st, n, err := s.After(context.Background(), seq)
	if err != nil || n != seq+1 || st.LastPass.Actions != 1 || !st.Leading {
		t.Fatalf("After = %+v, %d, %v", st, n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := s.After(ctx, n); err == nil {
		t.Error("After returned without a new Set")
	}
}

// PassAfter skips a pass that started before the request, however recently it ended.
func TestStorePassAfter(t *testing.T) {
	var s Store
	asked := time.Now()
	s.Set(Status{LastPass: PassStatus{At: asked.Add(-time.Second), Actions: 1}})
	done := make(chan Status, 1)
	go func() {
		st, err := s.PassAfter(context.Background(), asked)
		if err != nil {
			t.Error(err)
		}
		done <- st
	}()
	select {
	case st := <-done:
		t.Fatalf("PassAfter returned a pass that started before: %+v", st)
	case <-time.After(50 * time.Millisecond):
	}
	s.Set(Status{LastPass: PassStatus{At: asked.Add(time.Millisecond), Actions: 2}})
	select {
	case st := <-done:
		if st.LastPass.Actions != 2 {
			t.Errorf("PassAfter = %+v", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("PassAfter did not return after the pass")
	}
}
