//! Byte-exact facts about the commit or tag payload git hands the signing program: which kind
//! of object it is, the committer/tagger email (for `matchCommitter`), and the object id the
//! signed object will have (gitsign's online mode logs that id).

use sha1::Sha1;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Commit,
    Tag,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the data to sign is not a git commit or tag object")]
    NotAnObject,
    #[error("the {kind} has no {header} line")]
    NoIdent {
        kind: &'static str,
        header: &'static str,
    },
    #[error("the {header} line has no <email>")]
    NoEmail { header: &'static str },
}

/// The header block (up to the first empty line), split into lines without their `\n`.
fn header_lines(payload: &[u8]) -> impl Iterator<Item = &[u8]> {
    let end = payload
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(payload.len(), |p| p + 1);
    payload[..end]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
}

/// Commit (`tree <hex>` first) or tag (`object <hex>` first), and the hash length in hex.
pub fn kind(payload: &[u8]) -> Result<(ObjectKind, usize), PayloadError> {
    let first = header_lines(payload)
        .next()
        .ok_or(PayloadError::NotAnObject)?;
    let (kind, id) = if let Some(id) = first.strip_prefix(b"tree ") {
        (ObjectKind::Commit, id)
    } else if let Some(id) = first.strip_prefix(b"object ") {
        (ObjectKind::Tag, id)
    } else {
        return Err(PayloadError::NotAnObject);
    };
    if !matches!(id.len(), 40 | 64) || !id.iter().all(|b| b.is_ascii_hexdigit()) {
        return Err(PayloadError::NotAnObject);
    }
    Ok((kind, id.len()))
}

/// The committer (commit) or tagger (tag) email, the bytes between `<` and `>`.
pub fn signer_email(payload: &[u8]) -> Result<String, PayloadError> {
    let (kind, _) = kind(payload)?;
    let (name, header): (&'static str, &'static str) = match kind {
        ObjectKind::Commit => ("commit", "committer"),
        ObjectKind::Tag => ("tag", "tagger"),
    };
    let line = header_lines(payload)
        .find_map(|l| {
            l.strip_prefix(header.as_bytes())
                .and_then(|r| r.strip_prefix(b" "))
        })
        .ok_or(PayloadError::NoIdent { kind: name, header })?;
    let open = line
        .iter()
        .position(|&b| b == b'<')
        .ok_or(PayloadError::NoEmail { header })?;
    let len = line[open + 1..]
        .iter()
        .position(|&b| b == b'>')
        .ok_or(PayloadError::NoEmail { header })?;
    String::from_utf8(line[open + 1..open + 1 + len].to_vec())
        .map_err(|_| PayloadError::NoEmail { header })
}

/// The object as git stores it once the signature is added: a `gpgsig` (`gpgsig-sha256`)
/// header for commits, the signature appended to the message for tags.
pub fn with_signature(
    payload: &[u8],
    armored: &[u8],
) -> Result<(ObjectKind, Vec<u8>), PayloadError> {
    let (kind, hex_len) = kind(payload)?;
    let mut out = Vec::with_capacity(payload.len() + armored.len() + 64);
    match kind {
        ObjectKind::Tag => {
            out.extend_from_slice(payload);
            out.extend_from_slice(armored);
        }
        ObjectKind::Commit => {
            let at = payload
                .windows(2)
                .position(|w| w == b"\n\n")
                .map_or(payload.len(), |p| p + 1);
            out.extend_from_slice(&payload[..at]);
            out.extend_from_slice(if hex_len == 64 {
                b"gpgsig-sha256"
            } else {
                b"gpgsig"
            });
            for (i, line) in armored.split_inclusive(|&b| b == b'\n').enumerate() {
                out.push(b' ');
                if i > 0 && line == b"\n" {
                    // git writes an empty signature line as a lone space.
                    out.push(b'\n');
                    continue;
                }
                out.extend_from_slice(line);
            }
            if !armored.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.extend_from_slice(&payload[at..]);
        }
    }
    Ok((kind, out))
}

/// The id (lowercase hex) git will give the object once the signature is added.
pub fn predicted_id(payload: &[u8], armored: &[u8]) -> Result<String, PayloadError> {
    let (kind, object) = with_signature(payload, armored)?;
    let (_, hex_len) = self::kind(payload)?;
    let name = match kind {
        ObjectKind::Commit => "commit",
        ObjectKind::Tag => "tag",
    };
    let header = format!("{name} {}\0", object.len());
    Ok(if hex_len == 64 {
        hex::encode(
            Sha256::new()
                .chain_update(header)
                .chain_update(&object)
                .finalize(),
        )
    } else {
        hex::encode(
            Sha1::new()
                .chain_update(header)
                .chain_update(&object)
                .finalize(),
        )
    })
}

/// The object a tag object points at (its `object` header: 40 or 64 lowercase hex digits), if
/// the tag is well formed enough to say.
pub fn tag_target(tag: &[u8]) -> Option<String> {
    let line = tag.split(|&b| b == b'\n').next()?;
    let hex = line.strip_prefix(b"object ")?;
    let ok = matches!(hex.len(), 40 | 64)
        && hex
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
    ok.then(|| String::from_utf8_lossy(hex).into_owned())
}

/// SHA-1 of bytes as lowercase hex (certificate fingerprints in status lines).
pub fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_targets() {
        let id = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
        assert_eq!(
            tag_target(format!("object {id}\ntype tree\ntag t\n").as_bytes()),
            Some(id.to_owned())
        );
        assert_eq!(tag_target(b"object 4B82\n"), None);
        assert_eq!(
            tag_target(format!("type tree\nobject {id}\n").as_bytes()),
            None
        );
        assert_eq!(
            tag_target(format!("object {}\n", id.to_uppercase()).as_bytes()),
            None
        );
    }

    const COMMIT: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A U Thor <author@example.com> 1780416001 -0400\n\
committer C O Mitter <committer@example.com> 1780416001 -0400\n\nmsg\n";
    const TAG: &[u8] = b"object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\n\
tagger T Agger <tagger@example.com> 1780416001 +0000\n\nrelease\n";

    #[test]
    fn emails_table() {
        let cases: Vec<(&[u8], Result<String, PayloadError>)> = vec![
            (COMMIT, Ok("committer@example.com".into())),
            (TAG, Ok("tagger@example.com".into())),
            (b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ncommitter <> 1 +0000\n\n", Ok(String::new())),
            (b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ncommitter X <a@b.c>d> 1 +0000\n\n", Ok("a@b.c".into())),
            // A "committer" line in the message does not count.
            (b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\n\ncommitter M <m@x> 1 +0000\n",
             Err(PayloadError::NoIdent { kind: "commit", header: "committer" })),
            (b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ncommitter nobody 1 +0000\n\n",
             Err(PayloadError::NoEmail { header: "committer" })),
            (b"object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\n\nold tag\n",
             Err(PayloadError::NoIdent { kind: "tag", header: "tagger" })),
            (b"hello world\n", Err(PayloadError::NotAnObject)),
            (b"tree xyz\n\n", Err(PayloadError::NotAnObject)),
            (b"", Err(PayloadError::NotAnObject)),
        ];
        for (payload, want) in cases {
            assert_eq!(
                signer_email(payload),
                want,
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
    }

    #[test]
    fn signature_placement_and_ids() {
        let sig = b"-----BEGIN SIGNED MESSAGE-----\nAAAA\n-----END SIGNED MESSAGE-----\n";
        let (_, c) = with_signature(COMMIT, sig).unwrap();
        let text = String::from_utf8(c).unwrap();
        assert!(text.contains("-0400\ngpgsig -----BEGIN SIGNED MESSAGE-----\n AAAA\n -----END SIGNED MESSAGE-----\n\nmsg\n"), "{text}");
        let (_, t) = with_signature(TAG, sig).unwrap();
        assert!(t.ends_with(
            b"release\n-----BEGIN SIGNED MESSAGE-----\nAAAA\n-----END SIGNED MESSAGE-----\n"
        ));
        // SHA-1 as git hashes objects: the empty blob's well-known id. (Real signed commits'
        // ids are checked against the gitsign fixtures in `cms` tests, and against git itself
        // in the integration tests.)
        assert_eq!(
            sha1_hex(b"blob 0\0"),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
        assert_eq!(predicted_id(COMMIT, sig).unwrap().len(), 40);
        let sha256_commit = [b"tree ".as_slice(), &[b'a'; 64], b"\n\nm\n"].concat();
        let (_, c) = with_signature(&sha256_commit, sig).unwrap();
        assert!(c.windows(14).any(|w| w == b"gpgsig-sha256 "));
        assert_eq!(predicted_id(&sha256_commit, sig).unwrap().len(), 64);
    }
}
