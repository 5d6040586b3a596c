//! Reading git objects byte-exactly from a repository on disk, with `gix`: opening the repository
//! (honouring `GIT_DIR` and the pre-receive quarantine variables `GIT_OBJECT_DIRECTORY` and
//! `GIT_ALTERNATE_OBJECT_DIRECTORIES`), turning revision arguments into object ids, walking
//! commit ranges like `git rev-list`, and handing out the exact stored bytes of commits and tags.
//!
//! gix 0.90 does not read `GIT_OBJECT_DIRECTORY` or `GIT_ALTERNATE_OBJECT_DIRECTORIES` itself
//! (its object store is always `<common dir>/objects` plus `objects/info/alternates`). This module
//! therefore opens those directories as extra object stores ([`GitEnv`]) and searches them before
//! the repository's own. `read`, `tag`, `walk` and full-length ids in `resolve` see quarantined
//! objects; abbreviated ids and revision expressions (`HEAD~2`, `v1^{}`) are resolved by gix and
//! only see the repository's own object store.

use std::path::{Path, PathBuf};

use gix::hash::{ObjectId, oid};
use gix::objs::{Exists as _, Find as _, FindHeader as _};
use gix::traverse::commit::simple::{CommitTimeOrder, Sorting};

use crate::core::gitobject::ObjectKind;

/// The largest commit or tag object `read` hands out. Real ones are a few KiB; anything near this
/// is hostile or broken.
pub const MAX_OBJECT_BYTES: u64 = 32 * 1024 * 1024;

/// How many tags deep `A..B` endpoints and walk tips are peeled before giving up.
const MAX_PEEL_DEPTH: usize = 32;

/// One object as git stores it (without the `<type> <len>\0` header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject {
    /// Lowercase hex object id.
    pub id: String,
    pub kind: ObjectKind,
    pub data: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("{dir} is not in a git repository: {reason}")]
    NotARepository { dir: PathBuf, reason: String },
    #[error("cannot resolve revision {spec:?}: {reason}")]
    BadRevision { spec: String, reason: String },
    #[error("{id:?} is not a {expected}-character hex object id")]
    BadId { id: String, expected: usize },
    #[error("object {id} is not in the repository")]
    NotFound { id: String },
    #[error("object {id} is a {kind}, not a commit or tag")]
    WrongKind { id: String, kind: String },
    #[error("there is no tag refs/tags/{name}")]
    NoSuchTag { name: String },
    #[error("refs/tags/{name} points at a {kind} ({id}), not an annotated tag object")]
    NotAnnotatedTag {
        name: String,
        id: String,
        kind: String,
    },
    #[error("object {id} is {size} bytes, more than the {max} bytes signet reads")]
    TooLarge { id: String, size: u64, max: u64 },
    #[error("tag {id} does not end in a commit after {depth} levels of tags")]
    TagChainTooDeep { id: String, depth: usize },
    #[error("the object directory {dir} cannot be opened: {reason}")]
    ObjectDirectory { dir: PathBuf, reason: String },
    #[error("git repository error: {0}")]
    Git(String),
}

/// The environment variables that change which repository and which objects git reads. Hooks get
/// them from git; [`GitEnv::from_process`] reads them, tests build them by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitEnv {
    /// `GIT_DIR`: open this git directory instead of discovering one upwards from a directory.
    pub git_dir: Option<PathBuf>,
    /// `GIT_OBJECT_DIRECTORY`: in a pre-receive hook, the quarantine with the pushed objects.
    pub object_dir: Option<PathBuf>,
    /// `GIT_ALTERNATE_OBJECT_DIRECTORIES` (`:`-separated; `;` on Windows).
    pub alternates: Vec<PathBuf>,
}

impl GitEnv {
    /// Read `GIT_DIR`, `GIT_OBJECT_DIRECTORY` and `GIT_ALTERNATE_OBJECT_DIRECTORIES`; empty values
    /// count as unset, as in git.
    pub fn from_process() -> GitEnv {
        let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        GitEnv {
            git_dir: non_empty("GIT_DIR").map(PathBuf::from),
            object_dir: non_empty("GIT_OBJECT_DIRECTORY").map(PathBuf::from),
            alternates: non_empty("GIT_ALTERNATE_OBJECT_DIRECTORIES")
                .map(|v| {
                    std::env::split_paths(&v)
                        .filter(|p| !p.as_os_str().is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// An open repository plus the extra object stores from [`GitEnv`].
pub struct Repo {
    pub(crate) repo: gix::Repository,
    /// Searched before the repository's own store, in order.
    extra: Vec<gix::odb::Handle>,
}

/// The object search path: extra stores first, then the repository's own.
pub(crate) struct Odb<'r> {
    extra: &'r [gix::odb::Handle],
    primary: &'r gix::OdbHandle,
}

impl Odb<'_> {
    /// The kind and size of `id` from the first store that has it, `None` if none does.
    pub(crate) fn header(&self, id: &oid) -> Result<Option<gix::objs::Header>, RepoError> {
        for store in self.extra {
            if let Some(h) = store.try_header(id).map_err(git)? {
                return Ok(Some(h));
            }
        }
        self.primary.try_header(id).map_err(git)
    }
}

impl gix::objs::Find for Odb<'_> {
    fn try_find<'a>(
        &self,
        id: &oid,
        buffer: &'a mut Vec<u8>,
    ) -> gix::Result<Option<gix::objs::Data<'a>>> {
        for store in self.extra {
            if store.exists(id) {
                return store.try_find(id, buffer);
            }
        }
        self.primary.try_find(id, buffer)
    }
}

/// The error's message and its causes, joined like `git`'s `fatal: a: b`.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

pub(crate) fn git(err: impl std::error::Error) -> RepoError {
    RepoError::Git(chain(&err))
}

pub(crate) fn kind_name(kind: gix::objs::Kind) -> String {
    kind.as_bytes().iter().map(|&b| char::from(b)).collect()
}

impl Repo {
    /// Open the repository containing `dir`, like git: `GIT_DIR` selects the repository, and
    /// `GIT_OBJECT_DIRECTORY` / `GIT_ALTERNATE_OBJECT_DIRECTORIES` add object stores (so objects
    /// in a pre-receive quarantine are visible).
    pub fn discover(dir: &Path) -> Result<Repo, RepoError> {
        Repo::open_with(dir, &GitEnv::from_process())
    }

    /// [`Repo::discover`] with the environment given explicitly.
    pub fn open_with(dir: &Path, env: &GitEnv) -> Result<Repo, RepoError> {
        let repo = match &env.git_dir {
            Some(git_dir) => gix::open(git_dir).map_err(|e| RepoError::NotARepository {
                dir: git_dir.clone(),
                reason: chain(&e),
            })?,
            None => {
                gix::discover::upwards(dir).map_err(|e| RepoError::NotARepository {
                    dir: dir.to_path_buf(),
                    reason: chain(&e),
                })?;
                gix::discover(dir).map_err(|e| RepoError::NotARepository {
                    dir: dir.to_path_buf(),
                    reason: chain(&e),
                })?
            }
        };
        let hash = repo.object_hash();
        let extra = env
            .object_dir
            .iter()
            .chain(&env.alternates)
            .map(|dir| {
                if !dir.is_dir() {
                    return Err(RepoError::ObjectDirectory {
                        dir: dir.clone(),
                        reason: "not a directory".into(),
                    });
                }
                gix::odb::at(dir, hash).map_err(|e| RepoError::ObjectDirectory {
                    dir: dir.clone(),
                    reason: chain(&e),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Repo { repo, extra })
    }

    /// The repository's git directory (`.git`, or the bare repository itself).
    pub fn git_dir(&self) -> &Path {
        self.repo.git_dir()
    }

    /// 40 for SHA-1 repositories, 64 for SHA-256.
    pub fn hex_len(&self) -> usize {
        self.repo.object_hash().len_in_hex()
    }

    pub(crate) fn odb(&self) -> Odb<'_> {
        Odb {
            extra: &self.extra,
            primary: &self.repo.objects,
        }
    }

    /// A full-length hex id of this repository's hash kind.
    pub(crate) fn parse_id(&self, id: &str) -> Result<ObjectId, RepoError> {
        let bad = || RepoError::BadId {
            id: id.to_string(),
            expected: self.hex_len(),
        };
        if id.len() != self.hex_len() {
            return Err(bad());
        }
        ObjectId::from_hex(id.as_bytes()).map_err(|_| bad())
    }

    pub(crate) fn header(&self, id: &oid) -> Result<gix::objs::Header, RepoError> {
        self.odb()
            .header(id)?
            .ok_or_else(|| RepoError::NotFound { id: id.to_string() })
    }

    /// One revision (no ranges), not peeled.
    fn rev(&self, spec: &str) -> Result<ObjectId, RepoError> {
        if spec.len() == self.hex_len()
            && let Ok(id) = self.parse_id(spec)
        {
            self.header(&id)?;
            return Ok(id);
        }
        match self.repo.rev_parse_single(spec) {
            Ok(id) => Ok(id.detach()),
            Err(e) => self
                .lookup_short_id(spec)?
                .ok_or_else(|| RepoError::BadRevision {
                    spec: spec.to_string(),
                    reason: chain(&e),
                }),
        }
    }

    /// An abbreviated hex id (4 or more digits) looked up in all object stores with this
    /// repository's hash kind. gix 0.90 guesses the hash kind from the prefix length (SHA-1 for
    /// anything up to 40 digits), so its own lookup misses loose objects in SHA-256 repositories;
    /// and it never sees quarantined objects. Refs take precedence, as in git, because this only
    /// runs when gix found nothing.
    fn lookup_short_id(&self, spec: &str) -> Result<Option<ObjectId>, RepoError> {
        let len = spec.len();
        if len < 4 || len >= self.hex_len() || !spec.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let padded = format!("{spec:0<width$}", width = self.hex_len()).to_ascii_lowercase();
        let prefix = ObjectId::from_hex(padded.as_bytes())
            .map_err(git)
            .and_then(|id| gix::hash::Prefix::new(&id, len).map_err(git))?;
        let mut candidates = std::collections::HashSet::new();
        for store in self.extra.iter().chain([&*self.repo.objects]) {
            store
                .lookup_prefix(prefix, Some(&mut candidates))
                .map_err(git)?;
        }
        if candidates.len() > 1 {
            return Err(RepoError::BadRevision {
                spec: spec.to_string(),
                reason: format!(
                    "short object id is ambiguous ({} objects)",
                    candidates.len()
                ),
            });
        }
        Ok(candidates.into_iter().next())
    }

    /// Peel tags until a commit; anything else is `WrongKind`.
    fn peel_to_commit(&self, start: ObjectId) -> Result<ObjectId, RepoError> {
        let mut id = start;
        for _ in 0..MAX_PEEL_DEPTH {
            match self.header(&id)?.kind {
                gix::objs::Kind::Commit => return Ok(id),
                gix::objs::Kind::Tag => {
                    let raw = self.read_oid(&id)?;
                    id = gix::objs::TagRefIter::from_bytes(&raw.data, self.repo.object_hash())
                        .target_id()
                        .map_err(|e| RepoError::Git(format!("tag {id}: {}", chain(&e))))?;
                }
                other => {
                    return Err(RepoError::WrongKind {
                        id: id.to_string(),
                        kind: kind_name(other),
                    });
                }
            }
        }
        Err(RepoError::TagChainTooDeep {
            id: start.to_string(),
            depth: MAX_PEEL_DEPTH,
        })
    }

    /// A revision argument as `git rev-parse`/`git log` understand it: `REV` gives one object id,
    /// not peeled (an annotated tag name yields the tag object's id, a lightweight tag the
    /// commit). `A..B` gives the commits reachable from B and not from A, newest first, as
    /// `git rev-list A..B`; `A..` and `..B` mean HEAD on the missing side. Anything resolving to
    /// a tree or blob is `WrongKind`.
    pub fn resolve(&self, spec: &str) -> Result<Vec<String>, RepoError> {
        if spec.contains("...") {
            return Err(RepoError::BadRevision {
                spec: spec.to_string(),
                reason: "symmetric differences (A...B) are not supported; use A..B".into(),
            });
        }
        if let Some((from, to)) = spec.split_once("..") {
            let side = |s: &str| {
                let s = if s.is_empty() { "HEAD" } else { s };
                self.rev(s).and_then(|id| self.peel_to_commit(id))
            };
            let (from, to) = (side(from)?, side(to)?);
            return self.walk_ids(vec![to], vec![from]);
        }
        let id = self.rev(spec)?;
        match self.header(&id)?.kind {
            gix::objs::Kind::Commit | gix::objs::Kind::Tag => Ok(vec![id.to_string()]),
            other => Err(RepoError::WrongKind {
                id: id.to_string(),
                kind: kind_name(other),
            }),
        }
    }

    /// Commits reachable from `tips` and not from `hidden`, newest first, as
    /// `git rev-list tips --not hidden`. Tag ids are peeled to their commits.
    pub fn walk(&self, tips: &[String], hidden: &[String]) -> Result<Vec<String>, RepoError> {
        let peel = |ids: &[String]| {
            ids.iter()
                .map(|id| self.parse_id(id).and_then(|id| self.peel_to_commit(id)))
                .collect::<Result<Vec<_>, _>>()
        };
        self.walk_ids(peel(tips)?, peel(hidden)?)
    }

    fn walk_ids(
        &self,
        tips: Vec<ObjectId>,
        hidden: Vec<ObjectId>,
    ) -> Result<Vec<String>, RepoError> {
        if tips.is_empty() {
            return Ok(Vec::new());
        }
        let odb = self.odb();
        let walk = gix::traverse::commit::Simple::new(tips, &odb)
            .hide(hidden)
            .map_err(git)?
            .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
            .map_err(git)?;
        walk.map(|info| info.map(|i| i.id.to_string()).map_err(git))
            .collect()
    }

    /// Every reference with its full name and the object it points at (not peeled), sorted by
    /// name. Symbolic references (HEAD, remote HEADs) are skipped: they name another ref.
    pub fn refs(&self) -> Result<Vec<(String, String)>, RepoError> {
        let platform = self.repo.references().map_err(git)?;
        let mut out = Vec::new();
        for reference in platform.all().map_err(git)? {
            let reference = reference.map_err(git)?;
            let Some(id) = reference.try_id() else {
                continue;
            };
            out.push((reference.name().as_bstr().to_string(), id.to_string()));
        }
        out.sort();
        Ok(out)
    }

    /// The refs `name` stands for when it is a symbolic ref (`refs/heads/master` ->
    /// `refs/heads/main`), in order, at most 5 levels; empty when it is not one (or does not
    /// exist). A push to a symbolic ref updates its target.
    pub fn symref_targets(&self, name: &str) -> Result<Vec<String>, RepoError> {
        let mut out = Vec::new();
        let mut current = name.to_owned();
        for _ in 0..5 {
            let Ok(partial) = <&gix::refs::PartialNameRef>::try_from(current.as_str()) else {
                break;
            };
            let Some(reference) = self.repo.try_find_reference(partial).map_err(git)? else {
                break;
            };
            match reference.target() {
                gix::refs::TargetRef::Symbolic(target) => {
                    current = target.as_bstr().to_string();
                    if out.contains(&current) || current == name {
                        break;
                    }
                    out.push(current.clone());
                }
                gix::refs::TargetRef::Object(_) => break,
            }
        }
        Ok(out)
    }

    /// The full name of the branch HEAD points at (`refs/heads/main`), `None` when detached.
    pub fn head_ref_name(&self) -> Result<Option<String>, RepoError> {
        Ok(self
            .repo
            .head_name()
            .map_err(git)?
            .map(|name| name.as_bstr().to_string()))
    }

    /// Whether the object `id` (full hex of this repository's kind) is present in any store.
    pub fn contains(&self, id: &str) -> Result<bool, RepoError> {
        let id = self.parse_id(id)?;
        Ok(self.odb().header(&id)?.is_some())
    }

    /// The commit `id` (a commit or a chain of tags) ends in.
    pub fn peel(&self, id: &str) -> Result<String, RepoError> {
        Ok(self.peel_to_commit(self.parse_id(id)?)?.to_string())
    }

    /// The kind of object `id` is (commit or tag; anything else is `WrongKind`).
    pub fn kind(&self, id: &str) -> Result<ObjectKind, RepoError> {
        let id = self.parse_id(id)?;
        match self.header(&id)?.kind {
            gix::objs::Kind::Commit => Ok(ObjectKind::Commit),
            gix::objs::Kind::Tag => Ok(ObjectKind::Tag),
            other => Err(RepoError::WrongKind {
                id: id.to_string(),
                kind: kind_name(other),
            }),
        }
    }

    /// Stream the commits reachable from `tips` and not from `hidden` (commit ids), as
    /// [`Repo::walk`], handing each one's id and exact stored bytes to `each` as the walk reads
    /// them; nothing is kept per commit. With `first_parent`, only first parents are followed
    /// (`git rev-list --first-parent`). `each` returns `false` to stop early.
    pub fn walk_each(
        &self,
        tips: &[String],
        hidden: &[String],
        first_parent: bool,
        mut each: impl FnMut(&str, &[u8]) -> bool,
    ) -> Result<(), RepoError> {
        let parse = |ids: &[String]| {
            ids.iter()
                .map(|id| self.parse_id(id))
                .collect::<Result<Vec<_>, _>>()
        };
        let (tips, hidden) = (parse(tips)?, parse(hidden)?);
        if tips.is_empty() {
            return Ok(());
        }
        let odb = self.odb();
        let mut walk = gix::traverse::commit::Simple::new(tips, &odb)
            .hide(hidden)
            .map_err(git)?
            .parents(if first_parent {
                gix::traverse::commit::Parents::First
            } else {
                gix::traverse::commit::Parents::All
            });
        // Breadth-first (no date ordering): the cheapest walk, and the order does not matter
        // to a verification that reports by commit id.
        while let Some(info) = walk.next() {
            let info = info.map_err(git)?;
            // Without a commit-graph cache the walk reads each commit into its buffer, and
            // commit_data() is the commit just returned (parents are read into another buffer).
            // Size limits are the caller's: the bytes are already in memory here.
            let data = walk.commit_data();
            if !each(&info.id.to_string(), data) {
                break;
            }
        }
        Ok(())
    }

    /// The object `refs/tags/<name>` points at, which must be an annotated tag object.
    pub fn tag(&self, name: &str) -> Result<String, RepoError> {
        let full = format!("refs/tags/{name}");
        let reference = self
            .repo
            .try_find_reference(full.as_str())
            .map_err(|e| RepoError::BadRevision {
                spec: full.clone(),
                reason: chain(&e),
            })?
            .ok_or_else(|| RepoError::NoSuchTag {
                name: name.to_string(),
            })?;
        let id = reference
            .try_id()
            .map(|id| id.detach())
            .ok_or_else(|| RepoError::Git(format!("{full} is a symbolic reference")))?;
        match self.header(&id)?.kind {
            gix::objs::Kind::Tag => Ok(id.to_string()),
            other => Err(RepoError::NotAnnotatedTag {
                name: name.to_string(),
                id: id.to_string(),
                kind: kind_name(other),
            }),
        }
    }

    /// The exact stored bytes of a commit or tag object, at most [`MAX_OBJECT_BYTES`].
    pub fn read(&self, id: &str) -> Result<RawObject, RepoError> {
        let id = self.parse_id(id)?;
        self.read_oid(&id)
    }

    fn read_oid(&self, id: &oid) -> Result<RawObject, RepoError> {
        let header = self.header(id)?;
        let kind = match header.kind {
            gix::objs::Kind::Commit => ObjectKind::Commit,
            gix::objs::Kind::Tag => ObjectKind::Tag,
            other => {
                return Err(RepoError::WrongKind {
                    id: id.to_string(),
                    kind: kind_name(other),
                });
            }
        };
        if header.size > MAX_OBJECT_BYTES {
            return Err(RepoError::TooLarge {
                id: id.to_string(),
                size: header.size,
                max: MAX_OBJECT_BYTES,
            });
        }
        let mut buf = Vec::new();
        let data = self
            .odb()
            .try_find(id, &mut buf)
            .map_err(git)?
            .ok_or_else(|| RepoError::NotFound { id: id.to_string() })?;
        Ok(RawObject {
            id: id.to_string(),
            kind,
            data: data.data.to_vec(),
        })
    }
}

#[cfg(test)]
#[path = "repo_tests.rs"]
pub(crate) mod tests;
