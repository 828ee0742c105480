#!/usr/bin/env bash
# Builds the real Gitea server from the Go module proxy into $1 (a versioned cache directory),
# next to a copy of its options/ and templates/ folders (STATIC_ROOT_PATH needs them: locales).
#
# A throwaway wrapper module requires code.gitea.io/gitea and copies its replace lines, which
# a dependent module would otherwise ignore.
set -euo pipefail
version="${GITEA_VERSION:?GITEA_VERSION is required, e.g. v1.26.0}"
out="${1:?usage: build-gitea.sh OUTDIR}"
if [[ -x "$out/gitea" && -d "$out/static/options" ]]; then
  exit 0
fi
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
echo "building gitea $version (first run, about 5-8 minutes on 2 cores)..."
info="$(go mod download -json "code.gitea.io/gitea@$version")"
gomod="$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' <<<"$info")"
dir="$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' <<<"$info")"
goversion="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")"
{
  echo "module drplan.local/gitea-wrapper"
  echo
  echo "go $goversion"
  echo
  echo "require code.gitea.io/gitea $version"
  echo
  grep '^replace ' "$gomod" | sed 's#//.*##'
} >"$work/go.mod"
cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "code.gitea.io/gitea"
GO
cd "$work"
GOFLAGS=-mod=mod go get "code.gitea.io/gitea@$version" >/dev/null
mkdir -p "$out/static"
CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath -tags 'sqlite sqlite_unlock_notify' \
  -ldflags "-s -w -X main.Version=${version#v}" -o "$out/gitea.tmp" code.gitea.io/gitea
rm -rf "$out/static/options" "$out/static/templates"
cp -r "$dir/options" "$dir/templates" "$out/static/"
chmod -R u+w "$out/static"
mv "$out/gitea.tmp" "$out/gitea"
echo "built $out/gitea in ${SECONDS}s"
