//! Verification flow: bundle bytes + artifact + trusted root + policy → core pipeline. Offline;
//! the only input besides bytes is which artifact form the caller has.

use crate::core::trust_root::TrustedRoot;
use crate::core::verify::{self, Artifact, IdentityPolicy, Verified, VerifyError};

/// Verify a bundle entirely offline. The time used is the one the log proves, never "now".
pub fn verify_artifact(
    bundle_json: &[u8],
    artifact: Artifact<'_>,
    root: &TrustedRoot,
    policy: &IdentityPolicy,
) -> Result<Verified, VerifyError> {
    verify::verify_bundle_bytes(bundle_json, artifact, root, policy)
}
