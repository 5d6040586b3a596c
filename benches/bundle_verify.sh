#!/usr/bin/env bash
# Wall time of `signet verify-bundle` per bundle shape (not a test; figures go into
# docs/performance.md), on sigstore-conformance bundles from ../shared/conformance/bundle-verify:
#
#   rekor v1 message     happy-path-v0.3: certificate, hashedrekord 0.0.1 (SET, proof, checkpoint)
#   rekor v1 dsse        happy-path-intoto-in-dsse-v3: DSSE envelope, in-toto subject, dsse 0.0.1
#   rekor v2 + tsa       rekor2-happy-path: hashedrekord 0.0.2, Ed25519 checkpoint, RFC 3161
#   managed key          managed-key-happy-path: --key PEM instead of a certificate
#   sigstore-python      happy-path-v0.3 with `sigstore verify identity --offline` (when installed:
#                        target/venv from scripts/test.sh, or SIGNET_SIGSTORE_BIN)
#
# Usage: benches/bundle_verify.sh [-n RUNS] [--signet PATH]
#
# Each figure is one process per run (start-up included), by artifact path. One warm-up run per
# mode is not counted. Requires: date with %N (GNU coreutils).
set -euo pipefail

runs=50
signet=""
while [ $# -gt 0 ]; do
    case "$1" in
        -n) runs="$2"; shift 2 ;;
        --signet) signet="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "bundle_verify.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$runs" in ''|*[!0-9]*|0) echo "bundle_verify.sh: -n takes a positive number" >&2; exit 2 ;; esac

me=bundle_verify.sh
# shellcheck source=benches/lib.sh
. "$(dirname "$0")/lib.sh"
signet="$(bench_find_bin signet "$signet" --signet)"
cases="$bench_root/../shared/conformance/bundle-verify"
[ -d "$cases" ] || { echo "$me: $cases not found (../shared beside the checkout)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

identity="https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
issuer="https://token.actions.githubusercontent.com"

# case_args CASE: verify-bundle arguments for one conformance case, as the suite passes them.
case_args() {
    local dir="$cases/$1" artifact="$cases/a.txt"
    [ -f "$dir/artifact" ] && artifact="$dir/artifact"
    printf '%s\n' --bundle "$dir/bundle.sigstore.json"
    if [ -f "$dir/key.pub" ]; then
        printf '%s\n' --key "$dir/key.pub"
    else
        printf '%s\n' --certificate-identity "$identity" --certificate-oidc-issuer "$issuer"
    fi
    [ -f "$dir/trusted_root.json" ] && printf '%s\n' --trusted-root "$dir/trusted_root.json"
    printf '%s\n' "$artifact"
}

time_runs() { # label command...
    local label=$1 i start end
    shift
    "$@" >/dev/null 2>&1 || { echo "$me: $label does not verify: $*" >&2; exit 1; }
    : >"$work/times"
    for i in $(seq 1 "$runs"); do
        start=$(bench_now_ns)
        "$@" >/dev/null 2>&1
        end=$(bench_now_ns)
        echo $(( (end - start) / 1000 )) >>"$work/times"
    done
    bench_summary "$label" "$work/times"
}

printf '%-22s %6s %12s %10s %10s\n' mode runs median_ms min_ms max_ms
for pair in "rekor v1 message:happy-path-v0.3" "rekor v1 dsse:happy-path-intoto-in-dsse-v3" \
            "rekor v2 + tsa:rekor2-happy-path" "managed key:managed-key-happy-path"; do
    mapfile -t args < <(case_args "${pair#*:}")
    time_runs "${pair%%:*}" "$signet" verify-bundle "${args[@]}"
done

python_bin="${SIGNET_SIGSTORE_BIN:-$bench_root/target/venv/bin/sigstore}"
if [ -x "$python_bin" ]; then
    time_runs "sigstore-python" "$python_bin" verify identity --offline \
        --bundle "$cases/happy-path-v0.3/bundle.sigstore.json" \
        --cert-identity "$identity" --cert-oidc-issuer "$issuer" "$cases/a.txt"
else
    echo "$me: sigstore-python not installed ($python_bin); skipped" >&2
fi
