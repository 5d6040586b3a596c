#!/usr/bin/env bash
# Verifying whole histories (not a test; figures go into docs/performance.md). For each N, on
# the same fixture (examples/history_fixture.rs: N signet-signed commits and the same history
# signed with ssh), side by side:
#
#   signet verify --all       one process, every commit, offline, in parallel
#   git log (signet x509)     git log --show-signature, git starts signet once per commit
#   git log (ssh)             git log --show-signature over the ssh-signed history
#
# Usage: benches/history_verify.sh [--full] [-m M] [--signet PATH] [--fixtures DIR] [N...]
#
# N defaults to "1000 100000". The git log modes run over the newest M commits (default 2000)
# when N > M and report the extrapolated total, marked "(extrapolated)"; --full runs them over
# all N. Fixtures are made once in DIR (default target/history-fixtures) and reused while their
# fixture.json matches N and the generator version. signet is built in release first unless
# --signet is given. Every commit must verify, else the script fails. Requires: git, ssh-keygen,
# cargo, python3 (fixture.json; peak RSS when GNU /usr/bin/time is missing), date with %N.
set -euo pipefail

full=0
sample=2000
signet=""
fixtures=""
sizes=()
while [ $# -gt 0 ]; do
    case "$1" in
        --full) full=1; shift ;;
        -m) sample="$2"; shift 2 ;;
        --signet) signet="$2"; shift 2 ;;
        --fixtures) fixtures="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        -*) echo "history_verify.sh: unknown argument $1" >&2; exit 2 ;;
        *) sizes+=("$1"); shift ;;
    esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 100000)
for n in "$sample" "${sizes[@]}"; do
    case "$n" in ''|*[!0-9]*|0) echo "history_verify.sh: N and -m take positive numbers" >&2; exit 2 ;; esac
done

me=history_verify.sh
# shellcheck source=benches/lib.sh
. "$(dirname "$0")/lib.sh"

cargo_target="${CARGO_TARGET_DIR:-$bench_root/target}"
if [ -z "$signet" ]; then
    (cd "$bench_root" && cargo build --release --locked --bin signet --example history_fixture)
    signet="$cargo_target/release/signet"
else
    (cd "$bench_root" && cargo build --release --locked --example history_fixture)
fi
signet="$(bench_find_bin signet "$signet" --signet)"
signet="$(cd "$(dirname "$signet")" && pwd)/$(basename "$signet")"
generator="$cargo_target/release/examples/history_fixture"
fixtures="${fixtures:-$bench_root/target/history-fixtures}"
mkdir -p "$fixtures"
fixtures="$(cd "$fixtures" && pwd)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bench_hermetic_git "$work"

if ! "$signet" verify --help 2>/dev/null | grep -q -- '--all'; then
    echo "$me: $signet has no 'verify --all' yet; its column will be skipped" >&2
    have_all=0
else
    have_all=1
fi

results="$work/results.md"
printf '| N | mode | commits | wall s | commits/s | peak RSS MiB | peak heap MiB |\n| ---: | --- | ---: | ---: | ---: | ---: | ---: |\n' >"$results"

for n in "${sizes[@]}"; do
    dir="$fixtures/n$n"
    gen_start=$(bench_now_ns)
    "$generator" --commits "$n" --out "$dir"
    gen_ms=$(( ($(bench_now_ns) - gen_start) / 1000000 ))
    echo "$me: fixture for N=$n ready in $dir (${gen_ms} ms this run; made in $(bench_fixture_field "$dir" generation_seconds) s)" >&2
    issuer="$(bench_fixture_field "$dir" issuer)"
    identity="$(bench_fixture_field "$dir" identity)"
    root="$dir/trusted_root.json"
    m=$n
    label=""
    if [ "$full" = 0 ] && [ "$n" -gt "$sample" ]; then m=$sample; label=" (extrapolated from $sample)"; fi

    if [ "$have_all" = 1 ]; then
        bench_measure_anon "$work/all" "$dir/signet" "$signet" verify --all --trusted-root "$root" \
            --certificate-identity "$identity" --certificate-oidc-issuer "$issuer" ||
            { echo "$me: signet verify --all failed for N=$n:" >&2; tail -20 "$work/all.err" >&2; exit 1; }
        grep -q " $n verified, 0 failed" "$work/all.out" ||
            { echo "$me: signet verify --all did not verify all $n commits:" >&2; head -5 "$work/all.out" >&2; exit 1; }
        bench_row "$n" "signet verify --all" "$n" "$n" "$work/all" >>"$results"
    else
        printf '| %s | signet verify --all | %s | n/a | n/a | n/a | n/a |\n' "$n" "$n" >>"$results"
    fi

    SIGNET_TRUSTED_ROOT="$root" bench_measure "$work/x509" "$dir/signet" \
        git -c gpg.x509.program="$signet" log -n "$m" --show-signature --format=%H ||
        { echo "$me: git log (signet) failed for N=$n:" >&2; tail -20 "$work/x509.err" >&2; exit 1; }
    bench_expect_good "$work/x509" "$m" "git log (signet)"
    bench_row "$n" "git log --show-signature, signet x509$label" "$m" "$n" "$work/x509" >>"$results"

    bench_measure "$work/ssh" "$dir/ssh/repo" \
        git -c gpg.ssh.allowedSignersFile="$dir/ssh/allowed_signers" log -n "$m" --show-signature --format=%H ||
        { echo "$me: git log (ssh) failed for N=$n:" >&2; tail -20 "$work/ssh.err" >&2; exit 1; }
    bench_expect_good "$work/ssh" "$m" "git log (ssh)"
    bench_row "$n" "git log --show-signature, ssh$label" "$m" "$n" "$work/ssh" >>"$results"
done

echo
echo "## Machine"
bench_machine
echo
echo "## Results"
echo
cat "$results"
