package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/go-logr/logr"
)

// Defaults for Options.
const (
	// DefaultMaxBodyBytes bounds a delivery's body. GitHub caps payloads at 25 MB, but the
	// fields drplan reads come first and large pushes are rare for a plans repository.
	DefaultMaxBodyBytes int64 = 5 << 20
	// DefaultMaxPending bounds the refs and pull requests waiting for the callback.
	DefaultMaxPending = 1024
)

// Options configure a Handler.
type Options struct {
	// Secret is the shared secret set on the forge's webhook. Required.
	Secret []byte
	// OnEvent receives accepted events, one at a time, from Start's goroutine. Required.
	OnEvent func(Event)
	// MaxBodyBytes bounds a delivery's body; DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
	// MaxPending bounds the distinct refs and pull requests waiting; DefaultMaxPending when zero.
	MaxPending int
	// Log receives one line per rejected delivery and, at V(1), per accepted one.
	Log logr.Logger
}

// Handler is an http.Handler for forge webhooks. Mount it on one path (say /hooks/git) and
// run Start.
type Handler struct {
	opts  Options
	queue *queue
	seen  *recent
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler; deliveries queue until Start runs.
func New(opts Options) (*Handler, error) {
	if len(opts.Secret) == 0 {
		return nil, errors.New("webhook handler: secret is required")
	}
	if opts.OnEvent == nil {
		return nil, errors.New("webhook handler: event callback is required")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	return &Handler{opts: opts, queue: newQueue(opts.MaxPending), seen: newRecent(recentDeliveries)}, nil
}

// Start delivers queued events to OnEvent until ctx is done (a controller-runtime Runnable).
func (h *Handler) Start(ctx context.Context) error {
	h.queue.run(ctx, h.opts.OnEvent)
	return nil
}

// ServeHTTP checks and queues one delivery. It answers 202 for accepted and ignored events,
// 401 for a bad signature, 400 for an unknown sender or payload, 405 for other methods,
// 413 for a body over the bound, and 503 when the queue is full.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reply(w, r, http.StatusMethodNotAllowed, "only POST", nil)
		return
	}
	forge, event, delivery, ok := sender(r.Header)
	if !ok {
		h.reply(w, r, http.StatusBadRequest, "not a Gitea, GitHub or GitLab delivery", &h.opts.Log)
		return
	}
	log := h.opts.Log.WithValues("forge", forge, "event", event, "delivery", delivery)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		h.reply(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", h.opts.MaxBodyBytes), &log)
		return
	case err != nil:
		h.reply(w, r, http.StatusBadRequest, "read body", &log)
		return
	}
	if err := verify(forge, r.Header, body, h.opts.Secret); err != nil {
		h.reply(w, r, http.StatusUnauthorized, err.Error(), &log)
		return
	}
	kind, err := kindOf(forge, event)
	if err != nil {
		log.V(1).Info("webhook event ignored")
		h.reply(w, r, http.StatusAccepted, "ignored event "+event, nil)
		return
	}
	if body, err = jsonBody(r.Header.Get("Content-Type"), body); err != nil {
		h.reply(w, r, http.StatusBadRequest, err.Error(), &log)
		return
	}
	e, err := parse(forge, kind, body)
	if err != nil {
		h.reply(w, r, http.StatusBadRequest, err.Error(), &log)
		return
	}
	e.Delivery = delivery
	if delivery != "" && !h.seen.add(delivery+"\x00"+string(sha256Sum(body))) {
		// A replay (the forge's redelivery, or someone resending a captured request): the
		// event was taken already. Harmless either way: an event only asks for a fetch.
		log.V(1).Info("webhook delivery replayed: ignored")
		h.reply(w, r, http.StatusAccepted, "delivery "+delivery+" received already", nil)
		return
	}
	coalesced, ok := h.queue.add(e)
	if !ok {
		h.reply(w, r, http.StatusServiceUnavailable, "too many pending events", &log)
		return
	}
	log.V(1).Info("webhook event queued", "kind", e.Kind, "repo", e.Repo, "ref", e.Ref, "after", e.After,
		"pr", e.PRNumber, "coalesced", coalesced)
	h.reply(w, r, http.StatusAccepted, fmt.Sprintf("queued %s %s", e.Kind, e.key()), nil)
}

// jsonBody returns the JSON payload of a delivery: the body itself, or GitHub's form-encoded
// "payload" field.
func jsonBody(contentType string, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		return nil, errors.New("form-encoded delivery without a payload field")
	}
	return []byte(form.Get("payload")), nil
}

// reply writes a one-line answer; rejections are logged when log is set.
func (h *Handler) reply(w http.ResponseWriter, r *http.Request, code int, msg string, log *logr.Logger) {
	if log != nil {
		log.Info("webhook delivery rejected", "status", code, "reason", msg, "remote", r.RemoteAddr)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
