#!/usr/bin/env bash
# Builds signet and signet-teststack in release mode, installs both, and runs the main job
# against a local Sigstore stack (signet-teststack) in a temporary directory.
#
#   ./install.sh [--prefix DIR] [--no-demo]
#
# Binaries go to DIR/bin (default: ~/.local, so ~/.local/bin). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

prefix="$HOME/.local"
demo=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }
              prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --no-demo) demo=0; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'install.sh: %s\n' "$*" >&2; }

say "building (release)"
cargo build --release --locked --workspace --bins
bindir="$prefix/bin"
mkdir -p "$bindir"
for b in signet signet-teststack; do
  install -m 0755 "target/release/$b" "$bindir/$b"
done
say "installed signet and signet-teststack into $bindir"
case ":$PATH:" in *":$bindir:"*) ;; *) say "note: $bindir is not on your PATH" ;; esac

[ "$demo" = 1 ] || exit 0

# The demo: a local stack on a free loopback port, stopped whatever happens.
work=$(mktemp -d)
stack_pid=
cleanup() {
  if [ -n "$stack_pid" ] && kill -0 "$stack_pid" 2>/dev/null; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say "demo: starting signet-teststack (state in $work/stack)"
"$bindir/signet-teststack" serve --state-dir "$work/stack" 2>"$work/stack.log" &
stack_pid=$!
# Ready when the env file naming this process exists (it is written once the stack listens).
for _ in $(seq 600); do
  if grep -qsx "export SIGNET_TESTSTACK_PID=$stack_pid" "$work/stack/env"; then break; fi
  kill -0 "$stack_pid" 2>/dev/null || { cat "$work/stack.log" >&2; say "demo: the stack failed to start"; exit 1; }
  sleep 0.1
done
grep -qs "SIGNET_TESTSTACK_PID" "$work/stack/env" || { say "demo: the stack did not become ready"; exit 1; }
# shellcheck disable=SC1091
. "$work/stack/env"

token=$("$bindir/signet-teststack" token --state-dir "$work/stack" --email alice@example.com)
printf 'signet demo: this file was signed keylessly through a local Sigstore stack\n' > "$work/demo.txt"

say "demo: commit signing is not built yet, so this signs and verifies a file through the stack"
SIGSTORE_ID_TOKEN=$token "$bindir/signet" sign-bundle --bundle "$work/demo.sigstore.json" "$work/demo.txt"
"$bindir/signet" verify-bundle --bundle "$work/demo.sigstore.json" \
  --certificate-identity alice@example.com --certificate-oidc-issuer "$SIGNET_OIDC_ISSUER" "$work/demo.txt"

printf 'tampered\n' >> "$work/demo.txt"
if "$bindir/signet" verify-bundle --bundle "$work/demo.sigstore.json" \
     --certificate-identity alice@example.com --certificate-oidc-issuer "$SIGNET_OIDC_ISSUER" \
     "$work/demo.txt" 2>"$work/tampered.log"; then
  say "demo: FAILED: a tampered file verified"; exit 1
fi
say "demo: a tampered copy is rejected: $(grep -m1 'error' "$work/tampered.log" || true)"
say "demo: OK: signed by alice@example.com, recorded in the local transparency log, verified offline"
