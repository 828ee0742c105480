package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errIgnored marks an event the handler does not act on.
var errIgnored = errors.New("event ignored")

// payload holds the fields drplan reads from Gitea's and GitHub's push and pull_request
// payloads (the shapes are the same) and from GitLab's push and merge request hooks.
type payload struct {
	// Gitea, GitHub and GitLab pushes.
	Ref    string `json:"ref"`
	Before string `json:"before"`
	After  string `json:"after"`
	// Gitea and GitHub.
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest *struct {
		Number int  `json:"number"`
		Merged bool `json:"merged"`
		Head   struct {
			Ref string `json:"ref"`
			SHA string `json:"sha"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
		} `json:"base"`
	} `json:"pull_request"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	// GitLab.
	ObjectKind string `json:"object_kind"`
	Project    struct {
		PathWithNamespace string `json:"path_with_namespace"`
	} `json:"project"`
	ObjectAttributes *struct {
		IID          int    `json:"iid"`
		Action       string `json:"action"`
		State        string `json:"state"`
		TargetBranch string `json:"target_branch"`
		LastCommit   struct {
			ID string `json:"id"`
		} `json:"last_commit"`
	} `json:"object_attributes"`
}

// kindOf maps a forge's event name to a Kind, or errIgnored.
func kindOf(forge Forge, event string) (Kind, error) {
	switch forge {
	case Gitea, GitHub:
		switch event {
		case "push":
			return Push, nil
		case "pull_request":
			return PullRequest, nil
		}
	case GitLab:
		switch event {
		case "Push Hook", "Tag Push Hook":
			return Push, nil
		case "Merge Request Hook":
			return PullRequest, nil
		}
	}
	return "", errIgnored
}

// parse decodes a delivery's JSON body into an Event.
func parse(forge Forge, kind Kind, body []byte) (Event, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("decode %s %s payload: %w", forge, kind, err)
	}
	e := Event{Forge: forge, Kind: kind, Repo: p.Repository.FullName}
	if forge == GitLab {
		e.Repo = p.Project.PathWithNamespace
	}
	switch {
	case kind == Push:
		e.Ref, e.Before, e.After = p.Ref, p.Before, p.After
		if !strings.HasPrefix(e.Ref, "refs/") || e.After == "" {
			return Event{}, fmt.Errorf("decode %s push payload: ref or after missing", forge)
		}
	case forge == GitLab:
		a := p.ObjectAttributes
		if a == nil || a.IID <= 0 || a.LastCommit.ID == "" || a.TargetBranch == "" {
			return Event{}, errors.New("decode gitlab merge request payload: object_attributes incomplete")
		}
		e.PRNumber, e.After, e.Action = a.IID, a.LastCommit.ID, a.Action
		e.Ref = "refs/heads/" + a.TargetBranch
		e.PRHead = "refs/merge-requests/" + strconv.Itoa(a.IID) + "/head"
		e.Merged = a.Action == "merge" || a.State == "merged"
	default:
		pr := p.PullRequest
		if pr == nil || pr.Head.SHA == "" || pr.Base.Ref == "" {
			return Event{}, fmt.Errorf("decode %s pull_request payload: pull_request incomplete", forge)
		}
		e.PRNumber = p.Number
		if e.PRNumber == 0 {
			e.PRNumber = pr.Number
		}
		if e.PRNumber <= 0 {
			return Event{}, fmt.Errorf("decode %s pull_request payload: number missing", forge)
		}
		e.After, e.Action, e.Merged = pr.Head.SHA, p.Action, pr.Merged
		e.Ref = "refs/heads/" + pr.Base.Ref
		e.PRHead = "refs/pull/" + strconv.Itoa(e.PRNumber) + "/head"
	}
	return e, nil
}
