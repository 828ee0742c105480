package longhornsim

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/drplan/drplan/internal/longhorn"
)

// Attachment tickets (REFERENCE §10.9; snapshot_controller.go and backup_controller.go
// handleAttachmentTicketCreation and handleAttachmentTicketDeletion): a Snapshot CR still to be
// taken and a Backup CR still to be uploaded each hold a ticket on their volume, and the volume
// is attached while any ticket, the restore controller (restoreRequired) or a workload
// (spec.nodeID) wants it, then detached again. So every snapshot and every backup of a detached
// volume costs an attach and a detach, each taking Latencies.Attach and Latencies.Detach.
// Longhorn keeps the tickets in a VolumeAttachment CR, a kind drplan's CRDs do not hold: the
// simulator keeps them in memory, and the controllers that hold them take them again on their
// next reconcile after a restart.

// Attacher types of the tickets (longhorn.AttacherType*).
const (
	attacherSnapshotController = "snapshot-controller"
	attacherBackupController   = "backup-controller"
)

// attachmentPoll is how often a Backup waiting for its volume's attachment looks again (Longhorn
// returns an error and the work queue retries with backoff).
const attachmentPoll = 200 * time.Millisecond

// ticketID is longhorn.GetAttachmentTicketID: "<attacher type>-<id>".
func ticketID(attacher, id string) string { return attacher + "-" + id }

// addTicket puts a ticket on a volume and wakes the volume controller when it is new.
func (s *Sim) addTicket(volume, id string) {
	s.mu.Lock()
	t := s.tickets[volume]
	if t == nil {
		t = map[string]bool{}
		s.tickets[volume] = t
	}
	added := !t[id]
	t[id] = true
	s.mu.Unlock()
	if added {
		s.log.V(1).Info("attachment ticket created", "volume", volume, "ticket", id)
		s.wakeVolume(volume)
	}
}

// removeTicket takes a ticket off a volume and wakes the volume controller when it was there.
func (s *Sim) removeTicket(volume, id string) {
	s.mu.Lock()
	removed := s.tickets[volume][id]
	delete(s.tickets[volume], id)
	if len(s.tickets[volume]) == 0 {
		delete(s.tickets, volume)
	}
	s.mu.Unlock()
	if removed {
		s.log.V(1).Info("attachment ticket deleted", "volume", volume, "ticket", id)
		s.wakeVolume(volume)
	}
}

// hasTickets reports whether a ticket wants the volume attached.
func (s *Sim) hasTickets(volume string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tickets[volume]) > 0
}

// wakeVolume enqueues a volume for the volume controller.
func (s *Sim) wakeVolume(volume string) {
	s.mu.Lock()
	ctx := s.runCtx
	s.mu.Unlock()
	if ctx == nil {
		return
	}
	v := &longhorn.Volume{}
	v.Name, v.Namespace = volume, s.opts.Namespace
	select {
	case s.volumeEvents <- event.GenericEvent{Object: v}:
	case <-ctx.Done():
	}
}

// engineRunning reports whether the volume's engine runs, as the snapshot and backup
// controllers check before they use it (an attached volume's engine runs).
func (s *Sim) engineRunning(ctx context.Context, volume string) (bool, error) {
	var e longhorn.Engine
	err := s.mgr.GetClient().Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: longhorn.EngineName(volume)}, &e)
	if err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return e.Status.CurrentState == instanceRunning, nil
}
