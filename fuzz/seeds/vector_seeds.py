#!/usr/bin/env python3
"""Seed fuzz/seeds/split_object/ and fuzz/seeds/git_signature/ from the verification vectors.

Usage (from the repository root): python3 fuzz/seeds/vector_seeds.py
Reads tests/vectors/verify/*.vector (see tests/it/vectors.rs for the format). split_object gets
whole objects; git_signature gets the armored signatures, de-indented as git hands them over.
Standard library only.
"""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "verify"
SEEDS = ROOT / "fuzz" / "seeds"

OBJECTS = [
    "good-commit", "good-tag", "good-commit-sha256", "duplicate-gpgsig", "gpgsig-not-armor",
    "signature-in-commit-message", "unsigned-tag", "tag-pgp-armor", "gitsign-dc68e8ce-offline",
]
SIGNATURES = [
    "gitsign-dc68e8ce-offline", "gitsign-7dc71a2a-online", "good-commit", "two-signers",
    "attached-content", "no-signer-certificate", "unsupported-digest-sha384",
    "entry-body-for-other-content", "der-length-gigabytes-inner", "armor-truncated",
]


def parts(name):
    data = (VECTORS / f"{name}.vector").read_bytes()
    head, obj = data.split(b"\nobject:\n", 1)
    kind = [l for l in head.decode().splitlines() if l.startswith("kind: ")][0][6:]
    return kind, obj


def commit_signature(obj):
    end = obj.index(b"\n\n") + 1
    sig, in_sig = b"", False
    for line in obj[:end].splitlines(keepends=True):
        if line.startswith(b"gpgsig "):
            in_sig, sig = True, sig + line[len(b"gpgsig "):]
        elif in_sig and line.startswith(b" "):
            sig += line[1:]
        else:
            in_sig = False
    return sig


def main():
    for target in ("split_object", "git_signature"):
        (SEEDS / target).mkdir(parents=True, exist_ok=True)
    for name in OBJECTS:
        (SEEDS / "split_object" / name).write_bytes(parts(name)[1])
    for name in SIGNATURES:
        kind, obj = parts(name)
        sig = commit_signature(obj) if kind == "commit" else obj[obj.rindex(b"-----BEGIN "):]
        assert sig, name
        (SEEDS / "git_signature" / name).write_bytes(sig)


if __name__ == "__main__":
    main()
