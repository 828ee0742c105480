#!/usr/bin/env bash
# Regenerates the commits signed by real git, gpg and ssh-keygen that verify_git_test.go
# checks, and the public keys that trust them. Private keys live only in a temporary directory.
# Run from this directory: ./generate.sh (needs git >= 2.34, gpg, ssh-keygen).
set -euo pipefail

out=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GNUPGHOME=$work/gnupg GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null
export GIT_AUTHOR_NAME=Alice GIT_AUTHOR_EMAIL=alice@example.com GIT_AUTHOR_DATE=2026-01-01T00:00:00Z
export GIT_COMMITTER_NAME=Alice GIT_COMMITTER_EMAIL=alice@example.com GIT_COMMITTER_DATE=2026-01-01T00:00:00Z
mkdir -m 700 "$GNUPGHOME"

gpg --batch --passphrase '' --quick-gen-key 'Pat Ed <pat@example.com>' ed25519 sign never 2>/dev/null
gpg --batch --passphrase '' --quick-gen-key 'Pat Rsa <pat.rsa@example.com>' rsa3072 sign never 2>/dev/null
gpg --armor --export > "$out/trusted.asc"

: > "$out/trusted_keys"
echo '# SSH keys allowed to sign failovers' >> "$out/trusted_keys"
for alg in ed25519 rsa ecdsa; do
	ssh-keygen -q -t "$alg" -N '' -C "sam-$alg@example.com" -f "$work/id_$alg"
	cat "$work/id_$alg.pub" >> "$out/trusted_keys"
done

git init -q "$work/repo"
cd "$work/repo"
commit() { # name, git options...
	local name=$1
	shift
	echo "failover: true # $name" > plan.yaml
	git add plan.yaml
	git "$@" commit -q -S -m "fail over ($name)"
	git cat-file commit HEAD > "$out/commit_$name.txt"
}
for alg in ed25519 rsa ecdsa; do
	commit "ssh_$alg" -c gpg.format=ssh -c user.signingkey="$work/id_$alg.pub"
done
for uid in pat@example.com pat.rsa@example.com; do
	fpr=$(gpg --list-keys --with-colons "$uid" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
	name=pgp_ed25519
	[ "$uid" = pat.rsa@example.com ] && name=pgp_rsa
	commit "$name" -c user.signingkey="$fpr"
done
