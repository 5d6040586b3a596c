# Shared by the bench scripts (sourced, not run): finding binaries, a local stack, hermetic git,
# timing and the summary line. Each script sets `$me` (its name, for messages) first.

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# bench_find_bin NAME EXPLICIT_PATH FLAG: the explicit path, else target/release/NAME, else PATH.
bench_find_bin() {
    if [ -n "$2" ]; then echo "$2"; return; fi
    for p in "$bench_root/target/release/$1" "$(command -v "$1" || true)"; do
        if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return; fi
    done
    echo "$me: $1 not found; build it (cargo build --release --locked --workspace) or pass $3 PATH" >&2
    exit 2
}

# bench_start_stack TESTSTACK_PATH WORKDIR: unless SIGNET_FULCIO_URL, SIGNET_REKOR_URL,
# SIGNET_TRUSTED_ROOT and SIGSTORE_ID_TOKEN are all set, start signet-teststack (TESTSTACK_PATH,
# else found as bench_find_bin does; --teststack in messages) on loopback in
# WORKDIR/stack (awaited by its env file), source its env and mint a one-hour token for
# bench@example.com. Sets bench_stack_pid (empty when an existing deployment is used).
bench_stack_pid=""
bench_start_stack() {
    if [ -n "${SIGNET_FULCIO_URL:-}" ] && [ -n "${SIGNET_REKOR_URL:-}" ] &&
       [ -n "${SIGNET_TRUSTED_ROOT:-}" ] && [ -n "${SIGSTORE_ID_TOKEN:-}" ]; then
        return
    fi
    local teststack
    teststack="$(bench_find_bin signet-teststack "$1" --teststack)"
    "$teststack" serve --state-dir "$2/stack" >"$2/stack.log" 2>&1 &
    bench_stack_pid=$!
    for _ in $(seq 1 300); do # readiness: the env file appears (at most 30 s)
        [ -f "$2/stack/env" ] && break
        kill -0 "$bench_stack_pid" 2>/dev/null || { cat "$2/stack.log" >&2; exit 1; }
        sleep 0.1
    done
    [ -f "$2/stack/env" ] || { echo "$me: the teststack did not start" >&2; exit 1; }
    # shellcheck disable=SC1091
    . "$2/stack/env"
    SIGSTORE_ID_TOKEN="$("$teststack" token --state-dir "$2/stack" --email bench@example.com --expires-in 3600)"
    export SIGSTORE_ID_TOKEN
}

bench_stop_stack() {
    if [ -n "$bench_stack_pid" ]; then
        kill -TERM "$bench_stack_pid" 2>/dev/null || true
        wait "$bench_stack_pid" 2>/dev/null || true
    fi
}

# bench_hermetic_git WORKDIR: git with its own HOME and global config, no system config, and
# bench@example.com as author and committer.
bench_hermetic_git() {
    export HOME="$1/home" GIT_CONFIG_GLOBAL="$1/home/gitconfig" GIT_CONFIG_NOSYSTEM=1
    export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
    export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
    mkdir -p "$HOME"
}

bench_now_ns() { date +%s%N; }

# bench_summary LABEL TIMES_FILE [DIVISOR]: "label runs median min max" in milliseconds from a
# file of microsecond samples, each divided by DIVISOR (per-item figures).
bench_summary() {
    sort -n "$2" | awk -v label="$1" -v div="${3:-1}" '
        { t[NR] = $1 / div }
        END {
            m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
            printf "%-22s %6d %12.2f %10.2f %10.2f\n", label, NR, m / 1000, t[1] / 1000, t[NR] / 1000
        }'
}

# bench_setup SIGNET_PATH TESTSTACK_PATH: what every bench needs. Sets `signet` (an absolute
# path) and `work` (a temporary directory, removed on exit together with the stack and the
# credential agent, whose socket lives there), starts the stack and makes git hermetic.
bench_setup() {
    signet="$(bench_find_bin signet "$1" --signet)"
    signet="$(cd "$(dirname "$signet")" && pwd)/$(basename "$signet")"
    work="$(mktemp -d)"
    trap 'bench_stop_stack; rm -rf "$work"' EXIT
    bench_start_stack "$2" "$work"
    bench_hermetic_git "$work"
    mkdir -m 700 "$work/agent"
    export SIGNET_AGENT_SOCKET="$work/agent/agent.sock" # the agent exits when its socket goes
}
