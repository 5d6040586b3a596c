//! Verification flow: bundle bytes + artifact + trusted root + policy → core pipeline. Offline;
//! the only input besides bytes is which artifact form the caller has.

use crate::core::bundle::Bundle;
use crate::core::trust_root::TrustedRoot;
use crate::core::verify::{self, Artifact, Signer, Verified, VerifyError};

/// Verify a bundle entirely offline. The time used is the one the log proves, never "now".
pub fn verify_artifact(
    bundle_json: &[u8],
    artifact: Artifact<'_>,
    root: &TrustedRoot,
    signer: Signer<'_>,
) -> Result<Verified, VerifyError> {
    let bundle = Bundle::parse(bundle_json)?;
    verify::verify_bundle(&bundle, artifact, root, signer)
}
