package cluster

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/internal/planstatus"
)

// The plans' status objects (planstatus.DRPlanStatus) live in a cache of their own: their CRD
// is drplan's, installed with the agent, and may be missing from a cluster (an install that
// predates it, a cluster nobody installed it in). Without it the other caches sync as ever and
// the agent writes no status object there; with it installed later, the cache starts then.

// statusRetry is how often a cluster without the DRPlanStatus CRD is asked again.
const statusRetry = time.Minute

// oursSelector selects drplan's own objects.
func oursSelector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{observed.ManagedByLabel: observed.ManagedByValue})
}

// runStatusCache starts the status objects' cache once their kind is served, and marks it
// synced.
func (c *Cluster) runStatusCache(ctx context.Context) {
	log := logr.FromContextOrDiscard(ctx).WithValues("cluster", c.opts.Name)
	logged := false
	for {
		_, err := c.statusCache.GetInformer(ctx, &planstatus.DRPlanStatus{}, cache.BlockUntilSynced(false))
		if err == nil {
			break
		}
		if !logged {
			log.Info("no status objects in this cluster until the DRPlanStatus CRD is served there (not installed, or the cluster does not answer); asking again every minute",
				"crd", planstatus.CRDName, "error", err.Error())
			logged = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(statusRetry):
		}
	}
	go func() {
		if err := c.statusCache.Start(ctx); err != nil {
			log.Error(err, "status object cache stopped")
		}
	}()
	if c.statusCache.WaitForCacheSync(ctx) {
		c.statusSynced.Store(true)
		log.Info("status object cache synced")
		if c.opts.OnChange != nil {
			c.opts.OnChange()
		}
	}
}

// readPlanStatuses adds the status objects to s when their cache synced.
func (c *Cluster) readPlanStatuses(ctx context.Context, s *observed.State) error {
	if !c.statusSynced.Load() {
		return nil
	}
	var l planstatus.DRPlanStatusList
	if err := c.statusCache.List(ctx, &l, client.InNamespace(c.opts.LonghornNamespace), client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	s.PlanStatuses, s.PlanStatusesKnown = l.Items, true
	return nil
}
