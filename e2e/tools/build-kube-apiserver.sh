#!/usr/bin/env bash
# Builds the real kube-apiserver from the Go module proxy into $1 (a versioned cache directory).
#
# k8s.io/kubernetes cannot be required as-is: its go.mod replaces every k8s.io/* staging module
# with ./staging/src/k8s.io/X. A throwaway wrapper module requires k8s.io/kubernetes and rewrites
# each of those replaces to the published staging module v0.<minor>.<patch>.
set -euo pipefail
version="${KUBE_VERSION:?KUBE_VERSION is required, e.g. v1.34.4}"
out="${1:?usage: build-kube-apiserver.sh OUTDIR}"
if [[ -x "$out/kube-apiserver" ]]; then
  exit 0
fi
staging="v0.${version#v1.}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "building kube-apiserver $version (first run, about 4-6 minutes on 2 cores)..."
gomod="$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
goversion="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")"
{
  echo "module drplan.local/kube-apiserver-wrapper"
  echo
  echo "go $goversion"
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  echo "replace ("
  sed -n 's#^\s*\(k8s.io/[^ ]*\) => ./staging/src/k8s.io/.*#\t\1 => \1 '"$staging"'#p' "$gomod"
  echo ")"
} >"$work/go.mod"
cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
cd "$work"
GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/kube-apiserver@$version" >/dev/null
mkdir -p "$out"
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version" \
  -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$out/kube-apiserver.tmp" "$out/kube-apiserver"
echo "built $out/kube-apiserver in ${SECONDS}s"
