#!/usr/bin/env python3
"""Regenerate the seed corpus under fuzz/seeds/<target>/ from real Sigstore inputs.

Usage (from the repository root): python3 fuzz/seeds/make_seeds.py [CONFORMANCE_DIR]
CONFORMANCE_DIR defaults to ../shared/conformance/bundle-verify (the sigstore-conformance
bundle-verify cases). Also reads assets/production_trusted_root.json. Standard library only.
"""
import base64
import hashlib
import json
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = ROOT / "fuzz" / "seeds"
CASES = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/conformance/bundle-verify"
PRODUCTION = ROOT / "assets" / "production_trusted_root.json"


def bundle(case):
    return json.loads((CASES / case / "bundle.sigstore.json").read_text())


def leaf_der(b):
    vm = b["verificationMaterial"]
    if "certificate" in vm:
        return base64.b64decode(vm["certificate"]["rawBytes"])
    return base64.b64decode(vm["x509CertificateChain"]["certificates"][0]["rawBytes"])


def pem(der):
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def rekor_response(b, long_id=True):
    """The Rekor v1 `POST /api/v1/log/entries` answer that would have produced bundle `b`."""
    e = b["verificationMaterial"]["tlogEntries"][0]
    body = base64.b64decode(e["canonicalizedBody"])
    uuid = hashlib.sha256(b"\x00" + body).hexdigest()
    entry_id = ("24296fb24b8ad77a" + uuid) if long_id else uuid
    p = e["inclusionProof"]
    hexs = lambda s: base64.b64decode(s).hex()
    return json.dumps(
        {
            entry_id: {
                "body": e["canonicalizedBody"],
                "integratedTime": int(e["integratedTime"]),
                "logID": hexs(e["logId"]["keyId"]),
                "logIndex": int(e["logIndex"]),
                "verification": {
                    "inclusionProof": {
                        "checkpoint": p["checkpoint"]["envelope"],
                        "hashes": [hexs(h) for h in p["hashes"]],
                        "logIndex": int(p["logIndex"]),
                        "rootHash": hexs(p["rootHash"]),
                        "treeSize": int(p["treeSize"]),
                    },
                    "signedEntryTimestamp": e["inclusionPromise"]["signedEntryTimestamp"],
                },
            }
        },
        indent=1,
    )


def jwt(claims):
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    return enc(b'{"alg":"RS256","kid":"k1"}') + "." + enc(json.dumps(claims).encode()) + "." + enc(b"sig" * 20)


def main():
    for target in ["bundle", "trusted_root", "checkpoint", "certificate", "rekor_response", "fulcio_response", "token", "tsp", "dsse"]:
        shutil.rmtree(SEEDS / target, ignore_errors=True)

    # bundle: positives of each version, plus a few negatives and shapes signet rejects.
    for case in [
        "happy-path-v0.1",
        "happy-path-v0.3",
        "bundle-with-sct-with-extensions",
        "checkpoint-bad-keyhint_fail",
        "bundle-negative-log-index_fail",
        "bundle-empty-certificate-chain_fail",
        "managed-key-happy-path",
        # DSSE (Rekor v1 dsse and intoto entries, the latter with a timestamp), Rekor v2
        # (message signature and DSSE), a managed key with its own trusted root.
        "happy-path-intoto-in-dsse-v3",
        "intoto-with-custom-trust-root",
        "rekor2-happy-path",
        "rekor2-dsse-happy-path",
        "managed-key-and-trusted-root",
    ]:
        write("bundle", case + ".json", (CASES / case / "bundle.sigstore.json").read_bytes())

    # trusted_root: production, a custom one, one missing a validFor.start.
    write("trusted_root", "production.json", PRODUCTION.read_bytes())
    write("trusted_root", "sct-with-extensions.json", (CASES / "bundle-with-sct-with-extensions/trusted_root.json").read_bytes())
    write("trusted_root", "missing-validity-start.json", (CASES / "trust-root-tlog-missing-validity-start_fail/trusted_root.json").read_bytes())

    # checkpoint: Rekor v1 notes (with and without an extension line), Rekor v2 with a cosignature.
    for case, name in [
        ("happy-path-v0.3", "rekor-v1.txt"),
        ("happy-path-v0.1", "rekor-v1-timestamp-ext.txt"),
        ("rekor2-checkpoint-cosigned", "rekor-v2-cosigned.txt"),
        ("rekor2-checkpoint-multiple-cosigs", "rekor-v2-multiple-cosigs.txt"),
    ]:
        e = bundle(case)["verificationMaterial"]["tlogEntries"][0]
        write("checkpoint", name, e["inclusionProof"]["checkpoint"]["envelope"])

    # certificate: Fulcio leaves (one with SCT extensions) and the production CA certificates.
    write("certificate", "leaf-happy-path.der", leaf_der(bundle("happy-path-v0.3")))
    write("certificate", "leaf-sct-with-extensions.der", leaf_der(bundle("bundle-with-sct-with-extensions")))
    root = json.loads(PRODUCTION.read_text())
    ca = root["certificateAuthorities"][1]["certChain"]["certificates"]
    write("certificate", "fulcio-intermediate.der", base64.b64decode(ca[0]["rawBytes"]))
    write("certificate", "fulcio-root.der", base64.b64decode(ca[1]["rawBytes"]))

    # rekor_response: the Rekor answer behind happy-path-v0.3 (80- and 64-hex entry ids).
    hp = bundle("happy-path-v0.3")
    write("rekor_response", "happy-path-v0.3.json", rekor_response(hp, True))
    write("rekor_response", "happy-path-v0.3-short-id.json", rekor_response(hp, False))
    write("rekor_response", "server-error.json", '{"code":400,"message":"invalid entry"}')

    # fulcio_response: the chain behind happy-path-v0.3, a detached-SCT answer, an empty chain.
    chain = [pem(leaf_der(hp))] + [pem(base64.b64decode(c["rawBytes"])) for c in ca]
    write("fulcio_response", "embedded-sct.json",
          json.dumps({"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}}, indent=1))
    write("fulcio_response", "detached-sct.json",
          json.dumps({"signedCertificateDetachedSct": {"chain": {"certificates": chain[:1]}, "signedCertificateTimestamp": "AA=="}}))
    write("fulcio_response", "empty-chain.json", '{"signedCertificateEmbeddedSct":{"chain":{"certificates":[]}}}')

    # tsp: `signedTimestamp` DER (a TimeStampResp) framed as the target reads it: one byte n, the
    # n signed bytes (the bundle's signature, which the imprint covers), then the timestamp.
    # The first three verify against the staging root the target trusts; the others are tokens
    # of other TSAs (one with a long untrusted embedded chain), so mutations see several shapes.
    for case in [
        "rekor2-happy-path",
        "rekor2-timestamp-with-embedded-cert",
        "rekor2-timestamp-without-embedded-cert",
        "rekor2-timestamp-with-expired-cert-chain",
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "rekor2-dsse-happy-path",
        "managed-key-happy-path",
        "intoto-with-custom-trust-root",
    ]:
        b = bundle(case)
        if "dsseEnvelope" in b:
            sig = base64.b64decode(b["dsseEnvelope"]["signatures"][0]["sig"])
        else:
            sig = base64.b64decode(b["messageSignature"]["signature"])
        ts = b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
        assert len(sig) < 256
        write("tsp", case + ".der", bytes([len(sig)]) + sig + base64.b64decode(ts["signedTimestamp"]))

    # dsse: the `dsseEnvelope` objects of the DSSE conformance bundles (Rekor v1 dsse/intoto, v2).
    for case in [
        "happy-path-intoto-in-dsse-v3",
        "dsse-mismatch-envelope_fail",
        "intoto-with-custom-trust-root",
        "rekor2-dsse-happy-path",
        "rekor2-dsse-mismatch-envelope_fail",
    ]:
        write("dsse", case + ".json", json.dumps(bundle(case)["dsseEnvelope"], indent=1))

    # token: JWT-shaped strings (email, sub only, expired), and an opaque token.
    write("token", "email.jwt", jwt({"iss": "https://oauth2.sigstore.dev/auth", "sub": "CgkxMjM0NTY3ODkSJmh0dHBzOi8vZ2l0aHViLmNvbS9sb2dpbi9vYXV0aA", "email": "signer@example.com", "email_verified": True, "aud": "sigstore", "exp": 1893456000, "iat": 1893455400}))
    write("token", "github-actions.jwt", jwt({"iss": "https://token.actions.githubusercontent.com", "sub": "repo:octo/signet:ref:refs/heads/main", "aud": "sigstore", "exp": 1700000000}))
    write("token", "opaque.txt", "ya29.not-a-jwt-at-all\n")


if __name__ == "__main__":
    main()
