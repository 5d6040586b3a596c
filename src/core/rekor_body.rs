//! Does a log entry body describe exactly the bundle's content and signer? One check per kind
//! Rekor writes (CVE-2022-36056 class: an entry for something else must not vouch for this):
//! - hashedrekord 0.0.1: `spec.data.hash` (sha256 hex), `spec.signature.content`,
//!   `spec.signature.publicKey.content` (base64 of one PEM CERTIFICATE or PUBLIC KEY);
//! - hashedrekord 0.0.2: `spec.hashedRekordV002`: `data` {algorithm, digest}, `signature.content`,
//!   `signature.verifier` {x509Certificate | publicKey}.rawBytes and `keyDetails`. A DSSE
//!   envelope logged to Rekor v2 is a hashedrekord over H(PAE(type, payload));
//! - dsse 0.0.1: `payloadHash` = SHA-256(payload), `signatures` [{signature, verifier: base64
//!   PEM}] equal to the envelope's (`envelopeHash` covers Rekor's own serialisation and cannot be
//!   recomputed);
//! - intoto 0.0.2: `content.envelope` {payload (base64 of base64), payloadType, signatures
//!   [{sig (base64 of base64), publicKey (base64 PEM)}]} and `content.payloadHash`;
//! - dsse 0.0.2 (deprecated in rekor-tiles): `spec.dsseV002` {payloadHash, signatures
//!   [{content, verifier}]}.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use der::Decode;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::super::dsse::{self, Envelope};
use super::super::keys::{HashAlg, PublicKey, sha256};
use super::{BodyError, DSSE, HASHEDREKORD, INTOTO, REKOR_V2_VERSION, TlogEntry};

/// What the bundle says was signed.
#[derive(Debug, Clone, Copy)]
pub enum EntryContent<'a> {
    /// hashedrekord: the artifact's SHA-256 and the signature over it.
    Message {
        digest: &'a [u8; 32],
        signature: &'a [u8],
    },
    /// dsse / intoto: the envelope from the bundle.
    Dsse(&'a Envelope),
}

/// Who the bundle says signed it.
#[derive(Debug, Clone, Copy)]
pub enum EntryVerifier<'a> {
    /// The leaf certificate, DER.
    Certificate(&'a [u8]),
    /// A managed key, DER SubjectPublicKeyInfo.
    PublicKey(&'a [u8]),
}

impl EntryVerifier<'_> {
    fn what(&self) -> &'static str {
        match self {
            Self::Certificate(_) => "a certificate",
            Self::PublicKey(_) => "a public key",
        }
    }
}

/// The entry body must describe exactly this content and verifier; see the module docs for
/// what is compared in each kind. The entry's declared kindVersion must also be the body's.
pub fn check_entry_body(
    entry: &TlogEntry,
    content: EntryContent<'_>,
    verifier: EntryVerifier<'_>,
) -> Result<(), BodyError> {
    let value: serde_json::Value =
        serde_json::from_slice(&entry.body).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let (kind, version) = (field("kind"), field("apiVersion"));
    if kind != entry.kind || version != entry.version {
        return Err(BodyError::DeclaredKindMismatch {
            declared: format!("{} {}", entry.kind, entry.version),
            body: format!("{kind} {version}"),
        });
    }
    let what = || format!("{kind} {version}");
    match (kind.as_str(), version.as_str(), content) {
        (HASHEDREKORD, "0.0.1", EntryContent::Message { digest, signature }) => {
            hashedrekord_v001(value, digest, signature, verifier)
        }
        (HASHEDREKORD, REKOR_V2_VERSION, content) => {
            let spec = spec::<HashedRekordV002Body>(value)?.spec.hashed_rekord_v002;
            hashedrekord_v002(spec, content, verifier)
        }
        (DSSE, "0.0.1", EntryContent::Dsse(env)) => {
            dsse_v001(spec::<DsseV001Body>(value)?.spec, env, verifier)
        }
        (DSSE, REKOR_V2_VERSION, EntryContent::Dsse(env)) => {
            dsse_v002(spec::<DsseV002Body>(value)?.spec.dsse_v002, env, verifier)
        }
        (INTOTO, "0.0.2", EntryContent::Dsse(env)) => {
            intoto_v002(spec::<IntotoV002Body>(value)?.spec.content, env, verifier)
        }
        (HASHEDREKORD, "0.0.1", EntryContent::Dsse(_)) => Err(BodyError::ContentMismatch {
            kind: what(),
            content: "a DSSE envelope",
        }),
        (DSSE | INTOTO, "0.0.1" | "0.0.2", EntryContent::Message { .. }) => {
            Err(BodyError::ContentMismatch {
                kind: what(),
                content: "a message signature",
            })
        }
        _ => Err(BodyError::UnsupportedKind { kind, version }),
    }
}

fn spec<T: for<'de> Deserialize<'de>>(value: serde_json::Value) -> Result<T, BodyError> {
    serde_json::from_value(value).map_err(|e| BodyError::Malformed(e.to_string()))
}

fn b64(what: &str, s: &str) -> Result<Vec<u8>, BodyError> {
    B64.decode(s)
        .map_err(|_| BodyError::Malformed(format!("{what} is not base64")))
}

// ---- shared comparisons ----

/// The single PEM block in `b64_pem` (base64 of PEM text, as Rekor v1 stores verifiers), or
/// `None` when the text is not exactly one well-formed block (a chain, garbage): such a verifier
/// is not "the same certificate or key" as any the bundle can have.
fn pem_block(b64_pem: &str) -> Result<Option<(String, Vec<u8>)>, BodyError> {
    let pem = b64("PEM verifier", b64_pem)?;
    let text = std::str::from_utf8(&pem)
        .map_err(|_| BodyError::Malformed("PEM verifier is not text".into()))?;
    if text.matches("-----BEGIN ").count() != 1 {
        return Ok(None);
    }
    Ok(parse_pem(text))
}

/// Base64 as Go's `encoding/base64.StdEncoding` decodes it: padding required, non-zero bits
/// after the last symbol tolerated (Go's non-strict default, which Rekor's PEM decoding uses).
pub(crate) const GO_STD_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// One PEM block as Go's `encoding/pem` (which Rekor uses) reads it: base64 lines of any
/// length between the BEGIN and END lines of one label; no headers. (RFC 7468's strict form
/// wants 64-column lines, which Rekor's intoto entries do not have.)
fn parse_pem(text: &str) -> Option<(String, Vec<u8>)> {
    let rest = text.trim().strip_prefix("-----BEGIN ")?;
    let (label, rest) = rest.split_once("-----")?;
    if label.is_empty() || !label.bytes().all(|b| b.is_ascii_uppercase() || b == b' ') {
        return None;
    }
    let body = rest.strip_suffix(format!("-----END {label}-----").as_str())?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = GO_STD_B64.decode(b64).ok()?;
    Some((label.to_owned(), der))
}

/// Two DER SPKIs name the same key: identical bytes, or the same decoded key (an ECDSA point
/// may be written compressed or not).
fn same_key(logged_spki: &[u8], spki: &[u8]) -> bool {
    logged_spki == spki
        || matches!(
            (PublicKey::from_spki_der(logged_spki), PublicKey::from_spki_der(spki)),
            (Ok(a), Ok(b)) if a == b
        )
}

/// Compare a Rekor v1 PEM verifier (base64 PEM) with the bundle's.
fn check_pem_verifier(b64_pem: &str, verifier: EntryVerifier<'_>) -> Result<(), BodyError> {
    let Some((label, der)) = pem_block(b64_pem)? else {
        return Err(match verifier {
            EntryVerifier::Certificate(_) => BodyError::CertificateMismatch,
            EntryVerifier::PublicKey(_) => BodyError::PublicKeyMismatch,
        });
    };
    match (label.as_str(), verifier) {
        ("CERTIFICATE", EntryVerifier::Certificate(leaf)) => {
            // Re-encode so a logged certificate is compared in its canonical DER.
            let cert = x509_cert::Certificate::from_der(&der)
                .map_err(|_| BodyError::CertificateMismatch)?;
            let der = der::Encode::to_der(&cert).map_err(|_| BodyError::CertificateMismatch)?;
            if der != leaf {
                return Err(BodyError::CertificateMismatch);
            }
            Ok(())
        }
        ("PUBLIC KEY", EntryVerifier::PublicKey(spki)) => {
            if !same_key(&der, spki) {
                return Err(BodyError::PublicKeyMismatch);
            }
            Ok(())
        }
        ("CERTIFICATE", v) => Err(BodyError::VerifierKindMismatch {
            logged: "a certificate",
            bundle: v.what(),
        }),
        ("PUBLIC KEY", v) => Err(BodyError::VerifierKindMismatch {
            logged: "a public key",
            bundle: v.what(),
        }),
        (other, _) => Err(BodyError::Malformed(format!(
            "PEM verifier is a {other:?} block"
        ))),
    }
}

/// The DER SPKI of the bundle's key.
fn verifier_spki(verifier: EntryVerifier<'_>) -> Result<Vec<u8>, BodyError> {
    match verifier {
        EntryVerifier::PublicKey(spki) => Ok(spki.to_vec()),
        EntryVerifier::Certificate(leaf) => {
            let cert = x509_cert::Certificate::from_der(leaf)
                .map_err(|_| BodyError::CertificateMismatch)?;
            der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
                .map_err(|_| BodyError::CertificateMismatch)
        }
    }
}

/// A Rekor v2 verifier: `{x509Certificate | publicKey: {rawBytes}, keyDetails}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct V2Verifier {
    x509_certificate: Option<RawBytes>,
    public_key: Option<RawBytes>,
    key_details: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V2Signature {
    content: String,
    verifier: V2Verifier,
}

/// proto `HashOutput`: `{algorithm: "SHA2_256", digest: base64}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashOutput {
    algorithm: String,
    digest: String,
}

impl HashOutput {
    fn hash_alg(&self) -> Result<HashAlg, BodyError> {
        match self.algorithm.as_str() {
            "SHA2_256" => Ok(HashAlg::Sha256),
            "SHA2_384" => Ok(HashAlg::Sha384),
            "SHA2_512" => Ok(HashAlg::Sha512),
            other => Err(BodyError::UnsupportedDigestAlgorithm {
                algorithm: other.to_owned(),
            }),
        }
    }
}

/// The `keyDetails` a Rekor v2 client writes for a key (sigstore-go's default algorithm details,
/// Ed25519 as its prehash variant for hashedrekord).
fn expected_key_details(key: &PublicKey, prehash: bool) -> &'static str {
    match key {
        PublicKey::P256(_) => "PKIX_ECDSA_P256_SHA_256",
        PublicKey::P384(_) => "PKIX_ECDSA_P384_SHA_384",
        PublicKey::Ed25519(_) if prehash => "PKIX_ED25519_PH",
        PublicKey::Ed25519(_) => "PKIX_ED25519",
    }
}

/// Compare a Rekor v2 verifier with the bundle's: same kind, same bytes (or key), and the
/// `keyDetails` the bundle's key gets.
fn check_v2_verifier(
    logged: &V2Verifier,
    verifier: EntryVerifier<'_>,
    prehash: bool,
) -> Result<(), BodyError> {
    match (&logged.x509_certificate, &logged.public_key, verifier) {
        (Some(cert), None, EntryVerifier::Certificate(leaf)) => {
            if b64("verifier certificate", &cert.raw_bytes)? != leaf {
                return Err(BodyError::CertificateMismatch);
            }
        }
        (None, Some(key), EntryVerifier::PublicKey(spki)) => {
            if !same_key(&b64("verifier public key", &key.raw_bytes)?, spki) {
                return Err(BodyError::PublicKeyMismatch);
            }
        }
        (Some(_), None, v) => {
            return Err(BodyError::VerifierKindMismatch {
                logged: "a certificate",
                bundle: v.what(),
            });
        }
        (None, Some(_), v) => {
            return Err(BodyError::VerifierKindMismatch {
                logged: "a public key",
                bundle: v.what(),
            });
        }
        _ => {
            return Err(BodyError::Malformed(
                "verifier must hold exactly one of x509Certificate and publicKey".into(),
            ));
        }
    }
    let key = PublicKey::from_spki_der(&verifier_spki(verifier)?)
        .map_err(BodyError::UnsupportedVerifierKey)?;
    let expected = expected_key_details(&key, prehash);
    let logged = logged.key_details.as_deref().unwrap_or("");
    if logged != expected {
        return Err(BodyError::KeyDetailsMismatch {
            logged: logged.to_owned(),
            expected: expected.to_owned(),
        });
    }
    Ok(())
}

/// The one envelope signature a single-signature entry must record.
fn single_signature(env: &Envelope, logged: usize) -> Result<&[u8], BodyError> {
    match env.signatures.as_slice() {
        [one] if logged == 1 => Ok(&one.sig),
        sigs => Err(BodyError::SignatureCount {
            logged,
            bundle: sigs.len(),
        }),
    }
}

/// The logged signatures must be exactly the envelope's (as multisets: Rekor sorts them).
fn check_signature_set(mut logged: Vec<Vec<u8>>, env: &Envelope) -> Result<(), BodyError> {
    if logged.len() != env.signatures.len() {
        return Err(BodyError::SignatureCount {
            logged: logged.len(),
            bundle: env.signatures.len(),
        });
    }
    let mut ours: Vec<&[u8]> = env.signatures.iter().map(|s| s.sig.as_slice()).collect();
    logged.sort();
    ours.sort();
    if logged.iter().map(Vec::as_slice).ne(ours.iter().copied()) {
        return Err(BodyError::SignatureMismatch);
    }
    Ok(())
}

fn check_payload_hash(algorithm: &str, value: &str, payload: &[u8]) -> Result<(), BodyError> {
    let actual = hex::encode(sha256(payload));
    if algorithm != "sha256" || value != actual {
        return Err(BodyError::PayloadHashMismatch {
            logged: format!("{algorithm}:{value}"),
            actual: format!("sha256:{actual}"),
        });
    }
    Ok(())
}

// ---- hashedrekord 0.0.1 ----

fn hashedrekord_v001(
    value: serde_json::Value,
    digest: &[u8; 32],
    signature: &[u8],
    verifier: EntryVerifier<'_>,
) -> Result<(), BodyError> {
    let entry: super::HashedRekord = spec(value)?;
    let hash = &entry.spec.data.hash;
    if hash.algorithm != "sha256" || hash.value != hex::encode(digest) {
        return Err(BodyError::DigestMismatch {
            logged: format!("{}:{}", hash.algorithm, hash.value),
            actual: format!("sha256:{}", hex::encode(digest)),
        });
    }
    if b64("signature", &entry.spec.signature.content)? != signature {
        return Err(BodyError::SignatureMismatch);
    }
    check_pem_verifier(&entry.spec.signature.public_key.content, verifier)
}

// ---- hashedrekord 0.0.2 ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashedRekordV002Body {
    #[serde(rename = "apiVersion")]
    _api_version: IgnoredAny,
    #[serde(rename = "kind")]
    _kind: IgnoredAny,
    spec: HashedRekordV002Spec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct HashedRekordV002Spec {
    hashed_rekord_v002: HashedRekordV002,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashedRekordV002 {
    data: HashOutput,
    signature: V2Signature,
}

fn hashedrekord_v002(
    logged: HashedRekordV002,
    content: EntryContent<'_>,
    verifier: EntryVerifier<'_>,
) -> Result<(), BodyError> {
    let alg = logged.data.hash_alg()?;
    let logged_digest = b64("data.digest", &logged.data.digest)?;
    let (actual, signature): (Vec<u8>, &[u8]) = match content {
        EntryContent::Message { digest, signature } => {
            if alg != HashAlg::Sha256 {
                return Err(BodyError::UnsupportedDigestAlgorithm {
                    algorithm: logged.data.algorithm,
                });
            }
            (digest.to_vec(), signature)
        }
        // DSSE on Rekor v2: a hashedrekord over the PAE, hashed as the entry says.
        EntryContent::Dsse(env) => (
            alg.digest(&dsse::pae(&env.payload_type, &env.payload)),
            single_signature(env, 1)?,
        ),
    };
    if logged_digest != actual {
        return Err(BodyError::DigestMismatch {
            logged: format!("{}:{}", logged.data.algorithm, hex::encode(&logged_digest)),
            actual: format!("{}:{}", logged.data.algorithm, hex::encode(&actual)),
        });
    }
    if b64("signature.content", &logged.signature.content)? != signature {
        return Err(BodyError::SignatureMismatch);
    }
    check_v2_verifier(&logged.signature.verifier, verifier, true)
}

// ---- dsse 0.0.1 ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DsseV001Body {
    #[serde(rename = "apiVersion")]
    _api_version: IgnoredAny,
    #[serde(rename = "kind")]
    _kind: IgnoredAny,
    spec: DsseV001,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DsseV001 {
    #[serde(rename = "envelopeHash")]
    _envelope_hash: V1Hash,
    payload_hash: V1Hash,
    signatures: Vec<DsseV001Signature>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V1Hash {
    algorithm: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DsseV001Signature {
    signature: String,
    verifier: String,
}

fn dsse_v001(
    logged: DsseV001,
    env: &Envelope,
    verifier: EntryVerifier<'_>,
) -> Result<(), BodyError> {
    check_payload_hash(
        &logged.payload_hash.algorithm,
        &logged.payload_hash.value,
        &env.payload,
    )?;
    let sigs = logged
        .signatures
        .iter()
        .map(|s| b64("signature", &s.signature))
        .collect::<Result<Vec<_>, _>>()?;
    check_signature_set(sigs, env)?;
    for s in &logged.signatures {
        check_pem_verifier(&s.verifier, verifier)?;
    }
    Ok(())
}

// ---- dsse 0.0.2 ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DsseV002Body {
    #[serde(rename = "apiVersion")]
    _api_version: IgnoredAny,
    #[serde(rename = "kind")]
    _kind: IgnoredAny,
    spec: DsseV002Spec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DsseV002Spec {
    dsse_v002: DsseV002,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DsseV002 {
    payload_hash: HashOutput,
    signatures: Vec<V2Signature>,
}

fn dsse_v002(
    logged: DsseV002,
    env: &Envelope,
    verifier: EntryVerifier<'_>,
) -> Result<(), BodyError> {
    let alg = logged.payload_hash.hash_alg()?;
    let logged_hash = b64("payloadHash.digest", &logged.payload_hash.digest)?;
    let actual = alg.digest(&env.payload);
    if logged_hash != actual {
        return Err(BodyError::PayloadHashMismatch {
            logged: format!(
                "{}:{}",
                logged.payload_hash.algorithm,
                hex::encode(&logged_hash)
            ),
            actual: format!("{}:{}", logged.payload_hash.algorithm, hex::encode(&actual)),
        });
    }
    let sigs = logged
        .signatures
        .iter()
        .map(|s| b64("signature content", &s.content))
        .collect::<Result<Vec<_>, _>>()?;
    check_signature_set(sigs, env)?;
    for s in &logged.signatures {
        // A DSSE signature covers the PAE itself: pure Ed25519, not its prehash variant.
        check_v2_verifier(&s.verifier, verifier, false)?;
    }
    Ok(())
}

// ---- intoto 0.0.2 ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntotoV002Body {
    #[serde(rename = "apiVersion")]
    _api_version: IgnoredAny,
    #[serde(rename = "kind")]
    _kind: IgnoredAny,
    spec: IntotoV002Spec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntotoV002Spec {
    content: IntotoV002Content,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IntotoV002Content {
    envelope: IntotoV002Envelope,
    #[serde(rename = "hash")]
    _hash: Option<V1Hash>,
    payload_hash: V1Hash,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IntotoV002Envelope {
    payload: Option<String>,
    payload_type: String,
    signatures: Vec<IntotoV002Signature>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IntotoV002Signature {
    #[serde(rename = "keyid")]
    _keyid: Option<String>,
    public_key: String,
    sig: String,
}

/// Rekor's intoto 0.0.2 stores the envelope's base64 text as bytes, so JSON shows it base64
/// encoded twice.
fn double_b64(what: &str, s: &str) -> Result<Vec<u8>, BodyError> {
    let inner = b64(what, s)?;
    let inner = std::str::from_utf8(&inner)
        .map_err(|_| BodyError::Malformed(format!("{what} is not base64 of base64 text")))?;
    B64.decode(inner)
        .map_err(|_| BodyError::Malformed(format!("{what} is not base64 of base64 text")))
}

fn intoto_v002(
    logged: IntotoV002Content,
    env: &Envelope,
    verifier: EntryVerifier<'_>,
) -> Result<(), BodyError> {
    check_payload_hash(
        &logged.payload_hash.algorithm,
        &logged.payload_hash.value,
        &env.payload,
    )?;
    let e = &logged.envelope;
    if e.payload_type != env.payload_type {
        return Err(BodyError::PayloadTypeMismatch {
            logged: e.payload_type.clone(),
            actual: env.payload_type.clone(),
        });
    }
    if let Some(payload) = &e.payload
        && double_b64("envelope payload", payload)? != env.payload
    {
        return Err(BodyError::PayloadMismatch);
    }
    let sigs = e
        .signatures
        .iter()
        .map(|s| double_b64("envelope signature", &s.sig))
        .collect::<Result<Vec<_>, _>>()?;
    check_signature_set(sigs, env)?;
    for s in &e.signatures {
        check_pem_verifier(&s.public_key, verifier)?;
    }
    Ok(())
}

// ---- the legacy entry point ----

/// [`check_entry_body`] for callers with only the body bytes, a message signature and a leaf
/// certificate (signing, gitsign-style signatures): hashedrekord 0.0.1 only.
pub(super) fn check_v001_message(
    body: &[u8],
    digest: &[u8; 32],
    signature: &[u8],
    leaf_der: &[u8],
) -> Result<(), BodyError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let (kind, version) = (field("kind"), field("apiVersion"));
    if kind != HASHEDREKORD || version != super::HASHEDREKORD_VERSION {
        return Err(BodyError::UnsupportedKind { kind, version });
    }
    hashedrekord_v001(
        value,
        digest,
        signature,
        EntryVerifier::Certificate(leaf_der),
    )
}
