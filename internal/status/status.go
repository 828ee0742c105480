package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/planstatus"
)

// Status is what the agent serves on its status endpoint (GET /status) and what `drplan status`
// prints.
type Status struct {
	// UpdatedAt is when the last pass finished; zero before the first.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// Leading is false on a replica that does not hold the lease: it serves no plan status.
	Leading bool `json:"leading"`
	// Source is the plans repo.
	Source SourceStatus `json:"source"`
	// Clusters is every configured cluster's reachability.
	Clusters map[string]planner.ClusterReport `json:"clusters"`
	// Plans is every plan, valid or not.
	Plans []planner.PlanReport `json:"plans"`
	// Problems are every validation problem of the revision in force, FILE:LINE:COL: FIELD: MESSAGE.
	Problems []string `json:"problems,omitempty"`
	// LastPass is the last pass.
	LastPass PassStatus `json:"lastPass"`
	// Objects are the plans' status objects, read from the cluster ObjectsFrom: what a replica
	// that does not lead serves, and what drplan status shows when no agent answers.
	Objects     []planstatus.DRPlanStatus `json:"statusObjects,omitempty"`
	ObjectsFrom string                    `json:"statusObjectsFrom,omitempty"`
}

// SourceStatus is the plans repo's state.
type SourceStatus struct {
	URL         string    `json:"url"`
	Revision    string    `json:"revision,omitempty"`
	CommittedAt time.Time `json:"committedAt,omitzero"`
	Message     string    `json:"message,omitempty"`
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	// FailingSince is when fetches started failing; the revision in force is the last good one.
	FailingSince time.Time `json:"failingSince,omitzero"`
	Error        string    `json:"error,omitempty"`
}

// PassStatus is one pass.
type PassStatus struct {
	At       time.Time `json:"at,omitzero"`
	Duration string    `json:"duration,omitempty"`
	Actions  int       `json:"actions"`
	Errors   []string  `json:"errors,omitempty"`
	// Fetched says the pass fetched the plans repository before it decided.
	Fetched bool `json:"fetched,omitempty"`
}

// Store holds the latest status and serves it as JSON. Its zero value serves an empty status
// of a replica that does not lead.
type Store struct {
	mu sync.RWMutex
	st Status
	// seq counts Sets; set is closed, and replaced, on every Set.
	seq uint64
	set chan struct{}
}

// Set replaces the status with the leader's newest.
func (s *Store) Set(st Status) {
	st.Leading = true
	s.mu.Lock()
	s.st = st
	s.seq++
	if s.set != nil {
		close(s.set)
	}
	s.set = make(chan struct{})
	s.mu.Unlock()
}

// Seq is how many times the status was set.
func (s *Store) Seq() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.seq
}

// After waits until the status was set more than seq times and returns the newest with its
// sequence number.
func (s *Store) After(ctx context.Context, seq uint64) (Status, uint64, error) {
	for {
		s.mu.Lock()
		if s.seq > seq {
			st, n := s.st, s.seq
			s.mu.Unlock()
			return st, n, nil
		}
		if s.set == nil {
			s.set = make(chan struct{})
		}
		wait := s.set
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return Status{}, seq, ctx.Err()
		}
	}
}

// FetchedPassAfter waits for the end of the first pass that started at or after t and fetched
// the plans repository first (a pass the caches triggered meanwhile does not count).
func (s *Store) FetchedPassAfter(ctx context.Context, t time.Time) (Status, error) {
	seq := uint64(0)
	for {
		st, n, err := s.After(ctx, seq)
		if err != nil {
			return st, err
		}
		if st.LastPass.Fetched && !st.LastPass.At.Before(t) {
			return st, nil
		}
		seq = n
	}
}

// Get returns the status last set. Plans is an empty list, never null, before the first pass.
func (s *Store) Get() Status {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.st
	if st.Plans == nil {
		st.Plans = []planner.PlanReport{}
	}
	return st
}

// Handler serves the status as JSON: the store's while this replica leads, else the one
// follower builds (the plans' status objects, read from a cluster); follower may be nil.
func (s *Store) Handler(follower func(context.Context) Status) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		st := s.Get()
		if !st.Leading && follower != nil {
			st = follower(r.Context())
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
	})
}

// ServeHTTP serves the store's status as JSON.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.Handler(nil).ServeHTTP(w, r) }

// Fetch reads a running agent's status from its status listener addr (HOST:PORT; an
// unspecified host means this machine), returning it decoded and as served.
func Fetch(ctx context.Context, addr string) (Status, []byte, error) {
	var st Status
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return st, nil, fmt.Errorf("status address %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/status"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return st, nil, fmt.Errorf("read status from %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, nil, fmt.Errorf("read status from %s (is the agent running?): %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return st, nil, fmt.Errorf("read status from %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return st, nil, fmt.Errorf("read status from %s: %s", url, resp.Status)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, nil, fmt.Errorf("read status from %s: %w", url, err)
	}
	return st, raw, nil
}
