//! Git notes holding stored bundles (`refs/notes/signet` unless `signet.notesRef` says
//! otherwise): reading a notes ref, whatever its fanout, with `gix`, and writing many notes in
//! one notes commit with `git fast-import`.
//!
//! A notes ref points at a commit whose tree maps object ids to note blobs: a blob named by the
//! full hex id, or the same under fanout directories named by its first 2, 4, ... hex digits
//! (`ab/cdef...`). git moves notes between these layouts as a tree grows, so a reader accepts
//! any of them; entries that are not notes are skipped, as git skips them.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use gix::hash::ObjectId;
use gix::objs::Find as _;

use super::repo::{Repo, RepoError, chain, git, kind_name};

/// The largest note read: a stored bundle is a few KiB (the same limit as a bundle).
pub const MAX_NOTE_BYTES: u64 = crate::core::bundle::MAX_BUNDLE_BYTES as u64;

/// A notes tree is at most this many fanout levels deep (git uses at most one per byte).
const MAX_FANOUT_DEPTH: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    #[error("{refname} is not a notes ref: it points at a {kind} ({id}), not a notes commit")]
    NotACommit {
        refname: String,
        id: String,
        kind: String,
    },
    #[error("{refname} ({id}) is not a notes tree: {reason}")]
    NotANotesTree {
        refname: String,
        id: String,
        reason: String,
    },
    #[error("the note for {object} in {refname} is a {kind}, not a blob")]
    NotABlob {
        refname: String,
        object: String,
        kind: String,
    },
    #[error(
        "the note for {object} in {refname} is {size} bytes, more than the {max} bytes signet reads"
    )]
    TooLarge {
        refname: String,
        object: String,
        size: u64,
        max: u64,
    },
    #[error("{0}")]
    Repo(#[from] RepoError),
    #[error("writing notes to {refname}: {reason}")]
    Write { refname: String, reason: String },
}

/// One notes ref as read: its name, the commit it points at (none when the ref does not exist)
/// and that commit's tree.
#[derive(Debug, Clone)]
pub struct NotesRef {
    pub refname: String,
    pub commit: Option<String>,
    tree: Option<ObjectId>,
}

impl NotesRef {
    /// A notes ref that does not exist (no notes).
    pub fn empty(refname: &str) -> NotesRef {
        NotesRef {
            refname: refname.to_owned(),
            commit: None,
            tree: None,
        }
    }
}

/// Every note of a notes ref: object id (lowercase hex) to note blob.
pub type NoteIndex = HashMap<String, ObjectId>;

/// A notes tree taken apart: the notes, and the entries that are not notes (path, mode, id).
#[derive(Debug, Default)]
struct Layout {
    notes: NoteIndex,
    others: Vec<(String, u16, ObjectId)>,
}

/// Where a note goes in a tree of `count` notes: flat up to 256 notes, then one 2-digit fanout
/// level per 256-fold growth, as git's notes code lays trees out.
fn note_path(id: &str, count: usize) -> String {
    let mut levels = 0;
    let mut n = count;
    while n > 256 && levels < 3 {
        n /= 256;
        levels += 1;
    }
    let mut path = String::new();
    for level in 0..levels {
        path.push_str(&id[level * 2..level * 2 + 2]);
        path.push('/');
    }
    path.push_str(&id[levels * 2..]);
    path
}

impl Repo {
    /// Read the notes ref `refname` (a full ref name); a ref that does not exist has no notes.
    pub fn notes_ref(&self, refname: &str) -> Result<NotesRef, NotesError> {
        let reference =
            self.repo
                .try_find_reference(refname)
                .map_err(|e| RepoError::BadRevision {
                    spec: refname.to_owned(),
                    reason: chain(&e),
                })?;
        let Some(mut reference) = reference else {
            return Ok(NotesRef::empty(refname));
        };
        let id = reference
            .peel_to_id()
            .map_err(|e| RepoError::BadRevision {
                spec: refname.to_owned(),
                reason: chain(&e),
            })?
            .detach();
        self.notes_at(refname, &id.to_string())
    }

    /// The notes `refname` would hold if it pointed at `commit` (a pushed value, say).
    pub fn notes_at(&self, refname: &str, commit: &str) -> Result<NotesRef, NotesError> {
        let id = self.parse_id(commit)?;
        let header = self.header(&id)?;
        if header.kind != gix::objs::Kind::Commit {
            return Err(NotesError::NotACommit {
                refname: refname.to_owned(),
                id: commit.to_owned(),
                kind: kind_name(header.kind),
            });
        }
        let not_tree = |reason: String| NotesError::NotANotesTree {
            refname: refname.to_owned(),
            id: commit.to_owned(),
            reason,
        };
        let mut buf = Vec::new();
        let data = self
            .odb()
            .try_find(&id, &mut buf)
            .map_err(git)?
            .ok_or_else(|| RepoError::NotFound { id: id.to_string() })?;
        let tree = gix::objs::CommitRefIter::from_bytes(data.data, self.repo.object_hash())
            .tree_id()
            .map_err(|e| not_tree(format!("its commit cannot be read: {}", chain(&e))))?;
        Ok(NotesRef {
            refname: refname.to_owned(),
            commit: Some(commit.to_owned()),
            tree: Some(tree),
        })
    }

    /// The entries of the tree `id` (in a notes ref), as (name, is tree, mode, id).
    fn note_tree(
        &self,
        notes: &NotesRef,
        id: &ObjectId,
    ) -> Result<Vec<(String, bool, u16, ObjectId)>, NotesError> {
        let not_tree = |reason: String| NotesError::NotANotesTree {
            refname: notes.refname.clone(),
            id: notes.commit.clone().unwrap_or_default(),
            reason,
        };
        let mut buf = Vec::new();
        let data = self
            .odb()
            .try_find(id, &mut buf)
            .map_err(git)?
            .ok_or_else(|| not_tree(format!("its tree {id} is missing")))?;
        if data.kind != gix::objs::Kind::Tree {
            return Err(not_tree(format!("{id} is a {}, not a tree", data.kind)));
        }
        gix::objs::TreeRefIter::from_bytes(data.data, self.repo.object_hash())
            .map(|entry| {
                let entry = entry
                    .map_err(|e| not_tree(format!("tree {id} is malformed: {}", chain(&e))))?;
                Ok((
                    entry.filename.to_string(),
                    entry.mode.is_tree(),
                    entry.mode.kind() as u16,
                    entry.oid.to_owned(),
                ))
            })
            .collect()
    }

    /// The note blob for `object` (full lowercase hex), if there is one: a blob named by the
    /// rest of the id under fanout directories named by its leading digits.
    pub fn note_blob(
        &self,
        notes: &NotesRef,
        object: &str,
    ) -> Result<Option<ObjectId>, NotesError> {
        let Some(mut tree) = notes.tree else {
            return Ok(None);
        };
        let mut rest = object;
        for _ in 0..MAX_FANOUT_DEPTH {
            let entries = self.note_tree(notes, &tree)?;
            if let Some((_, is_tree, _, id)) = entries.iter().find(|(name, _, _, _)| name == rest) {
                if *is_tree {
                    return Err(NotesError::NotABlob {
                        refname: notes.refname.clone(),
                        object: object.to_owned(),
                        kind: "tree".into(),
                    });
                }
                return Ok(Some(*id));
            }
            let fanout = entries.iter().find(|(name, is_tree, _, _)| {
                *is_tree && name.len() == 2 && rest.len() > 2 && rest.starts_with(name.as_str())
            });
            match fanout {
                Some((name, _, _, id)) => {
                    rest = &rest[name.len()..];
                    tree = *id;
                }
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Every note of `notes` (object id to blob), whatever the fanout.
    pub fn note_index(&self, notes: &NotesRef) -> Result<NoteIndex, NotesError> {
        Ok(self.note_layout(notes)?.notes)
    }

    /// Every note of `notes`, and every entry of its tree that is not a note (kept on writes,
    /// as git keeps them).
    fn note_layout(&self, notes: &NotesRef) -> Result<Layout, NotesError> {
        let mut layout = Layout::default();
        let Some(tree) = notes.tree else {
            return Ok(layout);
        };
        let hex_len = self.hex_len();
        let mut stack = vec![(tree, String::new(), String::new())];
        while let Some((tree, prefix, dir)) = stack.pop() {
            for (name, is_tree, mode, id) in self.note_tree(notes, &tree)? {
                let hex = name.len() % 2 == 0
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                let full = format!("{prefix}{name}");
                let path = format!("{dir}{name}");
                if hex && full.len() == hex_len && !is_tree {
                    layout.notes.insert(full, id);
                } else if hex
                    && is_tree
                    && name.len() == 2
                    && full.len() < hex_len
                    && dir.len() / 3 < MAX_FANOUT_DEPTH
                {
                    stack.push((id, full, format!("{path}/")));
                } else {
                    layout.others.push((path, mode, id));
                }
            }
        }
        Ok(layout)
    }

    /// The bytes of the note blob `blob` (for `object`, in `notes`), at most [`MAX_NOTE_BYTES`].
    pub fn note_bytes(
        &self,
        notes: &NotesRef,
        object: &str,
        blob: &ObjectId,
    ) -> Result<Vec<u8>, NotesError> {
        let header = self.header(blob)?;
        if header.kind != gix::objs::Kind::Blob {
            return Err(NotesError::NotABlob {
                refname: notes.refname.clone(),
                object: object.to_owned(),
                kind: kind_name(header.kind),
            });
        }
        if header.size > MAX_NOTE_BYTES {
            return Err(NotesError::TooLarge {
                refname: notes.refname.clone(),
                object: object.to_owned(),
                size: header.size,
                max: MAX_NOTE_BYTES,
            });
        }
        let mut buf = Vec::new();
        let data = self
            .odb()
            .try_find(blob, &mut buf)
            .map_err(git)?
            .ok_or_else(|| RepoError::NotFound {
                id: blob.to_string(),
            })?;
        Ok(data.data.to_vec())
    }

    /// The note for `object`, read: `None` when it has none.
    pub fn note(&self, notes: &NotesRef, object: &str) -> Result<Option<Vec<u8>>, NotesError> {
        match self.note_blob(notes, object)? {
            Some(blob) => self.note_bytes(notes, object, &blob).map(Some),
            None => Ok(None),
        }
    }
}

/// Add or replace the notes `add` (object id, note bytes) in `notes` with one commit on top of
/// the commit the ref points at now, with `git fast-import`. The whole notes tree is written
/// anew (existing notes by their blob ids, entries that are not notes kept), laid out with the
/// fanout git would use, and each note is keyed by exactly the object it annotates (fast-import's
/// own note command would peel an annotated tag to its commit). fast-import refuses to move the
/// ref if it no longer points at that commit (someone else wrote notes meanwhile): nothing is
/// lost, the caller reports it and the user runs again.
pub fn write_notes(
    repo: &Repo,
    notes: &NotesRef,
    add: &[(String, Vec<u8>)],
    message: &str,
) -> Result<(), NotesError> {
    let refname = notes.refname.as_str();
    let failed = |reason: String| NotesError::Write {
        refname: refname.to_owned(),
        reason,
    };
    if add.is_empty() {
        return Ok(());
    }
    let git_dir = repo.git_dir();
    let ident = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["var", "GIT_COMMITTER_IDENT"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| failed(format!("cannot run git: {e}")))?;
    if !ident.status.success() {
        return Err(failed(format!(
            "git cannot tell who commits the notes: {}",
            String::from_utf8_lossy(&ident.stderr).trim()
        )));
    }
    let ident = String::from_utf8_lossy(&ident.stdout).trim().to_owned();
    let stream = fast_import_stream(repo, notes, &ident, add, message)?;
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run git fast-import: {e}")))?;
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(&stream))
        .transpose();
    let out = child
        .wait_with_output()
        .map_err(|e| failed(format!("git fast-import: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(failed(format!("git fast-import failed: {first}")));
    }
    written.map_err(|e| failed(format!("git fast-import: {e}")))?;
    Ok(())
}

/// The `git fast-import` input that rewrites the notes tree of `notes` with `add` added or
/// replaced, as one commit by `ident` (git's raw `Name <email> time tz`) on top of the commit the
/// ref points at now: existing notes by their blob ids, entries that are not notes as they are,
/// every note at the path [`note_path`] gives for the new count.
pub(crate) fn fast_import_stream(
    repo: &Repo,
    notes: &NotesRef,
    ident: &str,
    add: &[(String, Vec<u8>)],
    message: &str,
) -> Result<Vec<u8>, NotesError> {
    let refname = notes.refname.as_str();
    let layout = repo.note_layout(notes)?;
    let added: HashMap<&str, &[u8]> = add
        .iter()
        .map(|(id, bytes)| (id.as_str(), bytes.as_slice()))
        .collect();
    let count = layout.notes.len()
        + added
            .keys()
            .filter(|id| !layout.notes.contains_key(**id))
            .count();
    let mut stream = Vec::new();
    stream.extend_from_slice(
        format!("feature done\ncommit {refname}\ncommitter {ident}\n").as_bytes(),
    );
    stream.extend_from_slice(format!("data {}\n{message}\n", message.len()).as_bytes());
    if let Some(parent) = &notes.commit {
        stream.extend_from_slice(format!("from {parent}\n").as_bytes());
    }
    stream.extend_from_slice(b"deleteall\n");
    for (path, mode, id) in &layout.others {
        stream.extend_from_slice(format!("M {mode:06o} {id} {path}\n").as_bytes());
    }
    let mut kept: Vec<(&String, &ObjectId)> = layout
        .notes
        .iter()
        .filter(|(id, _)| !added.contains_key(id.as_str()))
        .collect();
    kept.sort();
    for (id, blob) in kept {
        stream.extend_from_slice(format!("M 100644 {blob} {}\n", note_path(id, count)).as_bytes());
    }
    for (id, bytes) in add {
        stream.extend_from_slice(
            format!(
                "M 100644 inline {}\ndata {}\n",
                note_path(id, count),
                bytes.len()
            )
            .as_bytes(),
        );
        stream.extend_from_slice(bytes);
        stream.push(b'\n');
    }
    stream.extend_from_slice(b"\ndone\n");
    Ok(stream)
}

#[cfg(test)]
#[path = "notes_tests.rs"]
mod tests;

#[cfg(test)]
mod fanout_tests {
    use super::note_path;

    #[test]
    fn notes_fan_out_as_the_tree_grows() {
        let id = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(note_path(id, 1), id);
        assert_eq!(note_path(id, 256), id);
        assert_eq!(note_path(id, 257), format!("01/{}", &id[2..]));
        assert_eq!(note_path(id, 70_000), format!("01/23/{}", &id[4..]));
    }
}
