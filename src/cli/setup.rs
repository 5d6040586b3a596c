//! `signet setup [--global|--local]`: the git config that makes `git commit -S` and `git tag -s`
//! sign with signet, written through `git config` and reported key by key. Idempotent.

use std::path::{Path, PathBuf};

use super::args::SetupArgs;
use super::error::CliError;
use super::output;
use crate::adapters::gitconfig::{self, GitError, Scope};

/// The keys `setup` writes, in order. `true` marks a boolean (compared as git reads it, so an
/// existing `yes` counts as unchanged).
fn wanted(program: &str) -> [(&'static str, String, bool); 4] {
    [
        ("gpg.format", "x509".to_owned(), false),
        ("gpg.x509.program", program.to_owned(), false),
        ("commit.gpgsign", "true".to_owned(), true),
        ("tag.gpgsign", "true".to_owned(), true),
    ]
}

pub fn run(args: SetupArgs) -> Result<(), CliError> {
    let scope = if args.local {
        Scope::Local
    } else {
        Scope::Global
    };
    if scope == Scope::Local && !gitconfig::in_repository().map_err(git_error)? {
        return Err(CliError::usage(
            "signet setup --local: the current directory is not in a git repository",
            "run it inside the repository to configure, or use signet setup --global",
        ));
    }
    let program = executable()?;
    let program = program.to_str().ok_or_else(|| {
        CliError::usage(
            format!(
                "the path of signet, {}, is not valid UTF-8",
                program.display()
            ),
            "install signet under a UTF-8 path",
        )
    })?;
    for (name, value, boolean) in wanted(program) {
        let old = gitconfig::get_in(scope, name, boolean).map_err(git_error)?;
        if old.as_deref() == Some(value.as_str()) {
            output::result_line(format_args!("{name} {value} (unchanged)"));
            continue;
        }
        gitconfig::set_in(scope, name, &value).map_err(git_error)?;
        match old {
            Some(old) => output::result_line(format_args!("{name} {old} -> {value}")),
            None => output::result_line(format_args!("{name} (unset) -> {value}")),
        }
    }
    output::info(format_args!(
        "git ({}) now signs commits and tags with {program}",
        scope.flag()
    ));
    Ok(())
}

fn git_error(e: GitError) -> CliError {
    let hint = match e {
        GitError::Spawn(_) => {
            "signet setup writes git config with git; install git or put it on PATH"
        }
        _ => "fix the problem git reports above, then run signet setup again",
    };
    CliError::usage(e, hint)
}

/// The absolute path of the running signet. The path it was started by (argv[0], made absolute
/// or looked up in PATH) is preferred over the resolved `/proc/self/exe` when both name the same
/// file, so a symlink such as `~/.cargo/bin/signet` or a package manager's versioned target
/// keeps working after an upgrade.
fn executable() -> Result<PathBuf, CliError> {
    let exe = std::env::current_exe().map_err(|e| {
        CliError::usage(
            format!("cannot find the path of the running signet: {e}"),
            "set gpg.x509.program by hand: git config --global gpg.x509.program /path/to/signet",
        )
    })?;
    let invoked = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|arg0| invoked_path(&arg0));
    Ok(match invoked {
        Some(p) if same_file(&p, &exe) => p,
        _ => exe,
    })
}

fn invoked_path(arg0: &Path) -> Option<PathBuf> {
    if arg0.components().count() > 1 {
        return std::path::absolute(arg0).ok();
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(arg0))
        .find(|candidate| candidate.is_file())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoked_paths_are_absolute() {
        let p = invoked_path(Path::new("./x/signet")).unwrap();
        assert!(p.is_absolute());
        assert!(p.ends_with("x/signet"));
        assert_eq!(
            invoked_path(Path::new("/usr/bin/signet")).unwrap(),
            PathBuf::from("/usr/bin/signet")
        );
    }

    #[test]
    fn the_running_executable_is_found() {
        let exe = executable().unwrap();
        assert!(exe.is_absolute());
        assert!(same_file(&exe, &std::env::current_exe().unwrap()));
    }
}
