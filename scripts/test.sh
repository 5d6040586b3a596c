#!/usr/bin/env bash
# Installs what the test suite needs, then runs the whole workspace suite.
#
# Needs: the Rust toolchain (cargo-nextest if present), git, python3, node + npm. Installs into
# target/, each reused while its pins are unchanged:
#   target/venv        sigstore-python and its pinned dependencies (scripts/requirements-interop.txt)
#   target/interop-js  sigstore-js (@sigstore/verify, pinned by scripts/interop-js/package-lock.json)
#                      and the checker script scripts/interop-js/verify.mjs
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

js=target/interop-js
js_want=$(cat scripts/interop-js/package.json scripts/interop-js/package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -d "$js/node_modules/@sigstore/verify" ] || [ "$(cat "$js/.lock.sha256" 2>/dev/null)" != "$js_want" ]; then
  echo "test.sh: installing sigstore-js into $js" >&2
  rm -rf "$js"
  mkdir -p "$js"
  cp scripts/interop-js/package.json scripts/interop-js/package-lock.json "$js/"
  (cd "$js" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$js_want" > "$js/.lock.sha256"
fi
cp scripts/interop-js/verify.mjs "$js/verify.mjs"
export SIGNET_SIGSTORE_JS="$PWD/$js/verify.mjs"

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast "$@"
else
  cargo test --workspace --locked --no-fail-fast "$@"
fi
