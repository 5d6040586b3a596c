// sigstore-js (@sigstore/verify) as an independent offline verifier of a Sigstore bundle:
//   node verify.mjs TRUSTED_ROOT.json BUNDLE.json ARTIFACT IDENTITY ISSUER
// Exit 0 and "OK ..." on stdout when it verifies; exit 1 with the reason on stderr otherwise.
import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';

const [rootPath, bundlePath, artifactPath, identity, issuer] = process.argv.slice(2);
if (!issuer) {
  console.error('usage: node verify.mjs TRUSTED_ROOT BUNDLE ARTIFACT IDENTITY ISSUER');
  process.exit(2);
}
try {
  const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(rootPath, 'utf8')));
  const bundle = bundleFromJSON(JSON.parse(readFileSync(bundlePath, 'utf8')));
  const verifier = new Verifier(toTrustMaterial(root), { tlogThreshold: 1, ctlogThreshold: 1 });
  const entity = toSignedEntity(bundle, readFileSync(artifactPath));
  const signer = verifier.verify(entity, { subjectAlternativeName: identity, extensions: { issuer } });
  console.log(`OK ${signer.identity?.subjectAlternativeName ?? "(key)"}`);
} catch (e) {
  console.error(`FAILED: ${e.code ?? e.name}: ${e.message}`);
  process.exit(1);
}
