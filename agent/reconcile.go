package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// ReconcileTimeout bounds how long POST /reconcile waits for its pass.
const ReconcileTimeout = 2 * time.Minute

// ReconcileResult is what POST /reconcile answers once the pass it asked for is done.
type ReconcileResult struct {
	Revision string   `json:"revision"`
	Actions  int      `json:"actions"`
	Errors   []string `json:"errors,omitempty"`
	Duration string   `json:"duration"`
}

// reconcile serves POST /reconcile on the status listener (drplan reconcile): fetch the plans
// repository and run a pass now, as a webhook would, and answer once a pass that started after
// the request, and fetched first, is done. A replica that does not lead answers 503.
func (a *Agent) reconcile(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: POST", http.StatusMethodNotAllowed)
		return
	}
	if !a.status.Get().Leading {
		http.Error(w, "this replica does not lead: ask the leader (its status endpoint says leading: true)", http.StatusServiceUnavailable)
		return
	}
	asked := time.Now()
	a.fetchNow()
	ctx, cancel := context.WithTimeout(r.Context(), ReconcileTimeout)
	defer cancel()
	st, err := a.status.FetchedPassAfter(ctx, asked)
	if err != nil {
		http.Error(w, "no pass finished within "+ReconcileTimeout.String()+": "+err.Error(), http.StatusGatewayTimeout)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ReconcileResult{Revision: st.Source.Revision, Actions: st.LastPass.Actions, Errors: st.LastPass.Errors, Duration: st.LastPass.Duration})
}
