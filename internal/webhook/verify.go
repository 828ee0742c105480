package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// Headers the forges send.
const (
	headerGiteaEvent     = "X-Gitea-Event"
	headerGiteaSignature = "X-Gitea-Signature"
	headerGiteaDelivery  = "X-Gitea-Delivery"
	headerGitHubEvent    = "X-GitHub-Event"
	headerGitHubSig256   = "X-Hub-Signature-256"
	headerGitHubDelivery = "X-GitHub-Delivery"
	headerGitLabEvent    = "X-Gitlab-Event"
	headerGitLabToken    = "X-Gitlab-Token"
	headerGitLabDelivery = "X-Gitlab-Event-UUID"
)

var errSignature = errors.New("signature missing or wrong")

// sender tells which forge sent a delivery, its event name and delivery id. Gitea also sends
// GitHub's headers, so it is recognized first.
func sender(h http.Header) (forge Forge, event, delivery string, ok bool) {
	switch {
	case h.Get(headerGiteaEvent) != "":
		return Gitea, h.Get(headerGiteaEvent), h.Get(headerGiteaDelivery), true
	case h.Get(headerGitHubEvent) != "":
		return GitHub, h.Get(headerGitHubEvent), h.Get(headerGitHubDelivery), true
	case h.Get(headerGitLabEvent) != "":
		return GitLab, h.Get(headerGitLabEvent), h.Get(headerGitLabDelivery), true
	}
	return "", "", "", false
}

// verify checks a delivery's signature (Gitea, GitHub) or token (GitLab) against secret.
func verify(forge Forge, h http.Header, body, secret []byte) error {
	switch forge {
	case Gitea:
		return verifyHMAC(h.Get(headerGiteaSignature), body, secret)
	case GitHub:
		sig, ok := strings.CutPrefix(h.Get(headerGitHubSig256), "sha256=")
		if !ok {
			return errSignature
		}
		return verifyHMAC(sig, body, secret)
	case GitLab:
		// Hashing first makes the comparison constant-time in the length too.
		got, want := sha256.Sum256([]byte(h.Get(headerGitLabToken))), sha256.Sum256(secret)
		if h.Get(headerGitLabToken) == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return errSignature
		}
		return nil
	}
	return errSignature
}

// verifyHMAC checks a hex HMAC-SHA256 of body.
func verifyHMAC(sigHex string, body, secret []byte) error {
	sig, err := hex.DecodeString(strings.TrimSpace(sigHex))
	if err != nil || len(sig) != sha256.Size {
		return errSignature
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return errSignature
	}
	return nil
}

// Sign returns the hex HMAC-SHA256 of body, as Gitea sends it in X-Gitea-Signature and GitHub
// (prefixed with "sha256=") in X-Hub-Signature-256. Useful to test a deployment.
func Sign(body, secret []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
