//! CLI errors: every library error is mapped to a message, a `hint:` and an exit code
//! (0 ok, 1 verification/policy failure, 2 usage/config/transport).

use std::fmt;
use std::process::ExitCode;

use crate::core::bundle::BundleError;
use crate::core::verify::VerifyError;
use crate::flow::PortError;
use crate::flow::sign::SignError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Verification or policy failure: exit 1.
    Verification,
    /// Usage, configuration, I/O or transport problem: exit 2.
    Usage,
}

#[derive(Debug)]
pub struct CliError {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
}

impl CliError {
    pub fn usage(message: impl fmt::Display, hint: impl Into<String>) -> Self {
        Self {
            kind: Kind::Usage,
            message: message.to_string(),
            hint: Some(hint.into()),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self.kind {
            Kind::Verification => ExitCode::from(1),
            Kind::Usage => ExitCode::from(2),
        }
    }
}

pub fn from_verify(e: VerifyError) -> CliError {
    let hint = match &e {
        VerifyError::Bundle(BundleError::Unsupported(_)) => {
            "signet verifies bundles v0.1 to v0.3 with message signatures or DSSE envelopes, logged in Rekor v1 or v2"
        }
        VerifyError::Bundle(_) => {
            "check that the file is a Sigstore bundle (.sigstore.json) and is not truncated"
        }
        VerifyError::Tlog(crate::core::rekor::TlogError::UnknownLog { .. }) => {
            "the bundle was logged by a transparency log the trusted root does not list; use --trusted-root for the right Sigstore instance"
        }
        VerifyError::Tlog(_) => {
            "the transparency log evidence in the bundle is invalid or was tampered with"
        }
        VerifyError::Certificate(crate::core::x509::CertError::UntrustedIssuer { .. }) => {
            "the certificate was not issued by a CA in the trusted root; use --trusted-root for the right Sigstore instance"
        }
        VerifyError::Certificate(_) | VerifyError::BundleContainsRoot { .. } => {
            "the signing certificate is not acceptable at the time the log recorded the signature"
        }
        VerifyError::Timestamp(_) => {
            "the RFC 3161 timestamp does not verify against the trusted root's timestamp authorities; use --trusted-root for the right Sigstore instance"
        }
        VerifyError::NoVerifiedTime => {
            "the bundle carries no signed time (no log entry with a signed entry timestamp, no RFC 3161 timestamp); it cannot be verified offline"
        }
        VerifyError::Dsse(_) => {
            "the attestation does not name this artifact among its subjects, or the envelope is malformed"
        }
        VerifyError::Key(_) => "pass the signer's public key in PEM (P-256, P-384 or Ed25519)",
        VerifyError::KeyNotIdentity => {
            "verify it with --key and the signer's PEM public key instead of an identity"
        }
        VerifyError::IdentityNotKey => {
            "verify it with --certificate-identity and --certificate-oidc-issuer instead of --key"
        }
        VerifyError::Sct(_) => {
            "the certificate's transparency timestamp does not verify against the trusted root's CT logs"
        }
        VerifyError::Body(_) | VerifyError::MessageDigestMismatch { .. } => {
            "the bundle does not belong to this artifact, or its log entry was swapped"
        }
        VerifyError::Signature(_) => {
            "the artifact was modified after signing, or the bundle is for another file"
        }
        VerifyError::IdentityMismatch { .. } | VerifyError::IssuerMismatch { .. } => {
            "check --certificate-identity and --certificate-oidc-issuer (both are matched exactly)"
        }
    };
    CliError {
        kind: Kind::Verification,
        message: format!("verification failed: {e}"),
        hint: Some(hint.into()),
    }
}

fn port_hint(e: &PortError) -> &'static str {
    match e {
        PortError::Transport { .. } => {
            "check the service URL (--fulcio-url/--rekor-url or SIGNET_FULCIO_URL/SIGNET_REKOR_URL) and that it is running"
        }
        PortError::Server {
            service: "Fulcio", ..
        } => {
            "Fulcio refused the request; the identity token may be expired, for another audience, or from an issuer it does not trust"
        }
        PortError::Server { .. } => "the transparency log refused the entry; see its message above",
        PortError::Protocol { .. } => {
            "the service does not speak the expected API version; check the URL"
        }
    }
}

pub fn from_sign(e: SignError) -> CliError {
    let (kind, hint) = match &e {
        SignError::Token(_) => (
            Kind::Usage,
            "pass a fresh OIDC identity token (a JWT) with --identity-token or SIGSTORE_ID_TOKEN",
        ),
        SignError::Service(p) => (Kind::Usage, port_hint(p)),
        SignError::Untrusted(_) | SignError::SelfCheck(_) => (
            Kind::Verification,
            "the services' answers do not verify against the trusted root; use --trusted-root for the instance you sign with",
        ),
        SignError::Internal(_) => (Kind::Usage, "this is a bug in signet; please report it"),
    };
    CliError {
        kind,
        message: format!("signing failed: {e}"),
        hint: Some(hint.into()),
    }
}
