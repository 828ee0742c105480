package forge

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/go-logr/logr"
)

// note is a comment as a provider lists it.
type note struct {
	ID   int64
	Body string
	URL  string
	// Author is the login of the comment's author.
	Author string
	// Discussion is the thread the note starts, on forges that need it to edit (GitLab).
	Discussion string
}

// thread is where comments are kept: a pull request's conversation or a commit's comments.
type thread interface {
	// what names the thread in errors: "pull request 4", "commit 1a2b3c4".
	what() string
	// list returns every comment, oldest first.
	list(ctx context.Context) ([]note, error)
	create(ctx context.Context, body string) (note, error)
	edit(ctx context.Context, n note, body string) (note, error)
	remove(ctx context.Context, n note) error
}

// upsert keeps one comment of the agent's in t. self is the agent's login, "" when the forge
// would not say (a GitHub App token): then any comment starting with the marker is taken.
func upsert(ctx context.Context, t thread, self, marker string, render Render) (Comment, error) {
	notes, err := t.list(ctx)
	if err != nil {
		return Comment{}, fmt.Errorf("list comments of %s: %w", t.what(), err)
	}
	var mine []note
	for _, n := range notes {
		if hasMarker(marker, n.Body) && (self == "" || n.Author == self) {
			mine = append(mine, n)
		}
	}
	if len(mine) == 0 {
		n, err := t.create(ctx, withMarker(marker, render("")))
		if err != nil {
			return Comment{}, fmt.Errorf("create comment on %s: %w", t.what(), err)
		}
		return Comment{ID: n.ID, URL: n.URL, Body: n.Body, Result: CommentCreated}, nil
	}
	keep := mine[0]
	// Copies come from a create that was retried after the forge had done it, or from two
	// agents racing: the oldest stays, the others go.
	for _, extra := range mine[1:] {
		if err := t.remove(ctx, extra); err != nil {
			logr.FromContextOrDiscard(ctx).Info("duplicate comment not deleted", "on", t.what(), "comment", extra.ID, "error", err.Error())
		}
	}
	body := withMarker(marker, render(keep.Body))
	if body == keep.Body {
		return Comment{ID: keep.ID, URL: keep.URL, Body: keep.Body, Result: CommentUnchanged}, nil
	}
	n, err := t.edit(ctx, keep, body)
	if err != nil {
		return Comment{}, fmt.Errorf("edit comment %d on %s: %w", keep.ID, t.what(), err)
	}
	if n.URL == "" {
		n.URL = keep.URL
	}
	return Comment{ID: keep.ID, URL: n.URL, Body: n.Body, Result: CommentUpdated}, nil
}

// selfCache remembers the login the token belongs to.
type selfCache struct {
	mu    sync.Mutex
	known bool
	login string
}

// get returns the login, asking fetch once. A token that may not read its own user (a GitHub
// App installation token gets 403) yields "", and comments are then matched by marker only.
func (c *selfCache) get(ctx context.Context, fetch func(context.Context) (string, error)) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.known {
		return c.login, nil
	}
	login, err := fetch(ctx)
	switch {
	case err == nil:
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrNotFound):
		logr.FromContextOrDiscard(ctx).V(1).Info("forge user unknown, matching comments by marker only", "error", err.Error())
		login = ""
	default:
		return "", fmt.Errorf("read the token's user: %w", err)
	}
	c.login, c.known = login, true
	return login, nil
}
