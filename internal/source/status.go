package source

import (
	"time"

	"github.com/go-logr/logr"
)

// Status describes the outcome of the recent Fetch calls.
type Status struct {
	// Revision is the last good revision, served while fetches fail.
	Revision string
	// LastSuccess is when a Fetch last succeeded.
	LastSuccess time.Time
	// FailingSince is when the current run of failures began; zero when the last Fetch succeeded.
	FailingSince time.Time
	// Failures counts consecutive failed Fetch calls; feed it to Backoff.Delay.
	Failures int
	// LastError is the last Fetch error (redacted), nil after a success.
	LastError error
}

// fail records a failed Fetch and returns the last good snapshot with the redacted error.
// Without one yet, a revision left in the cache by an earlier run serves as last good.
func (s *Source) fail(log logr.Logger, op string, cause error) (Snapshot, bool, error) {
	err := s.red.wrap(op, cause)
	changed := false
	if s.last.IsZero() && s.repo != nil {
		if h, rerr := resolve(s.repo, s.tracked); rerr == nil {
			if snap, rerr := readSnapshot(s.repo, h, s.tracked.ref, s.s.path, s.s.MaxBytes); rerr == nil {
				log.Info("using the cached revision while fetches fail", "revision", snap.Revision)
				s.last, changed = snap, true
			}
		}
	}
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	if s.status.Failures == 0 {
		s.status.FailingSince = s.s.now()
	}
	s.status.Failures++
	s.status.LastError = err
	s.status.Revision = s.last.Revision
	return s.last, changed, err
}

func (s *Source) succeed() {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	s.status = Status{Revision: s.last.Revision, LastSuccess: s.s.now()}
}

// Status returns the outcome of the recent fetches. It does not wait for a running Fetch.
func (s *Source) Status() Status {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	return s.status
}
