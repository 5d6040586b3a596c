#!/usr/bin/env bash
# Median wall time of `git commit` in three modes, N runs each (not a test; figures go into
# docs/performance.md):
#
#   unsigned   git commit
#   ssh        git commit -S with gpg.format=ssh and an ssh-keygen ed25519 key
#   signet     git commit -S with gpg.format=x509 and signet against a Sigstore stack, the
#              identity token from the environment (SIGSTORE_ID_TOKEN)
#
# Usage: benches/commit_sign.sh [-n RUNS] [--signet PATH] [--teststack PATH]
#
# The stack: if SIGNET_FULCIO_URL, SIGNET_REKOR_URL, SIGNET_TRUSTED_ROOT and SIGSTORE_ID_TOKEN are
# all set, they are used as they are (any Sigstore deployment); otherwise a signet-teststack is
# started on loopback in a temporary directory and stopped at the end, and a token is minted
# from it. git runs hermetically (HOME and GIT_CONFIG_GLOBAL in the temporary directory,
# GIT_CONFIG_NOSYSTEM=1). Every run commits into the same repository; one warm-up run per mode
# is not counted. Requires: git, ssh-keygen, date with %N (GNU coreutils).
set -euo pipefail

runs=20
signet=""
teststack=""
while [ $# -gt 0 ]; do
    case "$1" in
        -n) runs="$2"; shift 2 ;;
        --signet) signet="$2"; shift 2 ;;
        --teststack) teststack="$2"; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "commit_sign.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$runs" in ''|*[!0-9]*|0) echo "commit_sign.sh: -n takes a positive number" >&2; exit 2 ;; esac

root="$(cd "$(dirname "$0")/.." && pwd)"
find_bin() { # name, explicit path, flag
    if [ -n "$2" ]; then echo "$2"; return; fi
    for p in "$root/target/release/$1" "$(command -v "$1" || true)"; do
        if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return; fi
    done
    echo "commit_sign.sh: $1 not found; build it (cargo build --release --locked) or pass $3 PATH" >&2
    exit 2
}
signet="$(find_bin signet "$signet" --signet)"
signet="$(cd "$(dirname "$signet")" && pwd)/$(basename "$signet")"

work="$(mktemp -d)"
stack_pid=""
cleanup() {
    if [ -n "$stack_pid" ]; then kill -TERM "$stack_pid" 2>/dev/null || true; wait "$stack_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${SIGNET_FULCIO_URL:-}" ] || [ -z "${SIGNET_REKOR_URL:-}" ] ||
   [ -z "${SIGNET_TRUSTED_ROOT:-}" ] || [ -z "${SIGSTORE_ID_TOKEN:-}" ]; then
    teststack="$(find_bin signet-teststack "$teststack" --teststack)"
    "$teststack" serve --state-dir "$work/stack" >"$work/stack.log" 2>&1 &
    stack_pid=$!
    for _ in $(seq 1 300); do # readiness: the env file appears (at most 30 s)
        [ -f "$work/stack/env" ] && break
        kill -0 "$stack_pid" 2>/dev/null || { cat "$work/stack.log" >&2; exit 1; }
        sleep 0.1
    done
    [ -f "$work/stack/env" ] || { echo "commit_sign.sh: the teststack did not start" >&2; exit 1; }
    # shellcheck disable=SC1091
    . "$work/stack/env"
    # One token for the whole run: long enough for 3 * (runs + 1) commits.
    SIGSTORE_ID_TOKEN="$("$teststack" token --state-dir "$work/stack" --email bench@example.com --expires-in 3600)"
    export SIGSTORE_ID_TOKEN
fi

export HOME="$work/home" GIT_CONFIG_GLOBAL="$work/home/gitconfig" GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$HOME"
repo="$work/repo"
git init -q "$repo"
ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/ssh_key"

configure() { # mode
    git -C "$repo" config --unset-all gpg.format || true
    case "$1" in
        ssh)
            git -C "$repo" config gpg.format ssh
            git -C "$repo" config user.signingkey "$work/ssh_key.pub" ;;
        signet)
            git -C "$repo" config gpg.format x509
            git -C "$repo" config gpg.x509.program "$signet"
            git -C "$repo" config user.signingkey bench@example.com ;;
    esac
}

commit() { # mode
    if [ "$1" = unsigned ]; then
        git -C "$repo" commit -q --allow-empty --no-gpg-sign -m bench
    else
        git -C "$repo" commit -q --allow-empty -S -m bench
    fi
}

now_ns() { date +%s%N; }

printf '%-10s %6s %12s %10s %10s\n' mode runs "median ms" "min ms" "max ms"
for mode in unsigned ssh signet; do
    configure "$mode"
    if ! commit "$mode" 2>"$work/err"; then
        echo "commit_sign.sh: git commit ($mode) failed:" >&2
        cat "$work/err" >&2
        exit 1
    fi
    : >"$work/times"
    for _ in $(seq 1 "$runs"); do
        start=$(now_ns)
        commit "$mode"
        end=$(now_ns)
        echo $(( (end - start) / 1000 )) >>"$work/times" # microseconds
    done
    sort -n "$work/times" | awk -v mode="$mode" '
        { t[NR] = $1 }
        END {
            m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
            printf "%-10s %6d %12.1f %10.1f %10.1f\n", mode, NR, m / 1000, t[1] / 1000, t[NR] / 1000
        }'
done
