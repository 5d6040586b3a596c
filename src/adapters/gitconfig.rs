//! Reading git configuration the way git resolves it (system, global, local, worktree, includes,
//! `GIT_CONFIG_*` overrides) by running `git config -z --get-regexp`, and writing single keys
//! (`signet setup`).
//!
//! Running git is the simplest way to get git's exact semantics (include paths, conditional
//! includes, `safe.directory`, scopes). gix could read config in-process and is the long-term
//! choice, but it is far too heavy a dependency for reading a dozen keys once per signature.

use std::ffi::OsStr;
use std::io::Read;
use std::process::{Command, Stdio};

/// The most output read from one `git config` run. Real configurations are a few KiB.
pub const MAX_OUTPUT_BYTES: u64 = 1024 * 1024;

/// What went wrong running git.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git: {0}")]
    Spawn(String),
    #[error("`git {args}` failed (exit status {status}): {stderr}")]
    Failed {
        args: String,
        status: String,
        stderr: String,
    },
    #[error("`git {args}` printed more than {limit} bytes")]
    TooLarge { args: String, limit: u64 },
    #[error("`git {args}` printed output that is not valid UTF-8 or not in the expected form")]
    Malformed { args: String },
}

/// Entries of git config, in the order git printed them (lowest-priority scope first). Names
/// are lowercased as git prints them (section and variable; a subsection keeps its case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitConfig {
    entries: Vec<(String, Option<String>)>,
}

impl GitConfig {
    /// The config of the repository in the current directory (or only the global and system
    /// config outside a repository), restricted to the `signet.`, `gitsign.` and `user.`
    /// sections.
    pub fn read() -> Result<GitConfig, GitError> {
        Self::read_with(|_| {})
    }

    /// [`GitConfig::read`] with the git command adjusted first (a working directory, an
    /// environment), for tests and tools that inspect another repository.
    pub fn read_with(configure: impl FnOnce(&mut Command)) -> Result<GitConfig, GitError> {
        let out = run_git_with(
            ["config", "-z", "--get-regexp", r"^(signet|gitsign|user)\."],
            configure,
        )?;
        match out.status {
            Some(0) => parse_z(&out.stdout).ok_or_else(|| GitError::Malformed {
                args: out.args.clone(),
            }),
            // Exit 1: no key matches.
            Some(1) => Ok(GitConfig::default()),
            _ => Err(out.failed()),
        }
    }

    /// The effective value of `name` (case-insensitive section and variable): the last one git
    /// printed, as `git config --get` does. A key written without `=` (`[signet] matchCommitter`)
    /// is git's implicit `true`.
    pub fn get(&self, name: &str) -> Option<String> {
        let wanted = normalize(name);
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| *k == wanted)
            .map(|(_, v)| v.clone().unwrap_or_else(|| "true".to_owned()))
    }

    /// Every key name present, lowercased.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

/// Lowercase the section and the variable name; keep a subsection's case (git's rules).
fn normalize(name: &str) -> String {
    match (name.find('.'), name.rfind('.')) {
        (Some(first), Some(last)) if first != last => format!(
            "{}{}{}",
            name[..first].to_ascii_lowercase(),
            &name[first..last],
            name[last..].to_ascii_lowercase()
        ),
        _ => name.to_ascii_lowercase(),
    }
}

/// Parse `git config -z` output: `key\nvalue\0` per entry, or `key\0` for a key without a value.
fn parse_z(out: &[u8]) -> Option<GitConfig> {
    let text = std::str::from_utf8(out).ok()?;
    let mut entries = Vec::new();
    let Some(body) = text.strip_suffix('\0') else {
        return text.is_empty().then(GitConfig::default);
    };
    for record in body.split('\0') {
        let (key, value) = match record.split_once('\n') {
            Some((k, v)) => (k, Some(v.to_owned())),
            None => (record, None),
        };
        if key.is_empty() {
            return None;
        }
        entries.push((normalize(key), value));
    }
    Some(GitConfig { entries })
}

/// Which config file `signet setup` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Local,
}

impl Scope {
    pub fn flag(self) -> &'static str {
        match self {
            Scope::Global => "--global",
            Scope::Local => "--local",
        }
    }
}

/// The value of `name` in one scope's file, or `None` if it is unset there. With `as_bool`, git
/// normalises it to `true`/`false`.
pub fn get_in(scope: Scope, name: &str, as_bool: bool) -> Result<Option<String>, GitError> {
    let mut args = vec!["config", scope.flag()];
    if as_bool {
        args.push("--type=bool");
    }
    args.extend(["--get", name]);
    let out = run_git(args)?;
    match out.status {
        Some(0) => {
            let text = String::from_utf8(out.stdout).map_err(|_| GitError::Malformed {
                args: out.args.clone(),
            })?;
            Ok(Some(text.strip_suffix('\n').unwrap_or(&text).to_owned()))
        }
        Some(1) => Ok(None),
        _ => Err(out.failed()),
    }
}

/// Set `name` to `value` in one scope's file, replacing every earlier value of it.
pub fn set_in(scope: Scope, name: &str, value: &str) -> Result<(), GitError> {
    let out = run_git(["config", scope.flag(), "--replace-all", name, value])?;
    match out.status {
        Some(0) => Ok(()),
        _ => Err(out.failed()),
    }
}

/// Whether the current directory is inside a git repository (work tree or bare).
pub fn in_repository() -> Result<bool, GitError> {
    Ok(run_git(["rev-parse", "--git-dir"])?.status == Some(0))
}

struct GitOutput {
    args: String,
    status: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl GitOutput {
    fn failed(&self) -> GitError {
        let stderr = String::from_utf8_lossy(&self.stderr);
        GitError::Failed {
            args: self.args.clone(),
            status: self
                .status
                .map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string()),
            stderr: stderr.trim().to_owned(),
        }
    }
}

/// Run git with bounded output; stdin is closed.
fn run_git<I, S>(args: I) -> Result<GitOutput, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_git_with(args, |_| {})
}

fn run_git_with<I, S>(args: I, configure: impl FnOnce(&mut Command)) -> Result<GitOutput, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let shown = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new("git");
    configure(&mut command);
    let mut child = command
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| GitError::Spawn(e.to_string()))?;
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = (&mut pipe).take(64 * 1024).read_to_end(&mut buf);
            // Drain the rest so git never blocks on a full pipe.
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
            buf
        })
    });
    let mut stdout = Vec::new();
    let read = child
        .stdout
        .take()
        .map(|pipe| pipe.take(MAX_OUTPUT_BYTES + 1).read_to_end(&mut stdout));
    if stdout.len() as u64 > MAX_OUTPUT_BYTES {
        let _ = child.kill();
        let _ = child.wait();
        return Err(GitError::TooLarge {
            args: shown,
            limit: MAX_OUTPUT_BYTES,
        });
    }
    let status = child.wait().map_err(|e| GitError::Spawn(e.to_string()))?;
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if let Some(Err(e)) = read {
        return Err(GitError::Spawn(format!("reading git's output: {e}")));
    }
    Ok(GitOutput {
        args: shown,
        status: status.code(),
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_output_parses_with_valueless_keys_and_last_value_wins() {
        let cfg = parse_z(
            b"user.email\na@example.com\0signet.matchcommitter\0signet.rekormode\nonline\0\
              signet.rekormode\noffline\0gitsign.urlopener\nfirefox\n{{.URL}}\0",
        )
        .unwrap();
        assert_eq!(cfg.get("signet.rekorMode").as_deref(), Some("offline"));
        assert_eq!(cfg.get("SIGNET.MATCHCOMMITTER").as_deref(), Some("true"));
        assert_eq!(cfg.get("user.email").as_deref(), Some("a@example.com"));
        // A value may itself hold newlines; only the first one separates the key.
        assert_eq!(
            cfg.get("gitsign.urlOpener").as_deref(),
            Some("firefox\n{{.URL}}")
        );
        assert_eq!(cfg.get("signet.fulcio"), None);
        assert_eq!(parse_z(b"").unwrap(), GitConfig::default());
        assert!(parse_z(b"no-terminator").is_none());
        assert!(parse_z(b"\nvalue\0").is_none());
        assert!(parse_z(b"k\n\xff\0").is_none());
    }

    #[test]
    fn names_keep_subsection_case() {
        assert_eq!(normalize("Signet.RekorMode"), "signet.rekormode");
        assert_eq!(
            normalize("url.HTTPS://X.insteadOf"),
            "url.HTTPS://X.insteadof"
        );
        assert_eq!(normalize("core"), "core");
    }
}
