//! Splitting a stored commit or tag into what git verifies: the payload (the object without its
//! signature) and the armored signature, byte for byte as git's `parse_buffer_signed_by_header`
//! (commits) and `parse_signed_buffer` (tags) do. Stricter than git where git is lenient in ways
//! an attacker could use: a second signature header, a signature header after the message has
//! started, or an unterminated header block are refused (the gitsign advisory GHSA-7rmh-48mx-2vwc
//! came from re-encoding instead of reading raw bytes).

use super::gitobject::ObjectKind;

/// Largest object accepted (a commit or tag; git objects of this size are not hand-written).
pub const MAX_OBJECT_BYTES: usize = 32 * 1024 * 1024;

/// The armor lines git recognises as the start of an in-body tag signature.
const ARMORS: [&[u8]; 4] = [
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN PGP MESSAGE-----",
    b"-----BEGIN SIGNED MESSAGE-----",
    b"-----BEGIN SSH SIGNATURE-----",
];

/// A signed object split for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedObject {
    pub kind: ObjectKind,
    /// Exactly the bytes git feeds the verifier on stdin.
    pub payload: Vec<u8>,
    /// The armored signature with the header continuation spaces removed.
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("the object is {size} bytes, more than the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("the {kind} is not signed")]
    NotSigned { kind: &'static str },
    #[error("the object has {count} {header} headers; a signed object has at most one")]
    DuplicateSignature { header: &'static str, count: usize },
    #[error("the commit's {header} header is malformed: {problem}")]
    MalformedHeader {
        header: &'static str,
        problem: &'static str,
    },
    #[error("the object is not a git commit or tag: {0}")]
    NotAnObject(&'static str),
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Commit => "commit",
        ObjectKind::Tag => "tag",
    }
}

/// End of the header block: the index just after the `\n` that ends the last header line, or
/// `None` when the object has no empty line (no message separator).
fn header_end(object: &[u8]) -> Option<usize> {
    if object.starts_with(b"\n") {
        return Some(0);
    }
    object.windows(2).position(|w| w == b"\n\n").map(|p| p + 1)
}

/// Commits: a header whose name starts with `gpgsig` (`gpgsig`, `gpgsig-sha256`, and any other
/// such name) is a signature header; git drops all of them from the payload.
fn is_commit_signature_header(line: &[u8]) -> bool {
    let name_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    line[..name_end].starts_with(b"gpgsig")
}

/// Tags: git's `remove_signature` drops only headers named exactly `gpgsig` or `gpgsig-sha256`
/// (compat signatures); any other `gpgsig…` header stays in the payload.
fn is_tag_signature_header(line: &[u8]) -> bool {
    line.starts_with(b"gpgsig ") || line.starts_with(b"gpgsig-sha256 ")
}

/// Split `object` (a commit or tag as stored, without the `<type> <len>\0` header) into payload
/// and signature. `kind` is what the object store says the object is.
pub fn split(kind: ObjectKind, object: &[u8]) -> Result<SignedObject, SplitError> {
    if object.len() > MAX_OBJECT_BYTES {
        return Err(SplitError::TooLarge {
            size: object.len(),
            limit: MAX_OBJECT_BYTES,
        });
    }
    match kind {
        ObjectKind::Commit => split_commit(object),
        ObjectKind::Tag => split_tag(object),
    }
}

/// A signature header taken out of the payload: its name and (for the wanted name) its
/// de-indented value.
type RemovedHeader = (Vec<u8>, Vec<u8>);

/// Remove every signature header (`is_signature` decides which; with its continuation lines)
/// from the header block, keeping everything else verbatim. Returns the payload and, for each
/// removed header, its name and de-indented value; only `wanted` values are kept whole.
fn strip_signature_headers(
    object: &[u8],
    wanted: &[u8],
    is_signature: fn(&[u8]) -> bool,
) -> (Vec<u8>, Vec<RemovedHeader>) {
    let end = header_end(object).unwrap_or(object.len());
    let mut payload = Vec::with_capacity(object.len());
    let mut found: Vec<RemovedHeader> = Vec::new();
    // Inside a signature header: Some(true) if it is the wanted one, Some(false) if dropped.
    let mut in_sig: Option<bool> = None;
    for line in object[..end].split_inclusive(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b" ")
            && let Some(keep) = in_sig
        {
            if keep && let Some((_, sig)) = found.last_mut() {
                sig.extend_from_slice(rest);
            }
            continue;
        }
        in_sig = None;
        if is_signature(line) {
            let name_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
            let name = &line[..name_end];
            let wanted_here = name == wanted;
            let value = if wanted_here {
                line.get(name_end + 1..).unwrap_or_default().to_vec()
            } else {
                Vec::new()
            };
            found.push((name.to_vec(), value));
            in_sig = Some(wanted_here);
            continue;
        }
        payload.extend_from_slice(line);
    }
    payload.extend_from_slice(&object[end..]);
    (payload, found)
}

fn split_commit(object: &[u8]) -> Result<SignedObject, SplitError> {
    let hex_len = match object.strip_prefix(b"tree ") {
        Some(rest) => rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len()),
        None => return Err(SplitError::NotAnObject("a commit starts with a tree line")),
    };
    let header: &'static str = match hex_len {
        40 => "gpgsig",
        64 => "gpgsig-sha256",
        _ => {
            return Err(SplitError::NotAnObject(
                "the tree id is not 40 or 64 hex digits",
            ));
        }
    };
    if header_end(object).is_none() {
        return Err(SplitError::MalformedHeader {
            header,
            problem: "the header block is not terminated by an empty line",
        });
    }
    let (payload, removed) =
        strip_signature_headers(object, header.as_bytes(), is_commit_signature_header);
    let mut sigs: Vec<Vec<u8>> = removed
        .into_iter()
        .filter(|(name, _)| name == header.as_bytes())
        .map(|(_, value)| value)
        .collect();
    match sigs.len() {
        0 => Err(SplitError::NotSigned { kind: "commit" }),
        1 => {
            let signature = sigs.pop().unwrap_or_default();
            if !signature.starts_with(b"-----BEGIN ") {
                return Err(SplitError::MalformedHeader {
                    header,
                    problem: "it does not start with an armor line",
                });
            }
            Ok(SignedObject {
                kind: ObjectKind::Commit,
                payload,
                signature,
            })
        }
        count => Err(SplitError::DuplicateSignature { header, count }),
    }
}

fn split_tag(object: &[u8]) -> Result<SignedObject, SplitError> {
    if !object.starts_with(b"object ") {
        return Err(SplitError::NotAnObject("a tag starts with an object line"));
    }
    // git: the last line (anywhere) that starts with a known armor begins the signature.
    let mut start = None;
    let mut offset = 0;
    for line in object.split_inclusive(|&b| b == b'\n') {
        if ARMORS.iter().any(|a| line.starts_with(a)) {
            start = Some(offset);
        }
        offset += line.len();
    }
    let Some(start) = start else {
        return Err(SplitError::NotSigned {
            kind: kind_name(ObjectKind::Tag),
        });
    };
    let header_len = header_end(object).unwrap_or(object.len());
    if start < header_len {
        return Err(SplitError::NotAnObject(
            "the signature starts inside the tag headers",
        ));
    }
    let (payload, removed) =
        strip_signature_headers(&object[..start], b"gpgsig", is_tag_signature_header);
    for name in ["gpgsig", "gpgsig-sha256"] {
        let count = removed.iter().filter(|(n, _)| n == name.as_bytes()).count();
        if count > 1 {
            // git itself keeps one of them in the payload and drops the other: ambiguous.
            return Err(SplitError::DuplicateSignature {
                header: if name == "gpgsig" {
                    "gpgsig"
                } else {
                    "gpgsig-sha256"
                },
                count,
            });
        }
    }
    Ok(SignedObject {
        kind: ObjectKind::Tag,
        payload,
        signature: object[start..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gitobject::with_signature;

    const SIG: &[u8] =
        b"-----BEGIN SIGNED MESSAGE-----\nAAAA\n\nBBBB\n-----END SIGNED MESSAGE-----\n";
    const COMMIT: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
parent 74f0d242677d95a477f953260a2686712846c619\n\
author A U Thor <author@example.com> 1780416001 -0400\n\
committer C O Mitter <committer@example.com> 1780416001 -0400\n\nmsg\n\ngpgsig in the body\n";
    const TAG: &[u8] = b"object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\n\
tagger T Agger <tagger@example.com> 1780416001 +0000\n\nrelease\n";

    #[test]
    fn commit_round_trips_with_git_placement() {
        let (_, object) = with_signature(COMMIT, SIG).unwrap();
        let s = split(ObjectKind::Commit, &object).unwrap();
        assert_eq!(s.payload, COMMIT);
        assert_eq!(s.signature, SIG);
        assert_eq!(s.kind, ObjectKind::Commit);
    }

    #[test]
    fn sha256_commit_uses_its_own_header_and_drops_the_other() {
        let commit = [b"tree ".as_slice(), &[b'a'; 64], b"\n\nm\n"].concat();
        let (_, object) = with_signature(&commit, SIG).unwrap();
        let s = split(ObjectKind::Commit, &object).unwrap();
        assert_eq!(
            (s.payload.as_slice(), s.signature.as_slice()),
            (&commit[..], SIG)
        );

        // A SHA-1 commit carrying both headers (compat repos): gpgsig-sha256 leaves the payload.
        let (_, mut object) = with_signature(COMMIT, SIG).unwrap();
        let at = object
            .windows(8)
            .position(|w| w == b"\n\nmsg\n\ng")
            .unwrap()
            + 1;
        object.splice(at..at, b"gpgsig-sha256 other\n more\n".iter().copied());
        let s = split(ObjectKind::Commit, &object).unwrap();
        assert_eq!(s.payload, COMMIT);
        assert_eq!(s.signature, SIG);
    }

    #[test]
    fn tag_round_trips() {
        let (_, object) = with_signature(TAG, SIG).unwrap();
        let s = split(ObjectKind::Tag, &object).unwrap();
        assert_eq!(s.payload, TAG);
        assert_eq!(s.signature, SIG);
        // The last armor line wins, as in git: an armor quoted in the message stays payload.
        let quoted = [
            &TAG[..TAG.len() - 1],
            b"\n-----BEGIN SIGNED MESSAGE-----\nquoted\n".as_slice(),
        ]
        .concat();
        let (_, object) = with_signature(&quoted, SIG).unwrap();
        let s = split(ObjectKind::Tag, &object).unwrap();
        assert_eq!(s.payload, quoted);
    }

    #[test]
    fn refusals() {
        let (_, signed) = with_signature(COMMIT, SIG).unwrap();
        let twice = {
            let mut o = signed.clone();
            let at = o.windows(7).position(|w| w == b"gpgsig ").unwrap();
            o.splice(
                at..at,
                b"gpgsig -----BEGIN SIGNED MESSAGE-----\n x\n"
                    .iter()
                    .copied(),
            );
            o
        };
        let cases: Vec<(ObjectKind, Vec<u8>, SplitError)> = vec![
            (
                ObjectKind::Commit,
                COMMIT.to_vec(),
                SplitError::NotSigned { kind: "commit" },
            ),
            (
                ObjectKind::Commit,
                twice,
                SplitError::DuplicateSignature {
                    header: "gpgsig",
                    count: 2,
                },
            ),
            (
                ObjectKind::Commit,
                b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ngpgsig x\n".to_vec(),
                SplitError::MalformedHeader {
                    header: "gpgsig",
                    problem: "the header block is not terminated by an empty line",
                },
            ),
            (
                ObjectKind::Commit,
                b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ngpgsig junk\n\nm\n".to_vec(),
                SplitError::MalformedHeader {
                    header: "gpgsig",
                    problem: "it does not start with an armor line",
                },
            ),
            (
                ObjectKind::Commit,
                b"parent x\n\n".to_vec(),
                SplitError::NotAnObject("a commit starts with a tree line"),
            ),
            (
                ObjectKind::Commit,
                b"tree abc\n\n".to_vec(),
                SplitError::NotAnObject("the tree id is not 40 or 64 hex digits"),
            ),
            (
                ObjectKind::Tag,
                TAG.to_vec(),
                SplitError::NotSigned { kind: "tag" },
            ),
            (
                ObjectKind::Tag,
                b"object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n-----BEGIN SIGNED MESSAGE-----\n\n"
                    .to_vec(),
                SplitError::NotAnObject("the signature starts inside the tag headers"),
            ),
            (
                ObjectKind::Tag,
                COMMIT.to_vec(),
                SplitError::NotAnObject("a tag starts with an object line"),
            ),
            (
                ObjectKind::Tag,
                vec![b'x'; MAX_OBJECT_BYTES + 1],
                SplitError::TooLarge {
                    size: MAX_OBJECT_BYTES + 1,
                    limit: MAX_OBJECT_BYTES,
                },
            ),
        ];
        for (kind, object, want) in cases {
            assert_eq!(
                split(kind, &object),
                Err(want),
                "{}",
                String::from_utf8_lossy(&object[..object.len().min(200)])
            );
        }
    }

    #[test]
    fn tag_signature_headers_follow_git() {
        // Observed with git 2.47 (a fake gpg.x509.program recording its stdin): a tag's payload
        // loses only `gpgsig` and `gpgsig-sha256` headers; other `gpgsig…` names stay.
        let with_header = |header: &str| {
            let tag =
                String::from_utf8_lossy(TAG).replacen("+0000\n", &format!("+0000\n{header}"), 1);
            with_signature(tag.as_bytes(), SIG).unwrap().1
        };
        for kept in ["gpgsig-x foo\n", "gpgsigfoo bar\n"] {
            let s = split(ObjectKind::Tag, &with_header(kept)).unwrap();
            assert!(
                s.payload.windows(kept.len()).any(|w| w == kept.as_bytes()),
                "{kept:?} must stay in the payload"
            );
        }
        for dropped in ["gpgsig foo\n cont\n", "gpgsig-sha256 foo\n cont\n"] {
            let s = split(ObjectKind::Tag, &with_header(dropped)).unwrap();
            assert_eq!(s.payload, TAG, "{dropped:?}");
            assert_eq!(s.signature, SIG);
        }
        assert_eq!(
            split(ObjectKind::Tag, &with_header("gpgsig a\ngpgsig b\n")),
            Err(SplitError::DuplicateSignature {
                header: "gpgsig",
                count: 2
            })
        );
    }

    #[test]
    fn a_gpgsig_line_in_the_message_is_payload() {
        let (_, object) = with_signature(COMMIT, SIG).unwrap();
        let s = split(ObjectKind::Commit, &object).unwrap();
        assert!(s.payload.ends_with(b"\ngpgsig in the body\n"));
    }
}
