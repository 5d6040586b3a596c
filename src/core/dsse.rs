//! DSSE envelopes (the bundle's `dsseEnvelope`): strict, size-limited parsing, the
//! pre-authentication encoding (PAE) the signature covers, and the check that an in-toto
//! statement inside names the artifact being verified. Verifying the signature itself is the
//! caller's job (with the signer's key over [`pae`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// The payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The in-toto statement types accepted in the payload's `_type`.
pub const IN_TOTO_STATEMENT_TYPES: [&str; 2] = [
    "https://in-toto.io/Statement/v0.1",
    "https://in-toto.io/Statement/v1",
];
/// Largest decoded payload accepted (a bundle is at most 1 MiB of JSON anyway).
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// Largest envelope JSON [`Envelope::parse`] accepts (base64 makes the payload 4/3 larger).
pub const MAX_ENVELOPE_BYTES: usize = 2 * MAX_PAYLOAD_BYTES;
/// Most signatures an envelope may carry.
pub const MAX_SIGNATURES: usize = 16;
/// Largest decoded signature accepted (ECDSA P-521 DER is 139 bytes, RSA-4096 512).
pub const MAX_SIGNATURE_BYTES: usize = 1024;
/// Largest `payloadType` / `keyid` accepted.
pub const MAX_TEXT_BYTES: usize = 1024;
/// Most subjects an in-toto statement may list before we refuse to search it.
pub const MAX_SUBJECTS: usize = 4096;

/// A DSSE envelope with its payload and signatures decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub payload: Vec<u8>,
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope: the raw signature bytes (DER for ECDSA) and the optional,
/// unauthenticated key id (empty when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    pub sig: Vec<u8>,
    pub keyid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsseError {
    #[error("DSSE envelope is {size} bytes, more than the {limit}-byte limit")]
    EnvelopeTooLarge { size: usize, limit: usize },
    #[error("DSSE envelope is not valid JSON: {0}")]
    Json(String),
    #[error("DSSE envelope is not a JSON object")]
    NotAnObject,
    #[error("DSSE envelope has no {0}")]
    Missing(&'static str),
    #[error("DSSE envelope has an unknown field {0:?}")]
    UnknownField(String),
    #[error("DSSE envelope field {field} is not {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("DSSE envelope field {field} is not valid base64")]
    Base64 { field: &'static str },
    #[error("DSSE envelope field {field} is {size} bytes, more than the {limit}-byte limit")]
    TooLarge {
        field: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("DSSE envelope has {count} signatures, more than the limit of {limit}")]
    TooManySignatures { count: usize, limit: usize },
    #[error("DSSE envelope has no signatures")]
    NoSignatures,
    #[error("DSSE envelope signature {index} is empty")]
    EmptySignature { index: usize },
    #[error("DSSE payload type is {found:?}, expected {expected:?}")]
    PayloadType {
        found: String,
        expected: &'static str,
    },
    #[error("in-toto statement is not valid JSON: {0}")]
    StatementJson(String),
    #[error("in-toto statement has type {0:?}, not a known in-toto Statement type")]
    StatementType(String),
    #[error("in-toto statement has no subjects")]
    NoSubjects,
    #[error("in-toto statement has {count} subjects, more than the limit of {limit}")]
    TooManySubjects { count: usize, limit: usize },
    #[error("in-toto statement subject {index} is malformed: {detail}")]
    MalformedSubject { index: usize, detail: &'static str },
    #[error(
        "no subject of the in-toto statement has sha256 digest {artifact} (its sha256 subjects: {subjects:?})"
    )]
    SubjectNotFound {
        artifact: String,
        subjects: Vec<String>,
    },
}

fn text_field(
    obj: &serde_json::Map<String, serde_json::Value>,
    field: &'static str,
) -> Result<Option<String>, DsseError> {
    match obj.get(field) {
        None => Ok(None),
        Some(serde_json::Value::String(s)) if s.len() > MAX_TEXT_BYTES => {
            Err(DsseError::TooLarge {
                field,
                size: s.len(),
                limit: MAX_TEXT_BYTES,
            })
        }
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DsseError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

fn b64_field(
    obj: &serde_json::Map<String, serde_json::Value>,
    field: &'static str,
    limit: usize,
) -> Result<Vec<u8>, DsseError> {
    let text = match obj.get(field) {
        None => return Err(DsseError::Missing(field)),
        Some(serde_json::Value::String(s)) => s,
        Some(_) => {
            return Err(DsseError::WrongType {
                field,
                expected: "a base64 string",
            });
        }
    };
    // Base64 needs 4 characters for 3 bytes: refuse before decoding anything large.
    let upper = text.len() / 4 * 3;
    if upper > limit + 2 {
        return Err(DsseError::TooLarge {
            field,
            size: upper,
            limit,
        });
    }
    let bytes = B64.decode(text).map_err(|_| DsseError::Base64 { field })?;
    if bytes.len() > limit {
        return Err(DsseError::TooLarge {
            field,
            size: bytes.len(),
            limit,
        });
    }
    Ok(bytes)
}

impl Envelope {
    /// Parse an envelope from JSON bytes (a standalone `.dsse.json`, or fuzzing): bounded by
    /// [`MAX_ENVELOPE_BYTES`], then [`Envelope::from_json`].
    pub fn parse(bytes: &[u8]) -> Result<Self, DsseError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(DsseError::EnvelopeTooLarge {
                size: bytes.len(),
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| DsseError::Json(e.to_string()))?;
        Self::from_json(&value)
    }

    /// Parse the bundle's `dsseEnvelope` (proto3 JSON: `payload` and `sig` standard base64,
    /// `payloadType` a string, `keyid` an optional string). Unknown fields are refused, sizes
    /// are bounded, and at least one non-empty signature is required.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, DsseError> {
        let obj = value.as_object().ok_or(DsseError::NotAnObject)?;
        if let Some(unknown) = obj
            .keys()
            .find(|k| !["payload", "payloadType", "signatures"].contains(&k.as_str()))
        {
            return Err(DsseError::UnknownField(unknown.clone()));
        }
        let payload = b64_field(obj, "payload", MAX_PAYLOAD_BYTES)?;
        let payload_type = text_field(obj, "payloadType")?
            .filter(|t| !t.is_empty())
            .ok_or(DsseError::Missing("payloadType"))?;
        let sigs = match obj.get("signatures") {
            None => return Err(DsseError::NoSignatures),
            Some(serde_json::Value::Array(a)) => a,
            Some(_) => {
                return Err(DsseError::WrongType {
                    field: "signatures",
                    expected: "an array",
                });
            }
        };
        if sigs.is_empty() {
            return Err(DsseError::NoSignatures);
        }
        if sigs.len() > MAX_SIGNATURES {
            return Err(DsseError::TooManySignatures {
                count: sigs.len(),
                limit: MAX_SIGNATURES,
            });
        }
        let mut signatures = Vec::with_capacity(sigs.len());
        for (index, s) in sigs.iter().enumerate() {
            let s = s.as_object().ok_or(DsseError::WrongType {
                field: "signatures[]",
                expected: "an object",
            })?;
            if let Some(unknown) = s.keys().find(|k| !["sig", "keyid"].contains(&k.as_str())) {
                return Err(DsseError::UnknownField(format!(
                    "signatures[{index}].{unknown}"
                )));
            }
            let sig = b64_field(s, "sig", MAX_SIGNATURE_BYTES)?;
            if sig.is_empty() {
                return Err(DsseError::EmptySignature { index });
            }
            let keyid = text_field(s, "keyid")?.unwrap_or_default();
            signatures.push(EnvelopeSignature { sig, keyid });
        }
        Ok(Self {
            payload,
            payload_type,
            signatures,
        })
    }
}

/// The DSSE v1 pre-authentication encoding, the bytes a DSSE signature covers:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload`, lengths in ASCII decimal bytes.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Check that the envelope carries an in-toto statement (payload type
/// [`IN_TOTO_PAYLOAD_TYPE`], `_type` one of [`IN_TOTO_STATEMENT_TYPES`]) with a subject whose
/// `digest.sha256` is the artifact's SHA-256 (hex, compared case-insensitively).
pub fn check_in_toto_subject(
    envelope: &Envelope,
    artifact_sha256: &[u8; 32],
) -> Result<(), DsseError> {
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(DsseError::PayloadType {
            found: envelope.payload_type.clone(),
            expected: IN_TOTO_PAYLOAD_TYPE,
        });
    }
    let statement: serde_json::Value = serde_json::from_slice(&envelope.payload)
        .map_err(|e| DsseError::StatementJson(e.to_string()))?;
    let statement = statement
        .as_object()
        .ok_or_else(|| DsseError::StatementJson("the statement is not a JSON object".into()))?;
    let kind = statement
        .get("_type")
        .and_then(|t| t.as_str())
        .unwrap_or("");
    if !IN_TOTO_STATEMENT_TYPES.contains(&kind) {
        return Err(DsseError::StatementType(kind.to_owned()));
    }
    let subjects = match statement.get("subject") {
        Some(serde_json::Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(DsseError::NoSubjects),
    };
    if subjects.len() > MAX_SUBJECTS {
        return Err(DsseError::TooManySubjects {
            count: subjects.len(),
            limit: MAX_SUBJECTS,
        });
    }
    let wanted = hex::encode(artifact_sha256);
    let mut seen = Vec::new();
    for (index, subject) in subjects.iter().enumerate() {
        let digests = subject
            .as_object()
            .ok_or(DsseError::MalformedSubject {
                index,
                detail: "not an object",
            })?
            .get("digest")
            .and_then(|d| d.as_object())
            .ok_or(DsseError::MalformedSubject {
                index,
                detail: "no digest object",
            })?;
        match digests.get("sha256") {
            None => {}
            Some(serde_json::Value::String(hex)) => {
                if hex.eq_ignore_ascii_case(&wanted) {
                    return Ok(());
                }
                seen.push(hex.clone());
            }
            Some(_) => {
                return Err(DsseError::MalformedSubject {
                    index,
                    detail: "digest.sha256 is not a string",
                });
            }
        }
    }
    Err(DsseError::SubjectNotFound {
        artifact: wanted,
        subjects: seen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A_TXT_SHA256: &str = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";

    fn statement(kind: &str, subjects: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "_type": kind,
            "subject": subjects,
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {}
        }))
        .unwrap()
    }

    fn envelope(payload: &[u8]) -> Envelope {
        Envelope {
            payload: payload.to_vec(),
            payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
            signatures: vec![EnvelopeSignature {
                sig: vec![1, 2, 3],
                keyid: String::new(),
            }],
        }
    }

    fn digest() -> [u8; 32] {
        hex::decode(A_TXT_SHA256).unwrap().try_into().unwrap()
    }

    #[test]
    fn pae_matches_the_spec_example() {
        // The example from the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn parses_bundle_envelopes() {
        let v = json!({
            "payload": B64.encode(b"{}"),
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": B64.encode([9u8; 70]), "keyid": ""}, {"sig": "AQ=="}]
        });
        let env = Envelope::from_json(&v).unwrap();
        assert_eq!(env.payload, b"{}");
        assert_eq!(env.payload_type, IN_TOTO_PAYLOAD_TYPE);
        assert_eq!(env.signatures.len(), 2);
        assert_eq!(env.signatures[0].sig, vec![9u8; 70]);
        assert_eq!(env.signatures[1].keyid, "");
    }

    #[test]
    fn parses_the_conformance_envelopes() {
        let cases = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/conformance/bundle-verify"
        );
        let mut checked = 0;
        for case in [
            "happy-path-intoto-in-dsse-v3",
            "rekor2-dsse-happy-path",
            "intoto-with-custom-trust-root",
        ] {
            let bytes = std::fs::read(format!("{cases}/{case}/bundle.sigstore.json")).unwrap();
            let bundle: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let env = Envelope::from_json(&bundle["dsseEnvelope"]).unwrap();
            assert_eq!(env.signatures.len(), 1, "{case}");
            let artifact = std::fs::read(format!("{cases}/{case}/artifact"))
                .or_else(|_| std::fs::read(format!("{cases}/a.txt")))
                .unwrap();
            let artifact = crate::core::keys::sha256(&artifact);
            check_in_toto_subject(&env, &artifact).unwrap();
            assert!(matches!(
                check_in_toto_subject(&env, &[0; 32]),
                Err(DsseError::SubjectNotFound { .. })
            ));
            checked += 1;
        }
        assert_eq!(checked, 3);
    }

    #[test]
    fn rejects_malformed_envelopes() {
        let good = json!({
            "payload": "e30=",
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": "AQID", "keyid": "k"}]
        });
        Envelope::from_json(&good).unwrap();
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            Envelope::from_json(&v).unwrap_err()
        };
        assert_eq!(
            Envelope::from_json(&json!([])).unwrap_err(),
            DsseError::NotAnObject
        );
        assert_eq!(
            Envelope::parse(&serde_json::to_vec(&good).unwrap()),
            Envelope::from_json(&good)
        );
        assert!(matches!(Envelope::parse(b"{"), Err(DsseError::Json(_))));
        assert_eq!(
            Envelope::parse(&vec![b' '; MAX_ENVELOPE_BYTES + 1]),
            Err(DsseError::EnvelopeTooLarge {
                size: MAX_ENVELOPE_BYTES + 1,
                limit: MAX_ENVELOPE_BYTES
            })
        );
        assert_eq!(
            edit(&|v| v["extra"] = 1.into()),
            DsseError::UnknownField("extra".into())
        );
        assert_eq!(
            edit(&|v| v["signatures"][0]["cert"] = "x".into()),
            DsseError::UnknownField("signatures[0].cert".into())
        );
        assert_eq!(
            edit(&|v| {
                v.as_object_mut().unwrap().remove("payload");
            }),
            DsseError::Missing("payload")
        );
        assert_eq!(
            edit(&|v| v["payloadType"] = "".into()),
            DsseError::Missing("payloadType")
        );
        assert_eq!(
            edit(&|v| v["payloadType"] = 5.into()),
            DsseError::WrongType {
                field: "payloadType",
                expected: "a string"
            }
        );
        assert_eq!(
            edit(&|v| v["payload"] = "!!!!".into()),
            DsseError::Base64 { field: "payload" }
        );
        assert_eq!(
            edit(&|v| v["signatures"][0]["sig"] = "AQI".into()),
            DsseError::Base64 { field: "sig" }
        );
        assert_eq!(
            edit(&|v| v["signatures"][0]["sig"] = "".into()),
            DsseError::EmptySignature { index: 0 }
        );
        assert_eq!(
            edit(&|v| v["signatures"] = json!([])),
            DsseError::NoSignatures
        );
        assert_eq!(
            edit(&|v| v["signatures"] = json!({})),
            DsseError::WrongType {
                field: "signatures",
                expected: "an array"
            }
        );
        assert_eq!(
            edit(&|v| v["signatures"][0]["keyid"] = json!(null)),
            DsseError::WrongType {
                field: "keyid",
                expected: "a string"
            }
        );
        assert_eq!(
            edit(&|v| v["signatures"] = json!(vec![json!({"sig": "AQ=="}); 17])),
            DsseError::TooManySignatures {
                count: 17,
                limit: MAX_SIGNATURES
            }
        );
        assert!(matches!(
            edit(&|v| v["payload"] = B64.encode(vec![0u8; MAX_PAYLOAD_BYTES + 1]).into()),
            DsseError::TooLarge {
                field: "payload",
                ..
            }
        ));
        assert!(matches!(
            edit(&|v| v["signatures"][0]["sig"] = B64.encode([1u8; 1025]).into()),
            DsseError::TooLarge { field: "sig", .. }
        ));
    }

    #[test]
    fn subject_must_name_the_artifact() {
        let d = digest();
        for kind in IN_TOTO_STATEMENT_TYPES {
            let env = envelope(&statement(
                kind,
                json!([
                    {"name": "other", "digest": {"sha512": "00"}},
                    {"name": "a.txt", "digest": {"sha256": A_TXT_SHA256.to_uppercase()}}
                ]),
            ));
            check_in_toto_subject(&env, &d).unwrap();
        }
        let env = envelope(&statement(
            IN_TOTO_STATEMENT_TYPES[1],
            json!([{"name": "b", "digest": {"sha256": "ab"}}]),
        ));
        assert_eq!(
            check_in_toto_subject(&env, &d),
            Err(DsseError::SubjectNotFound {
                artifact: A_TXT_SHA256.into(),
                subjects: vec!["ab".into()]
            })
        );
    }

    #[test]
    fn rejects_statements_that_are_not_in_toto() {
        let d = digest();
        let subjects = json!([{"name": "a.txt", "digest": {"sha256": A_TXT_SHA256}}]);
        let mut env = envelope(&statement(IN_TOTO_STATEMENT_TYPES[1], subjects.clone()));
        env.payload_type = "application/json".into();
        assert_eq!(
            check_in_toto_subject(&env, &d),
            Err(DsseError::PayloadType {
                found: "application/json".into(),
                expected: IN_TOTO_PAYLOAD_TYPE
            })
        );
        let env = envelope(&statement("https://in-toto.io/Statement/v2", subjects));
        assert_eq!(
            check_in_toto_subject(&env, &d),
            Err(DsseError::StatementType(
                "https://in-toto.io/Statement/v2".into()
            ))
        );
        assert!(matches!(
            check_in_toto_subject(&envelope(b"not json"), &d),
            Err(DsseError::StatementJson(_))
        ));
        assert!(matches!(
            check_in_toto_subject(&envelope(b"[1]"), &d),
            Err(DsseError::StatementJson(_))
        ));
        let none = envelope(&statement(IN_TOTO_STATEMENT_TYPES[0], json!([])));
        assert_eq!(check_in_toto_subject(&none, &d), Err(DsseError::NoSubjects));
        let bad = envelope(&statement(IN_TOTO_STATEMENT_TYPES[0], json!(["a.txt"])));
        assert_eq!(
            check_in_toto_subject(&bad, &d),
            Err(DsseError::MalformedSubject {
                index: 0,
                detail: "not an object"
            })
        );
        let bad = envelope(&statement(
            IN_TOTO_STATEMENT_TYPES[0],
            json!([{"name": "a", "digest": {"sha256": 5}}]),
        ));
        assert_eq!(
            check_in_toto_subject(&bad, &d),
            Err(DsseError::MalformedSubject {
                index: 0,
                detail: "digest.sha256 is not a string"
            })
        );
        let no_digest = envelope(&statement(
            IN_TOTO_STATEMENT_TYPES[0],
            json!([{"name": "a"}]),
        ));
        assert_eq!(
            check_in_toto_subject(&no_digest, &d),
            Err(DsseError::MalformedSubject {
                index: 0,
                detail: "no digest object"
            })
        );
    }
}
