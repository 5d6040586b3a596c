#!/usr/bin/env bash
# Installs what the test suite needs, then runs the whole workspace suite.
#
# Needs: the Rust toolchain (cargo-nextest if present), git, python3. Installs into target/:
#   target/venv   sigstore-python and its pinned dependencies (scripts/requirements-interop.txt),
#                 reused while the pins are unchanged.
# Extra arguments go to the test runner (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/venv
reqs=scripts/requirements-interop.txt
stamp=$venv/.requirements.sha256
want=$(sha256sum "$reqs" | cut -d' ' -f1)
if [ ! -x "$venv/bin/sigstore" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "test.sh: installing sigstore-python into $venv" >&2
  rm -rf "$venv"
  mkdir -p target
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$reqs"
  echo "$want" > "$stamp"
fi
export SIGNET_SIGSTORE_BIN="$PWD/$venv/bin/sigstore"
"$SIGNET_SIGSTORE_BIN" --version >&2

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast "$@"
else
  cargo test --workspace --locked --no-fail-fast "$@"
fi
