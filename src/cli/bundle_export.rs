//! `signet bundle REV`: a commit's or tag's signature as a Sigstore bundle v0.3, for any
//! Sigstore client. The artifact is the DER signed attributes of the CMS signature (what the
//! ECDSA signature and, in signet's and gitsign's offline mode, the Rekor entry cover); the
//! bundle carries the leaf certificate, the embedded log entry with its rebuilt canonicalized
//! body, SET and inclusion proof, and the message signature. The signature is verified against
//! the trusted root first: signet never exports what it would not accept.

use super::args::BundleArgs;
use super::error::{CliError, Kind};
use super::verify::{open_repo, single_signed_object};
use super::{config, output, settings};
use crate::adapters::fs;
use crate::core::bundle::build_v03;
use crate::core::gitsig::{self, GitSigError};
use crate::core::keys::sha256;

fn unverifiable(id: &str, e: &GitSigError) -> CliError {
    let hint = match e {
        GitSigError::MissingLogEntry => {
            "this is a gitsign online-mode signature: its log entry is only in Rekor; signet notes fetch looks it up once and keeps it as a bundle, which signet notes show REV prints (docs/notes.md)"
        }
        _ => "only a signature that verifies (signet verify) can be exported",
    };
    CliError {
        kind: Kind::Verification,
        message: format!("{id}: cannot export the signature: {e}"),
        hint: Some(hint.into()),
    }
}

/// `signet bundle [REV] [-o FILE]`.
pub fn run_bundle(args: BundleArgs) -> Result<(), CliError> {
    let settings = settings::load()?;
    let root = config::trusted_root_from(args.trusted_root.as_deref(), &settings)?;
    let repo = open_repo()?;
    let (object, split) = single_signed_object(&repo, &args.rev, "bundle")?;
    let id = &object.id;
    let checked = gitsig::check_signature(&split.signature, &split.payload)
        .map_err(|e| unverifiable(id, &e))?;
    let verified = gitsig::verify_embedded(&checked, &root).map_err(|e| unverifiable(id, &e))?;
    let entry = gitsig::embedded_entry(&checked).map_err(|e| unverifiable(id, &e))?;
    let digest = sha256(&checked.parsed.signed_attrs);
    let bundle = build_v03(
        &checked.leaf.der,
        &entry,
        &digest,
        &checked.parsed.signature,
        &gitsig::timestamp_tokens(&checked.parsed),
    );
    let mut json = serde_json::to_vec_pretty(&bundle).map_err(|e| {
        CliError::usage(
            format!("cannot encode the bundle: {e}"),
            "this is a bug in signet",
        )
    })?;
    json.push(b'\n');
    if let Some(path) = &args.artifact {
        fs::write_atomic(path, &checked.parsed.signed_attrs).map_err(|e| {
            CliError::usage(
                format!("cannot write {}: {e}", path.display()),
                "check that the directory exists and is writable",
            )
        })?;
    }
    match &args.output {
        Some(path) => fs::write_atomic(path, &json).map_err(|e| {
            CliError::usage(
                format!("cannot write {}: {e}", path.display()),
                "check that the directory exists and is writable",
            )
        })?,
        None => output::bytes(&json).map_err(|e| {
            CliError::usage(format!("cannot write the bundle: {e}"), "check stdout")
        })?,
    }
    output::info(format_args!(
        "bundle of {id}: signed by {} (issuer {}), {} entry {}; artifact sha256:{}",
        verified.identity,
        verified.issuer.as_deref().unwrap_or("none"),
        verified.log_url,
        verified.log_index,
        hex::encode(digest)
    ));
    output::info(format_args!(
        "verify it with: sigstore verify identity --offline --bundle FILE --cert-identity {} --cert-oidc-issuer {} sha256:{}",
        verified.identity,
        verified.issuer.as_deref().unwrap_or("ISSUER"),
        hex::encode(digest)
    ));
    Ok(())
}
