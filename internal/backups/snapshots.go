package backups

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/hooks"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/plans"
)

// FieldManager is the field manager of what this package writes.
const FieldManager = planner.ManagedByValue

// DefaultSnapshotTimeout bounds how long snapshots are waited for between the hooks: Longhorn
// attaches a detached volume to take its snapshot (REFERENCE §10.9), which takes seconds.
const DefaultSnapshotTimeout = 2 * time.Minute

// SnapshotTimeout is how long the snapshots between h's hooks may take: h's snapshotTimeout,
// DefaultSnapshotTimeout without hooks.
func SnapshotTimeout(h *plans.BackupHooks) time.Duration {
	if h != nil && h.SnapshotTimeout.Duration > 0 {
		return h.SnapshotTimeout.Duration
	}
	return DefaultSnapshotTimeout
}

// pollInterval is how often a Snapshot CR is read while it is being taken.
const pollInterval = 250 * time.Millisecond

// Hooked takes snaps between h's hooks in the cluster of c: pre hooks, then every snapshot
// created and waited for until taken (bounded by timeout), then post hooks. The snapshots taken
// are annotated with their consistency and the hooks' summary; when not all were taken, those
// not taken are deleted (Longhorn would take them later, outside the hooks). The outcome's Err
// says what failed.
func Hooked(ctx context.Context, r *hooks.Runner, h *plans.BackupHooks, snaps []*longhorn.Snapshot, timeout time.Duration) hooks.Outcome {
	out := r.Around(ctx, h, func(ctx context.Context) error { return Take(ctx, r.Client, snaps, timeout) })
	consistency := plans.CrashConsistent
	if out.Consistent {
		consistency = plans.ApplicationConsistent
	}
	summary := out.Summary()
	var errs []error
	switch {
	case !out.Taken && errors.Is(out.TakeErr, hooks.ErrNotTaken):
		// None was created.
	case !out.Taken:
		// Not taken between the hooks: one Longhorn took later would not be what the hooks
		// quiesced. Those not taken go; the next attempt runs the hooks again.
		errs = append(errs, dropUntaken(ctx, r.Client, snaps))
	default:
		for _, s := range snaps {
			errs = append(errs, annotate(ctx, r.Client, s, consistency, summary))
		}
	}
	if err := errors.Join(errs...); err != nil && out.TakeErr == nil {
		out.TakeErr = err
		out.Taken = false
	}
	return out
}

// Take creates each Snapshot CR (one that exists already is kept) and waits until each is
// taken (readyToUse) or failed, at most timeout. It fails when any is not taken.
func Take(ctx context.Context, c client.Client, snaps []*longhorn.Snapshot, timeout time.Duration) error {
	for _, s := range snaps {
		if err := c.Create(ctx, s.DeepCopy(), client.FieldOwner(FieldManager)); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create Snapshot %s of volume %s: %w", s.Name, s.Spec.Volume, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pending := map[string]*longhorn.Snapshot{}
	for _, s := range snaps {
		pending[s.Name] = s
	}
	var failed []string
	for {
		for name, s := range pending {
			var got longhorn.Snapshot
			err := c.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: name}, &got)
			switch {
			case err != nil && ctx.Err() == nil:
				return fmt.Errorf("read Snapshot %s: %w", name, err)
			case got.Status.ReadyToUse:
				delete(pending, name)
			case got.Status.Error != "" && !longhorn.SnapshotWaitsForAttachment(&got):
				failed = append(failed, fmt.Sprintf("Snapshot %s of volume %s failed: %s", name, s.Spec.Volume, got.Status.Error))
				delete(pending, name)
			}
		}
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			names := make([]string, 0, len(pending))
			for name := range pending {
				names = append(names, name)
			}
			return fmt.Errorf("snapshots not taken within %s: %s", timeout, strings.Join(names, ", "))
		case <-time.After(pollInterval):
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// dropUntaken deletes the Snapshot CRs of snaps that are not taken.
func dropUntaken(ctx context.Context, c client.Client, snaps []*longhorn.Snapshot) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, s := range snaps {
		var got longhorn.Snapshot
		if err := c.Get(ctx, client.ObjectKeyFromObject(s), &got); err != nil {
			errs = append(errs, client.IgnoreNotFound(err))
			continue
		}
		if !got.Status.ReadyToUse {
			errs = append(errs, client.IgnoreNotFound(c.Delete(ctx, &got)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete the snapshots not taken: %w", err)
	}
	return nil
}

// annotate records on a Snapshot CR what it captured and the hooks around it.
func annotate(ctx context.Context, c client.Client, s *longhorn.Snapshot, consistency plans.Consistency, summary string) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q,%q:%q}}}`,
		planner.LabelConsistency, string(consistency), planner.AnnotationHooks, truncate(summary, 1024))
	obj := &longhorn.Snapshot{}
	obj.Name, obj.Namespace = s.Name, s.Namespace
	if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch)), client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("annotate Snapshot %s: %w", s.Name, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
