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
  # cargo builds into $CARGO_TARGET_DIR when the user sets it.
  install -m 0755 "${CARGO_TARGET_DIR:-target}/release/$b" "$bindir/$b"
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

# 1. A signed commit: git runs signet as its x509 signing program (a hermetic git config, so
#    the user's own is neither read nor changed).
say "demo: git commit -S with signet as gpg.x509.program"
export GIT_CONFIG_GLOBAL="$work/gitconfig" GIT_CONFIG_NOSYSTEM=1
# The credential cache's agent (started by the first signing) lives in the demo's directory and
# exits when the cleanup removes its socket.
mkdir -m 700 "$work/agent"
export SIGNET_AGENT_SOCKET="$work/agent/agent.sock"
repo="$work/repo"
git init -q -b main "$repo"
git -C "$repo" config user.name Alice
git -C "$repo" config user.email alice@example.com
git -C "$repo" config gpg.format x509
git -C "$repo" config gpg.x509.program "$bindir/signet"
echo "hello from signet" > "$repo/hello.txt"
git -C "$repo" add hello.txt
SIGSTORE_ID_TOKEN=$token git -C "$repo" commit -q -S -m "A commit signed keylessly by signet"
git -C "$repo" cat-file commit HEAD | grep -q '^gpgsig -----BEGIN SIGNED MESSAGE-----' \
  || { say "demo: FAILED: the commit carries no signature"; exit 1; }
say "demo: signed commit $(git -C "$repo" rev-parse --short HEAD): $(git -C "$repo" log -1 --format=%s)"

# Verify it offline, as git and as signet: the embedded log proof, the chain and SCT at the
# log's time, and the identity (the default policy: the certificate email is the committer's).
say "demo: git verify-commit (signet checks the signature, log proof, chain and identity offline)"
git -C "$repo" verify-commit HEAD 2>"$work/verify.log" \
  || { cat "$work/verify.log" >&2; say "demo: FAILED: git verify-commit rejected the commit"; exit 1; }
sed 's/^/    /' "$work/verify.log" >&2
grade=$(git -C "$repo" log -1 --format='%G? %GS')
[ "$grade" = "G alice@example.com" ] || { say "demo: FAILED: %G? %GS is '$grade'"; exit 1; }
say "demo: git log --format='%G? %GS' shows: $grade"
(cd "$repo" && "$bindir/signet" verify --certificate-identity alice@example.com \
  --certificate-oidc-issuer "$SIGNET_OIDC_ISSUER" HEAD) >&2
if (cd "$repo" && "$bindir/signet" verify --certificate-identity mallory@example.com HEAD) \
     >"$work/policy.log" 2>&1; then
  say "demo: FAILED: the commit verified for the wrong identity"; exit 1
fi
say "demo: the wrong identity is refused: $(grep -m1 'FAILED' "$work/policy.log" || true)"

# Check it independently: openssl verifies the CMS signature over the commit payload against
# the stack's Fulcio chain (no signet code involved).
if command -v openssl >/dev/null 2>&1; then
  python3 - "$repo" "$SIGNET_TRUSTED_ROOT" "$work" <<'PY'
import base64, json, subprocess, sys
repo, root, out = sys.argv[1:4]
obj = subprocess.run(["git", "-C", repo, "cat-file", "commit", "HEAD"], check=True, capture_output=True).stdout
lines, payload, sig, in_sig = obj.split(b"\n"), [], [], False
for i, line in enumerate(lines):
    if line.startswith(b"gpgsig "):
        in_sig = True; sig.append(line[7:]); continue
    if in_sig and line.startswith(b" "):
        sig.append(line[1:]); continue
    in_sig = False; payload.append(line)
open(f"{out}/payload", "wb").write(b"\n".join(payload))
b64 = b"".join(l for l in sig if not l.startswith(b"-----"))
open(f"{out}/sig.der", "wb").write(base64.b64decode(b64))
certs = json.load(open(root))["certificateAuthorities"][0]["certChain"]["certificates"]
with open(f"{out}/chain.pem", "w") as f:
    for c in certs:
        body = c["rawBytes"]
        f.write("-----BEGIN CERTIFICATE-----\n" + "\n".join(body[i:i+64] for i in range(0, len(body), 64)) + "\n-----END CERTIFICATE-----\n")
PY
  openssl cms -verify -binary -inform DER -in "$work/sig.der" -content "$work/payload" \
    -CAfile "$work/chain.pem" -purpose any -out /dev/null 2>"$work/openssl.log" \
    || { cat "$work/openssl.log" >&2; say "demo: FAILED: openssl rejected the commit signature"; exit 1; }
  say "demo: openssl cms -verify accepts the commit signature against the stack's CA"
else
  say "demo: openssl not found; skipping the independent check of the commit signature"
fi

# 2. A signed file, verified by signet fully offline (log proof, chain at the log's time, SCT).
printf 'signet demo: this file was signed keylessly through a local Sigstore stack\n' > "$work/demo.txt"
say "demo: signet sign-bundle / verify-bundle on a file"
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
say "demo: OK: a signed and verified commit and a signed file by alice@example.com, each recorded in the local transparency log"
