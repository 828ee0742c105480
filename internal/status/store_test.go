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

// FetchedPassAfter skips a pass that started before the request, however recently it ended,
// and a pass that started after it without fetching (one the caches triggered meanwhile).
func TestStoreFetchedPassAfter(t *testing.T) {
	asked := time.Now()
	for _, tc := range []struct {
		name string
		pass PassStatus
		want bool
	}{
		{"started before, fetched", PassStatus{At: asked.Add(-time.Second), Fetched: true}, false},
		{"started after, no fetch", PassStatus{At: asked.Add(time.Millisecond)}, false},
		{"started after, fetched", PassStatus{At: asked.Add(time.Millisecond), Fetched: true, Actions: 2}, true},
		{"started as asked, fetched", PassStatus{At: asked, Fetched: true, Actions: 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Store
			s.Set(Status{LastPass: tc.pass})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			st, err := s.FetchedPassAfter(ctx, asked)
			if got := err == nil; got != tc.want {
				t.Fatalf("FetchedPassAfter = %+v, %v; want a pass: %v", st.LastPass, err, tc.want)
			}
			if tc.want && st.LastPass.Actions != tc.pass.Actions {
				t.Errorf("FetchedPassAfter = %+v, want %+v", st.LastPass, tc.pass)
			}
		})
	}
}

// FetchedPassAfter waits through passes that do not count for the one that does.
func TestStoreFetchedPassAfterWaits(t *testing.T) {
	var s Store
	asked := time.Now()
	done := make(chan Status, 1)
	go func() {
		st, err := s.FetchedPassAfter(context.Background(), asked)
		if err != nil {
			t.Error(err)
		}
		done <- st
	}()
	s.Set(Status{LastPass: PassStatus{At: asked.Add(time.Millisecond), Actions: 1}})
	s.Set(Status{LastPass: PassStatus{At: asked.Add(2 * time.Millisecond), Fetched: true, Actions: 2}})
	select {
	case st := <-done:
		if st.LastPass.Actions != 2 {
			t.Errorf("FetchedPassAfter = %+v", st.LastPass)
		}
	case <-time.After(time.Minute):
		t.Fatal("FetchedPassAfter did not return after the fetched pass")
	}
}
