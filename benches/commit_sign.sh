#!/usr/bin/env bash
# Median wall time of `git commit` in four modes, N runs each (not a test; figures go into
# docs/performance.md):
#
#   unsigned   git commit
#   ssh        git commit -S with gpg.format=ssh and an ssh-keygen ed25519 key
#   signet     git commit -S with gpg.format=x509 and signet against a Sigstore stack, the
#              identity token from the environment (SIGSTORE_ID_TOKEN), no credential cache:
#              a new key and certificate per commit
#   cached     the same with the credential cache, logged in once through the local stack's
#              browser flow in the warm-up commit (an ambient token bypasses the cache): a
#              commit costs the signature and the Rekor entry (local stack only)
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
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "commit_sign.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$runs" in ''|*[!0-9]*|0) echo "commit_sign.sh: -n takes a positive number" >&2; exit 2 ;; esac

me=commit_sign.sh
# shellcheck source=benches/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$signet" "$teststack"
repo="$work/repo"
git init -q "$repo"
ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/ssh_key"

configure() { # mode
    git -C "$repo" config --unset-all gpg.format || true
    case "$1" in
        ssh)
            git -C "$repo" config gpg.format ssh
            git -C "$repo" config user.signingkey "$work/ssh_key.pub" ;;
        signet|cached)
            if [ "$1" = cached ]; then
                # An ambient token bypasses the cache by design, so the cached mode logs in
                # through the local stack's browser flow (a script follows the redirect) once,
                # in the warm-up commit.
                export SIGNET_CACHE=auto SIGNET_LOGIN_TIMEOUT=60
                git -C "$repo" config signet.tokenProvider browser
                git -C "$repo" config signet.urlOpener "python3 $bench_root/tests/support/open_url.py"
            else
                export SIGNET_CACHE=false
            fi
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

printf '%-22s %6s %12s %10s %10s\n' mode runs "median ms" "min ms" "max ms"
modes="unsigned ssh signet cached"
if [ -z "$bench_stack_pid" ]; then
    modes="unsigned ssh signet" # the cached mode needs the local stack's login
    echo "$me: an external deployment: skipping the cached mode (it logs in through the local stack)" >&2
fi
for mode in $modes; do
    configure "$mode"
    if ! commit "$mode" 2>"$work/err"; then
        echo "commit_sign.sh: git commit ($mode) failed:" >&2
        cat "$work/err" >&2
        exit 1
    fi
    : >"$work/times"
    for _ in $(seq 1 "$runs"); do
        start=$(bench_now_ns)
        commit "$mode"
        end=$(bench_now_ns)
        echo $(( (end - start) / 1000 )) >>"$work/times" # microseconds
    done
    bench_summary "$mode" "$work/times"
done
if [ -n "$bench_stack_pid" ] && ! (cd "$repo" && "$signet" status) | grep -q "logged in as"; then
    echo "$me: the cached mode did not cache a credential; its figures are not cached signing" >&2
    exit 1
fi
