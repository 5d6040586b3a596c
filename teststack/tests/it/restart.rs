//! The log survives a restart: same keys, old entries served, and their inclusion proofs
//! verify against checkpoints issued after the restart.

use base64::{Engine, engine::general_purpose::STANDARD};
use p256::ecdsa::{DerSignature, VerifyingKey, signature::Verifier};
use p256::pkcs8::DecodePublicKey;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::{Stack, client, sigstore};

fn node(l: &[u8], r: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// RFC 9162 §2.1.3.2 inclusion check, independent of the stack's proof generator.
fn root_from_proof(index: u64, size: u64, leaf: [u8; 32], proof: &[Vec<u8>]) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let (mut f, mut s, mut r) = (index, size - 1, leaf);
    for p in proof {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// Checks a Rekor v1 checkpoint's signature with the trusted root's log key; returns (size, root).
fn verified_checkpoint(note: &str, log_key: &VerifyingKey) -> (u64, Vec<u8>) {
    let (text, sig_line) = note.rsplit_once("\n\n").expect("note has a blank line");
    let text = format!("{text}\n");
    let sig_b64 = sig_line.trim_end().rsplit(' ').next().unwrap();
    let blob = STANDARD.decode(sig_b64).unwrap();
    let spki = log_key.to_public_key_der_bytes();
    assert_eq!(&blob[..4], &Sha256::digest(&spki)[..4], "key hint");
    let sig = DerSignature::from_bytes(&blob[4..]).unwrap();
    log_key
        .verify(text.as_bytes(), &sig)
        .expect("checkpoint signature");
    let mut lines = text.lines();
    lines.next();
    let size = lines.next().unwrap().parse().unwrap();
    let root = STANDARD.decode(lines.next().unwrap()).unwrap();
    (size, root)
}

trait SpkiBytes {
    fn to_public_key_der_bytes(&self) -> Vec<u8>;
}
impl SpkiBytes for VerifyingKey {
    fn to_public_key_der_bytes(&self) -> Vec<u8> {
        use p256::pkcs8::EncodePublicKey;
        self.to_public_key_der().unwrap().as_bytes().to_vec()
    }
}

fn sign(stack: &Stack, dir: &std::path::Path, name: &str) -> Value {
    let artifact = dir.join(name);
    std::fs::write(&artifact, name.as_bytes()).unwrap();
    let bundle = dir.join(format!("{name}.sigstore.json"));
    let token = stack.token("alice@example.com");
    let o = sigstore(
        stack,
        &[
            "sign",
            "--identity-token",
            &token,
            "--bundle",
            bundle.to_str().unwrap(),
            artifact.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap()
}

#[test]
fn first_entry_proves_inclusion_in_a_checkpoint_issued_after_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let stack = Stack::start(&state);
    let first = sign(&stack, tmp.path(), "first.txt");
    let root_before = std::fs::read(state.join("trusted_root.json")).unwrap();
    stack.stop();

    let stack = Stack::start(&state);
    assert_eq!(stack.tree_size(), 1, "the entry survived the restart");
    let trusted: Value =
        serde_json::from_slice(&std::fs::read(state.join("trusted_root.json")).unwrap()).unwrap();
    let before: Value = serde_json::from_slice(&root_before).unwrap();
    for key in ["tlogs", "ctlogs"] {
        assert_eq!(
            trusted[key][0]["publicKey"], before[key][0]["publicKey"],
            "{key} key kept"
        );
    }
    assert_eq!(
        trusted["certificateAuthorities"][0]["certChain"],
        before["certificateAuthorities"][0]["certChain"]
    );
    let log_key = VerifyingKey::from_public_key_der(
        &STANDARD
            .decode(
                trusted["tlogs"][0]["publicKey"]["rawBytes"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap(),
    )
    .unwrap();

    let second = sign(&stack, tmp.path(), "second.txt");
    let second_cp = second["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap();
    let (size, root) = verified_checkpoint(second_cp, &log_key);
    assert_eq!(size, 2);

    // Fetch the first entry again: its proof is now against the post-restart tree head.
    let entry: Value = client()
        .get(format!("{}/api/v1/log/entries?logIndex=0", stack.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let (_, e) = entry.as_object().unwrap().iter().next().unwrap();
    let proof = &e["verification"]["inclusionProof"];
    assert_eq!(proof["treeSize"], 2);
    let body = STANDARD.decode(e["body"].as_str().unwrap()).unwrap();
    let first_body = first["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
        .as_str()
        .unwrap();
    assert_eq!(
        body,
        STANDARD.decode(first_body).unwrap(),
        "same entry served after restart"
    );
    let mut leaf = Sha256::new();
    leaf.update([0u8]);
    leaf.update(&body);
    let hashes: Vec<Vec<u8>> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex::decode(h.as_str().unwrap()).unwrap())
        .collect();
    let computed = root_from_proof(0, 2, leaf.finalize().into(), &hashes).expect("proof shape");
    assert_eq!(
        computed.to_vec(),
        root,
        "first entry included under the new checkpoint"
    );
    let (cp_size, cp_root) = verified_checkpoint(proof["checkpoint"].as_str().unwrap(), &log_key);
    assert_eq!((cp_size, cp_root), (2, root.clone()));

    // And sigstore-python agrees: the first bundle, carrying the new proof, verifies offline.
    let mut updated = first.clone();
    let p = &mut updated["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
    p["treeSize"] = Value::String("2".into());
    p["rootHash"] = Value::String(STANDARD.encode(&root));
    p["hashes"] = Value::Array(
        hashes
            .iter()
            .map(|h| Value::String(STANDARD.encode(h)))
            .collect(),
    );
    p["checkpoint"]["envelope"] = proof["checkpoint"].clone();
    let path = tmp.path().join("first-updated.sigstore.json");
    std::fs::write(&path, serde_json::to_vec(&updated).unwrap()).unwrap();
    let o = sigstore(
        &stack,
        &[
            "verify",
            "identity",
            "--offline",
            "--bundle",
            path.to_str().unwrap(),
            "--cert-identity",
            "alice@example.com",
            "--cert-oidc-issuer",
            first_issuer(&first).as_str(),
            tmp.path().join("first.txt").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    stack.stop();
}

/// The issuer recorded in the first certificate (the port may differ after a restart).
fn first_issuer(bundle: &Value) -> String {
    use der::Decode;
    let der = STANDARD
        .decode(
            bundle["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let cert = x509_cert::Certificate::from_der(&der).unwrap();
    let ext = cert
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id.to_string() == "1.3.6.1.4.1.57264.1.1")
        .unwrap()
        .clone();
    String::from_utf8(ext.extn_value.as_bytes().to_vec()).unwrap()
}
