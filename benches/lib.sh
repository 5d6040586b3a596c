# Shared by the bench scripts (sourced, not run): finding binaries, a local stack, hermetic git,
# timing and the summary line. Each script sets `$me` (its name, for messages) first.

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# bench_find_bin NAME EXPLICIT_PATH FLAG: the explicit path, else target/release/NAME (or under
# $CARGO_TARGET_DIR), else PATH.
bench_find_bin() {
    if [ -n "$2" ]; then echo "$2"; return; fi
    for p in "${CARGO_TARGET_DIR:-$bench_root/target}/release/$1" "$(command -v "$1" || true)"; do
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

# bench_time_runs LABEL DIVISOR COMMAND...: one warm-up run of COMMAND (which must succeed; its
# stderr is shown if not), then $runs timed runs, summarised by bench_summary per DIVISOR items.
bench_time_runs() {
    local label=$1 div=$2 start end
    shift 2
    "$@" >/dev/null 2>"$work/err" || { echo "$me: $label failed:" >&2; cat "$work/err" >&2; exit 1; }
    : >"$work/times"
    for _ in $(seq 1 "$runs"); do
        start=$(bench_now_ns)
        "$@" >/dev/null 2>&1
        end=$(bench_now_ns)
        echo $(( (end - start) / 1000 )) >>"$work/times" # microseconds
    done
    bench_summary "$label" "$work/times" "$div"
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

# bench_fixture_field DIR KEY: a top-level value of DIR/fixture.json (history fixtures).
bench_fixture_field() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1/fixture.json" "$2"
}

# bench_measure PREFIX DIR COMMAND...: runs COMMAND once in DIR, stdout to PREFIX.out and stderr
# to PREFIX.err; writes the wall time in microseconds to PREFIX.time and the peak RSS in KiB to
# PREFIX.rss (GNU /usr/bin/time when present, else python3's getrusage of the child, which
# counts the forked python before exec, about 13 MiB, as a floor). Returns
# COMMAND's exit status.
bench_measure() {
    local prefix=$1 dir=$2 start end rc=0
    shift 2
    start=$(bench_now_ns)
    if [ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1; then
        (cd "$dir" && /usr/bin/time -f %M -o "$prefix.rss" "$@") >"$prefix.out" 2>"$prefix.err" || rc=$?
    else
        (cd "$dir" && python3 -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$prefix.rss" "$@") >"$prefix.out" 2>"$prefix.err" || rc=$?
    fi
    end=$(bench_now_ns)
    echo $(( (end - start) / 1000 )) >"$prefix.time"
    return "$rc"
}

# bench_measure_anon PREFIX DIR COMMAND...: like bench_measure, and also the peak of the
# process's anonymous memory (heap and stacks: RssAnon in /proc/PID/status, polled every 5 ms)
# in KiB to PREFIX.anon. Peak RSS also counts the file pages of the packs git and gix map, which
# grow with the repository; RssAnon is what the process itself allocates.
bench_measure_anon() {
    local prefix=$1 dir=$2 start end rc=0
    shift 2
    start=$(bench_now_ns)
    (cd "$dir" && python3 -c '
import resource, subprocess, sys, time
child = subprocess.Popen(sys.argv[3:])
peak = 0
while child.poll() is None:
    try:
        with open("/proc/%d/status" % child.pid) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    peak = max(peak, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.005)
open(sys.argv[1], "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
open(sys.argv[2], "w").write("%d\n" % peak)
sys.exit(child.returncode)' "$prefix.rss" "$prefix.anon" "$@") >"$prefix.out" 2>"$prefix.err" || rc=$?
    end=$(bench_now_ns)
    echo $(( (end - start) / 1000 )) >"$prefix.time"
    return "$rc"
}

# bench_expect_good PREFIX COUNT LABEL: PREFIX.out (git log --show-signature) has exactly COUNT
# "Good ... signature" lines (signet's prefixed "signet: ") and nothing that reads as a failure, else the bench stops.
bench_expect_good() {
    local good
    good=$(grep -cE '^(signet: )?Good .*signature' "$1.out" || true)
    if [ "$good" != "$2" ] || grep -qiE '^(signet: )?(bad |could not|can.t|no signature|error)' "$1.out" "$1.err"; then
        echo "$me: $3: $good good signatures of $2 expected:" >&2
        grep -viE '^(signet: )?(good|  |[0-9a-f]{40}$|$)' "$1.out" "$1.err" | head -20 >&2
        exit 1
    fi
}

# bench_row N MODE MEASURED TOTAL PREFIX: a markdown row from PREFIX.time and PREFIX.rss; when
# MEASURED < TOTAL the wall time is extrapolated linearly to TOTAL commits.
bench_row() {
    local us rss anon=-1
    us=$(cat "$5.time")
    rss=$(tail -1 "$5.rss")
    [ -f "$5.anon" ] && anon=$(tail -1 "$5.anon")
    awk -v n="$1" -v mode="$2" -v m="$3" -v total="$4" -v us="$us" -v rss="$rss" -v anon="$anon" 'BEGIN {
        wall = us / 1e6 * total / m
        heap = anon < 0 ? "–" : sprintf("%.1f", anon / 1024)
        printf "| %d | %s | %d | %.2f%s | %.0f | %.1f | %s |\n", n, mode, total, wall, (m < total ? " (extrapolated)" : ""), total / wall, rss / 1024, heap
    }'
}

# bench_machine: the machine and tools the figures come from, as markdown list items.
bench_machine() {
    echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores available"
    echo "- RAM: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "- load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- $(git --version); $(ssh -V 2>&1 | head -1)"
}
