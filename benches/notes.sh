#!/usr/bin/env bash
# Wall time of stored bundles (not a test; figures go into docs/performance.md), over C commits
# signed in gitsign's online mode (no proof embedded):
#
#   notes fetch (each)       signet notes fetch BASE..HEAD from no notes: a Rekor lookup, full
#                            verification and the bundle, per commit (one notes commit at the end)
#   verify --rekor (each)    signet verify BASE..HEAD --rekor-url: a Rekor lookup per commit, every time
#   verify notes (each)      signet verify BASE..HEAD from the stored bundles, offline, per commit
#   verify-commit notes      git verify-commit HEAD from its stored bundle (gpg mode reads the note)
#
# Usage: benches/notes.sh [-n RUNS] [-c COMMITS] [--signet PATH] [--teststack PATH]
#
# The log is a local signet-teststack on loopback (see commit_sign.sh), so Rekor round trips cost
# far less than against rekor.sigstore.dev. One warm-up run per mode is not counted.
set -euo pipefail

runs=10
commits=100
signet=""
teststack=""
while [ $# -gt 0 ]; do
    case "$1" in
        -n) runs="$2"; shift 2 ;;
        -c) commits="$2"; shift 2 ;;
        --signet) signet="$2"; shift 2 ;;
        --teststack) teststack="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "notes.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
for n in "$runs" "$commits"; do
    case "$n" in ''|*[!0-9]*|0) echo "notes.sh: -n and -c take positive numbers" >&2; exit 2 ;; esac
done

me=notes.sh
# shellcheck source=benches/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$signet" "$teststack"

repo="$work/repo"
git init -q "$repo"
git -C "$repo" config gpg.format x509
git -C "$repo" config gpg.x509.program "$signet"
git -C "$repo" config signet.rekorMode online
git -C "$repo" commit -q --allow-empty --no-gpg-sign -m base
base=$(git -C "$repo" rev-parse HEAD)
for _ in $(seq 1 "$commits"); do
    git -C "$repo" commit -q --allow-empty -S -m bench
done


fresh_fetch() { # fetch from no notes
    git -C "$1" update-ref -d refs/notes/signet 2>/dev/null || true
    (cd "$1" && "$2" notes fetch "$3..HEAD")
}

printf '%-22s %6s %12s %10s %10s\n' mode runs "median ms" "min ms" "max ms"
bench_time_runs "notes fetch (each)" "$commits" fresh_fetch "$repo" "$signet" "$base"
bench_time_runs "verify --rekor (each)" "$commits" \
    sh -c 'cd "$1" && "$2" verify --rekor-url "$4" "$3..HEAD"' verify "$repo" "$signet" "$base" "$SIGNET_REKOR_URL"
bench_time_runs "verify notes (each)" "$commits" \
    sh -c 'cd "$1" && "$2" verify "$3..HEAD"' verify "$repo" "$signet" "$base"
bench_time_runs "verify-commit notes" 1 git -C "$repo" verify-commit HEAD
