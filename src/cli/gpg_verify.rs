//! gpg mode verification: git runs `signet --status-fd=1 --verify SIGFILE -` with the payload on
//! stdin. Status lines go to the status descriptor (`NEWSIG`, then exactly one of `GOODSIG`,
//! `BADSIG`, `ERRSIG`, then `VALIDSIG` and a `TRUST_*` line on success); what `git log
//! --show-signature` shows goes to stderr. Exit 0 only for a good signature whose signer the
//! policy does not reject.

use std::io::Read;

use super::error::{CliError, Kind};
use super::gpg::MAX_PAYLOAD_BYTES;
use super::output::{self, StatusSink};
use super::settings;
use super::verify::{Notes, StoredNote, Verifier, failure_hint, success_lines};
use crate::core::cms::MAX_CMS_BYTES;
use crate::core::gitobject::{self, ObjectKind};
use crate::core::gitsig::{self, Severity};
use crate::core::gpg::{self, VerifyRequest};
use crate::core::policy::Trust;

const HINT: &str = "git runs signet --status-fd=1 --verify SIGFILE - with the signed commit or tag on standard input";

fn read_limited(mut reader: impl Read, limit: usize, what: &str) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    reader
        .by_ref()
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::usage(format!("cannot read {what}: {e}"), HINT))?;
    if bytes.len() > limit {
        return Err(CliError::usage(
            format!("{what} is larger than {limit} bytes"),
            HINT,
        ));
    }
    Ok(bytes)
}

fn inputs(req: &VerifyRequest) -> Result<(Vec<u8>, Vec<u8>), CliError> {
    let open = |path: &str, what: &str| {
        std::fs::File::open(path)
            .map_err(|e| CliError::usage(format!("cannot open {what} {path}: {e}"), HINT))
    };
    let signature = read_limited(
        open(&req.signature_file, "the signature file")?,
        MAX_CMS_BYTES * 2,
        "the signature",
    )?;
    let payload = match req.data.as_deref() {
        None | Some("-") => read_limited(
            std::io::stdin().lock(),
            MAX_PAYLOAD_BYTES,
            "the signed data on standard input",
        )?,
        Some(path) => read_limited(
            open(path, "the signed data")?,
            MAX_PAYLOAD_BYTES,
            "the signed data",
        )?,
    };
    Ok((signature, payload))
}

fn status_error(e: std::io::Error) -> CliError {
    CliError::usage(
        format!("cannot write status lines: {e}"),
        "pass --status-fd=1 (what git passes) or a descriptor open for writing",
    )
}

/// Verify for git. Status lines are written before any error is returned.
pub fn verify(req: &VerifyRequest) -> Result<(), CliError> {
    let mut status = output::open_status(req.status_fd).map_err(|e| {
        CliError::usage(
            format!(
                "cannot write status lines to file descriptor {:?}: {e}",
                req.status_fd
            ),
            "pass --status-fd=1 (what git passes) or a descriptor open for writing",
        )
    })?;
    status.write_line(&gpg::newsig()).map_err(status_error)?;
    let (signature, payload, verifier) = match prepare(req) {
        Ok(ready) => ready,
        Err(e) => {
            // Nothing was checked (unreadable input, bad configuration): git shows %G? = E.
            status
                .write_line(&gpg::errsig(None, None, gpg::ERRSIG_GENERAL))
                .map_err(status_error)?;
            return Err(e);
        }
    };
    answer(&signature, &payload, &verifier, &mut status)
}

/// Everything verification needs, before anything is checked.
fn prepare(req: &VerifyRequest) -> Result<(Vec<u8>, Vec<u8>, Verifier), CliError> {
    let (signature, payload) = inputs(req)?;
    let settings = settings::load()?;
    let verifier = Verifier::new(&settings, None, None)?;
    Ok((signature, payload, verifier))
}

/// The stored bundle for a signature without an embedded entry, from the repository signet runs
/// in (git runs it there): the note on the object id the payload and signature make, in SHA-1
/// and SHA-256 repositories alike. Outside a repository there are no notes.
/// Also the object id it computed, so verification does not compute it again.
fn stored_note(
    payload: &[u8],
    signature: &[u8],
    verifier: &Verifier,
) -> (StoredNote, Option<String>) {
    if gitsig::has_embedded_entry(signature) {
        return (StoredNote::None, None);
    }
    let Ok(id) = gitobject::predicted_id(payload, signature) else {
        return (StoredNote::None, None);
    };
    let note = match super::verify::open_repo() {
        Ok(repo) if id.len() == repo.hex_len() => {
            Notes::open(&repo, &verifier.notes_ref).note(&repo, &id)
        }
        _ => StoredNote::None,
    };
    (note, Some(id))
}

/// Verify and write exactly one verdict line (plus VALIDSIG and trust on success).
fn answer(
    signature: &[u8],
    payload: &[u8],
    verifier: &Verifier,
    status: &mut StatusSink,
) -> Result<(), CliError> {
    let what = match gitobject::kind(payload) {
        Ok((ObjectKind::Tag, _)) => "tag",
        Ok((ObjectKind::Commit, _)) => "commit",
        Err(_) => "data",
    };
    let (stored, id) = stored_note(payload, signature, verifier);
    let report = verifier.verify(payload, signature, id.as_deref(), stored.as_stored());
    let mut write = |line: String| status.write_line(&line).map_err(status_error);
    match report.outcome {
        Ok((v, verdict)) => {
            write(gpg::goodsig(&v.fingerprint, &v.identity))?;
            write(gpg::validsig(
                &v.fingerprint,
                v.integrated_time.0,
                v.not_after.0,
            ))?;
            write(gpg::trust(verdict.trust))?;
            for line in success_lines(&v, &verdict, what) {
                output::info(line);
            }
            match verdict.trust {
                Trust::Fully => Ok(()),
                Trust::Undefined => {
                    output::warning(format_args!(
                        "the signature is valid, but signet cannot tell whether {} may sign this {what} (git shows it as untrusted, %G? = U)",
                        v.identity
                    ));
                    Ok(())
                }
                Trust::Never => Err(CliError {
                    kind: Kind::Verification,
                    message: format!(
                        "the {what} is signed by {}, whom the verification policy does not accept",
                        v.identity
                    ),
                    hint: Some(
                        "check git config signet.verify.identity / signet.verify.identityRegexp / signet.verify.issuer / signet.verify.issuerRegexp"
                            .into(),
                    ),
                }),
            }
        }
        Err(f) => {
            let (fpr, identity) = report.signer.map(|s| (s.fingerprint, s.identity)).unzip();
            let message = match f.severity() {
                Severity::Bad => {
                    write(gpg::badsig(
                        fpr.as_deref().unwrap_or("0000000000000000"),
                        identity.as_deref().unwrap_or("(unknown signer)"),
                    ))?;
                    format!("BAD signature on this {what}: {f}")
                }
                Severity::Unverifiable => {
                    let rc = match f.kind() {
                        "unsupported-algorithm" => gpg::ERRSIG_UNSUPPORTED_ALGORITHM,
                        "no-certificate" => gpg::ERRSIG_NO_CERTIFICATE,
                        _ => gpg::ERRSIG_GENERAL,
                    };
                    write(gpg::errsig(fpr.as_deref(), None, rc))?;
                    format!("cannot verify the signature on this {what}: {f}")
                }
            };
            if let Some(identity) = identity {
                output::info(format_args!(
                    "the signature names the certificate of {identity} (not verified)"
                ));
            }
            Err(CliError {
                kind: Kind::Verification,
                message,
                hint: Some(failure_hint(&f).into()),
            })
        }
    }
}
