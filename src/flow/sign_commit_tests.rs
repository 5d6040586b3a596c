//! Tests for `sign_commit` against the in-memory fake Sigstore (`core::testworld`).

use std::cell::{Cell, RefCell};

use der::DecodePem;
use spki::SubjectPublicKeyInfoOwned;

use super::*;
use crate::core::rekor::{BodyError, TlogEntry};
use crate::core::testworld::*;
use crate::core::token::TokenError;
use crate::core::token::tests::jwt;
use crate::flow::PortError;

#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    FulcioDown,
    RekorDown,
    LogsOtherDigest,
}

struct FakeFulcio<'a> {
    world: &'a World,
    fault: Fault,
    calls: Cell<u32>,
}

impl CertIssuer for FakeFulcio<'_> {
    async fn issue(
        &self,
        _token: &IdentityToken,
        pem: &str,
        _proof: &[u8],
    ) -> Result<Vec<Vec<u8>>, PortError> {
        self.calls.set(self.calls.get() + 1);
        if self.fault == Fault::FulcioDown {
            return Err(PortError::Transport {
                service: "Fulcio",
                url: "http://fulcio.test".into(),
                detail: "connection refused".into(),
            });
        }
        let spki = SubjectPublicKeyInfoOwned::from_pem(pem.as_bytes()).unwrap();
        let spki = der::Encode::to_der(&spki).unwrap();
        Ok(vec![self.world.issue_leaf(&spki, T0)])
    }
}

struct FakeRekor<'a> {
    world: &'a World,
    fault: Fault,
    sent: RefCell<Vec<HashedRekord>>,
}

impl TransparencyLog for FakeRekor<'_> {
    async fn submit(&self, entry: &HashedRekord) -> Result<TlogEntry, PortError> {
        self.sent.borrow_mut().push(entry.clone());
        if self.fault == Fault::RekorDown {
            return Err(PortError::Server {
                service: "Rekor",
                status: 500,
                message: "boom".into(),
            });
        }
        let mut entry = entry.clone();
        if self.fault == Fault::LogsOtherDigest {
            entry.spec.data.hash.value = hex::encode([1u8; 32]);
        }
        Ok(self
            .world
            .log_entry(&serde_json::to_vec(&entry).unwrap(), T0 + 5, 3))
    }
}

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime(T0 + 1)
    }
}

fn token(exp: i64) -> IdentityToken {
    IdentityToken::new(jwt(
        &serde_json::json!({"iss": ISSUER, "sub": "alice", "email": EMAIL, "exp": exp}),
    ))
    .unwrap()
}

fn commit(committer: &str) -> Vec<u8> {
    format!(
        "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
         author A <a@example.com> 1700000000 +0000\n\
         committer C <{committer}> 1700000000 +0000\n\nmessage\n"
    )
    .into_bytes()
}

struct Run {
    result: Result<SignedPayload, PayloadSignError>,
    fulcio_calls: u32,
    sent: Vec<HashedRekord>,
    world: World,
}

async fn run(fault: Fault, payload: &[u8], options: PayloadOptions, exp: i64) -> Run {
    let world = World::new();
    let fulcio = FakeFulcio {
        world: &world,
        fault,
        calls: Cell::new(0),
    };
    let rekor = FakeRekor {
        world: &world,
        fault,
        sent: RefCell::new(vec![]),
    };
    let result = sign_payload(
        &fulcio,
        &rekor,
        None::<&crate::adapters::tsa::TsaClient>,
        &FixedClock,
        &world.trusted_root(),
        &token(exp),
        payload,
        options,
    )
    .await;
    let (fulcio_calls, sent) = (fulcio.calls.get(), rekor.sent.into_inner());
    Run {
        result,
        fulcio_calls,
        sent,
        world,
    }
}

const OFFLINE: PayloadOptions = PayloadOptions {
    mode: LogMode::Offline,
    match_committer: false,
};

#[tokio::test]
async fn offline_embeds_a_verifiable_entry_over_the_signed_attributes() {
    let payload = commit(EMAIL);
    let r = run(Fault::None, &payload, OFFLINE, T0 + 600).await;
    let signed = r.result.unwrap();
    assert_eq!(signed.identity, EMAIL);
    assert_eq!(signed.log_index, 1002);
    assert_eq!(signed.signed_at, UnixTime(T0 + 1));
    assert!(signed.logged_object_id.is_none());
    let p = cms::parse(&cms::dearmor(signed.armored.as_bytes()).unwrap()).unwrap();
    assert_eq!(p.certificates, vec![signed.leaf_der.clone()]);
    assert_eq!(p.message_digest, sha256(&payload));
    assert_eq!(p.signing_time, Some(UnixTime(T0 + 1)));
    // The logged entry is over sha256(signed attributes) with the CMS signature.
    assert_eq!(r.sent.len(), 1);
    let sent = &r.sent[0];
    assert_eq!(
        sent.spec.data.hash.value,
        hex::encode(sha256(&p.signed_attrs))
    );
    // The embedded entry, with the body rebuilt, verifies against the trusted root.
    let attr = p.unsigned(tle::OID_REKOR_TLE).unwrap();
    let (octets, _) = crate::core::asn1::read_tlv(attr.single_value().unwrap()).unwrap();
    let mut entry = tle::decode(octets.content).unwrap();
    assert!(entry.body.is_empty());
    entry.body = serde_json::to_vec(sent).unwrap();
    let leaf = Leaf::from_der(&signed.leaf_der).unwrap();
    signing::check_log_entry(
        &entry,
        &sha256(&p.signed_attrs),
        &p.signature,
        &leaf,
        &r.world.trusted_root(),
    )
    .unwrap();
}

#[tokio::test]
async fn online_logs_the_predicted_commit_id() {
    let payload = commit(EMAIL);
    let options = PayloadOptions {
        mode: LogMode::Online,
        match_committer: false,
    };
    let r = run(Fault::None, &payload, options, T0 + 600).await;
    let signed = r.result.unwrap();
    let p = cms::parse(&signed.der).unwrap();
    assert!(p.unsigned_attributes.is_empty(), "nothing embedded");
    let id = gitobject::predicted_id(&payload, signed.armored.as_bytes()).unwrap();
    assert_eq!(signed.logged_object_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        r.sent[0].spec.data.hash.value,
        hex::encode(sha256(id.as_bytes()))
    );
    // Online mode needs a git object to predict the id of.
    let r = run(Fault::None, b"not an object", options, T0 + 600).await;
    assert!(matches!(
        r.result,
        Err(PayloadSignError::Payload(PayloadError::NotAnObject))
    ));
    assert_eq!(r.fulcio_calls, 0);
}

#[tokio::test]
async fn match_committer() {
    let options = PayloadOptions {
        mode: LogMode::Offline,
        match_committer: true,
    };
    let r = run(Fault::None, &commit(EMAIL), options, T0 + 600).await;
    r.result.unwrap();
    let r = run(
        Fault::None,
        &commit("mallory@example.com"),
        options,
        T0 + 600,
    )
    .await;
    assert_eq!(
        r.result.unwrap_err(),
        PayloadSignError::CommitterMismatch {
            certificate: EMAIL.into(),
            payload: "mallory@example.com".into(),
            role: "committer",
        }
    );
    assert!(r.sent.is_empty(), "nothing logged for a refused signature");
    let r = run(Fault::None, b"blob", options, T0 + 600).await;
    assert!(matches!(r.result, Err(PayloadSignError::Payload(_))));
    assert_eq!(r.fulcio_calls, 0);
}

/// The signing error inside, unboxed.
fn sign_error(r: Run) -> SignError {
    match r.result {
        Err(PayloadSignError::Sign(e)) => *e,
        other => panic!("expected a SignError, got {other:?}"),
    }
}

#[tokio::test]
async fn failures_carry_their_cause() {
    let payload = commit(EMAIL);
    let r = run(Fault::None, &payload, OFFLINE, T0 - 1).await;
    assert_eq!(r.fulcio_calls, 0, "no request with an expired token");
    assert!(matches!(
        sign_error(r),
        SignError::Token(TokenError::Expired { .. })
    ));
    let r = run(Fault::FulcioDown, &payload, OFFLINE, T0 + 600).await;
    assert!(r.sent.is_empty());
    assert!(matches!(
        sign_error(r),
        SignError::Service(PortError::Transport { .. })
    ));
    let r = run(Fault::RekorDown, &payload, OFFLINE, T0 + 600).await;
    assert!(matches!(
        sign_error(r),
        SignError::Service(PortError::Server { status: 500, .. })
    ));
    let r = run(Fault::LogsOtherDigest, &payload, OFFLINE, T0 + 600).await;
    assert!(matches!(
        sign_error(r),
        SignError::Untrusted(SigningError::Body(BodyError::DigestMismatch { .. }))
    ));
}
