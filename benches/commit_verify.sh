#!/usr/bin/env bash
# Wall time of verifying signed commits (not a test; figures go into docs/performance.md):
#
#   ssh verify-commit      git verify-commit of an ssh-signed commit (gpg.ssh.allowedSignersFile)
#   signet verify-commit   git verify-commit of a signet-signed commit (git runs signet --verify)
#   signet verify (each)   signet verify BASE..HEAD over C signet-signed commits, per commit
#
# Usage: benches/commit_verify.sh [-n RUNS] [-c COMMITS] [--signet PATH] [--teststack PATH]
#
# Signing needs a Sigstore stack, started as in commit_sign.sh (a local signet-teststack unless
# SIGNET_FULCIO_URL, SIGNET_REKOR_URL, SIGNET_TRUSTED_ROOT and SIGSTORE_ID_TOKEN are set);
# verification itself is offline. git runs hermetically. One warm-up run per mode is not
# counted. Requires: git, ssh-keygen, date with %N (GNU coreutils).
set -euo pipefail

runs=20
commits=100
signet=""
teststack=""
while [ $# -gt 0 ]; do
    case "$1" in
        -n) runs="$2"; shift 2 ;;
        -c) commits="$2"; shift 2 ;;
        --signet) signet="$2"; shift 2 ;;
        --teststack) teststack="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "commit_verify.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
for n in "$runs" "$commits"; do
    case "$n" in ''|*[!0-9]*|0) echo "commit_verify.sh: -n and -c take positive numbers" >&2; exit 2 ;; esac
done

me=commit_verify.sh
# shellcheck source=benches/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$signet" "$teststack"

# An ssh-signed commit, with the allowed-signers file verification needs.
ssh_repo="$work/ssh"
git init -q "$ssh_repo"
ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/ssh_key"
echo "bench@example.com $(cat "$work/ssh_key.pub")" >"$work/allowed_signers"
git -C "$ssh_repo" config gpg.format ssh
git -C "$ssh_repo" config user.signingkey "$work/ssh_key.pub"
git -C "$ssh_repo" config gpg.ssh.allowedSignersFile "$work/allowed_signers"
git -C "$ssh_repo" commit -q --allow-empty -S -m bench

# C signet-signed commits on top of an unsigned base.
repo="$work/signet"
git init -q "$repo"
git -C "$repo" config gpg.format x509
git -C "$repo" config gpg.x509.program "$signet"
git -C "$repo" commit -q --allow-empty --no-gpg-sign -m base
base=$(git -C "$repo" rev-parse HEAD)
for _ in $(seq 1 "$commits"); do
    git -C "$repo" commit -q --allow-empty -S -m bench
done


printf '%-22s %6s %12s %10s %10s\n' mode runs "median ms" "min ms" "max ms"
bench_time_runs "ssh verify-commit" 1 git -C "$ssh_repo" verify-commit HEAD
bench_time_runs "signet verify-commit" 1 git -C "$repo" verify-commit HEAD
bench_time_runs "signet verify (each)" "$commits" \
    sh -c 'cd "$1" && "$2" verify "$3..HEAD"' verify "$repo" "$signet" "$base"
