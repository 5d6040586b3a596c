//! Configuration against real git: `signet setup` writing git config, and settings resolved from
//! git config the way git resolves it (includes, case-insensitive names, valueless booleans).
//! Hermetic: `HOME` and `GIT_CONFIG_GLOBAL` in a temp dir, `GIT_CONFIG_NOSYSTEM=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use signet::adapters::gitconfig::{GitConfig, GitError};
use signet::cli::settings::{self, RekorMode, Settings, TokenProvider};

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let home = Home {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(home.outside()).unwrap();
        home
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn global_config(&self) -> PathBuf {
        self.path().join("gitconfig")
    }

    /// A directory that is not in any repository.
    fn outside(&self) -> PathBuf {
        self.path().join("outside")
    }

    /// Configure `c` to see only this home's git config and no signet/gitsign environment.
    fn hermetic(&self, c: &mut Command) {
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("GIT_")
                || name.starts_with("SIGNET_")
                || name.starts_with("GITSIGN_")
            {
                c.env_remove(&name);
            }
        }
        c.env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("xdg"))
            .env("GIT_CONFIG_GLOBAL", self.global_config())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CEILING_DIRECTORIES", self.path());
    }

    fn git(&self, dir: &Path, args: &[&str]) -> Output {
        let mut c = Command::new("git");
        self.hermetic(&mut c);
        c.current_dir(dir).args(args).output().unwrap()
    }

    fn git_ok(&self, dir: &Path, args: &[&str]) -> String {
        let o = self.git(dir, args);
        assert!(o.status.success(), "git {args:?}: {}", show(&o));
        String::from_utf8(o.stdout).unwrap().trim_end().to_owned()
    }

    fn signet(&self, dir: &Path, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
        self.hermetic(&mut c);
        c.current_dir(dir).args(args).output().unwrap()
    }

    fn repo(&self) -> PathBuf {
        let repo = self.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        self.git_ok(&repo, &["init", "-q"]);
        repo
    }

    /// Settings resolved from this home's git config as seen from `dir`, and `env`.
    fn settings(&self, dir: &Path, env: &[(&str, &str)]) -> Result<Settings, String> {
        let config = GitConfig::read_with(|c| {
            self.hermetic(c);
            c.current_dir(dir);
        })
        .map_err(|e| e.to_string())?;
        settings::resolve(&|k| config.get(k), &|k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .map_err(|e| e.message)
    }
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn setup_global_points_git_at_this_binary_and_is_idempotent() {
    let home = Home::new();
    let first = home.signet(&home.outside(), &["setup"]);
    assert!(first.status.success(), "{}", show(&first));
    let exe = env!("CARGO_BIN_EXE_signet");
    assert_eq!(
        stdout(&first),
        format!(
            "gpg.format (unset) -> x509\ngpg.x509.program (unset) -> {exe}\n\
             commit.gpgsign (unset) -> true\ntag.gpgsign (unset) -> true\n"
        )
    );

    let program = home.git_ok(
        &home.outside(),
        &["config", "--global", "--get", "gpg.x509.program"],
    );
    assert!(Path::new(&program).is_absolute(), "{program}");
    assert_eq!(
        Path::new(&program).canonicalize().unwrap(),
        Path::new(exe).canonicalize().unwrap()
    );
    for (key, value) in [
        ("gpg.format", "x509"),
        ("commit.gpgsign", "true"),
        ("tag.gpgsign", "true"),
    ] {
        assert_eq!(
            home.git_ok(&home.outside(), &["config", "--global", "--get", key]),
            value
        );
    }

    let second = home.signet(&home.outside(), &["setup", "--global"]);
    assert!(second.status.success(), "{}", show(&second));
    let lines: Vec<_> = stdout(&second).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4, "{}", show(&second));
    assert!(
        lines.iter().all(|l| l.ends_with("(unchanged)")),
        "{lines:?}"
    );
    assert_eq!(
        std::fs::read_to_string(home.global_config())
            .unwrap()
            .matches("program")
            .count(),
        1
    );
}

#[test]
fn setup_reports_old_values_and_treats_git_booleans_as_git_does() {
    let home = Home::new();
    let o = home.outside();
    home.git_ok(&o, &["config", "--global", "gpg.format", "openpgp"]);
    home.git_ok(&o, &["config", "--global", "commit.gpgsign", "yes"]);
    home.git_ok(&o, &["config", "--global", "tag.gpgsign", "false"]);
    let out = home.signet(&o, &["setup"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.contains("gpg.format openpgp -> x509\n"), "{text}");
    assert!(text.contains("commit.gpgsign true (unchanged)\n"), "{text}");
    assert!(text.contains("tag.gpgsign false -> true\n"), "{text}");
    assert_eq!(
        home.git_ok(&o, &["config", "--global", "--get", "tag.gpgsign"]),
        "true"
    );
}

#[test]
fn setup_local_writes_the_repository_config_only() {
    let home = Home::new();
    let repo = home.repo();
    let out = home.signet(&repo, &["setup", "--local"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        home.git_ok(&repo, &["config", "--local", "--get", "gpg.format"]),
        "x509"
    );
    assert!(!home.global_config().exists());
}

#[test]
fn setup_local_outside_a_repository_is_a_usage_error() {
    let home = Home::new();
    let out = home.signet(&home.outside(), &["setup", "--local"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(out.stdout.is_empty(), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "signet: error: signet setup --local: the current directory is not in a git repository"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(!home.global_config().exists());

    let both = home.signet(&home.outside(), &["setup", "--local", "--global"]);
    assert_eq!(both.status.code(), Some(2), "{}", show(&both));
}

#[test]
fn setup_without_git_says_so() {
    let home = Home::new();
    let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
    home.hermetic(&mut c);
    let out = c
        .current_dir(home.outside())
        .env("PATH", home.path().join("empty"))
        .arg("setup")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot run git"), "{stderr}");
    assert!(stderr.contains("install git"), "{stderr}");
}

#[test]
fn settings_come_from_git_config_as_git_resolves_it() {
    let home = Home::new();
    // Global config with an include, mixed-case names and a valueless boolean.
    std::fs::write(
        home.path().join("sigstore.inc"),
        "[gitsign]\n\tFulcio = http://127.0.0.1:1111/\n\trekorMode = online\n\tTokenProvider = interactive\n\turlOpener = firefox {{.URL}}\n",
    )
    .unwrap();
    std::fs::write(
        home.global_config(),
        format!(
            "[include]\n\tpath = {}\n[SIGNET]\n\tmatchCommitter\n",
            home.path().join("sigstore.inc").display()
        ),
    )
    .unwrap();

    // Outside a repository: the global config alone.
    let s = home.settings(&home.outside(), &[]).unwrap();
    assert_eq!(s.fulcio_url, "http://127.0.0.1:1111");
    assert_eq!(s.rekor_mode, RekorMode::Online);
    assert_eq!(s.token_provider, Some(TokenProvider::Browser));
    assert_eq!(s.url_opener.as_deref(), Some("firefox"));
    assert!(s.match_committer);
    assert_eq!(s.rekor_url, settings::DEFAULT_REKOR_URL);

    // In a repository, local config wins over global; signet.* over gitsign.*; env over both.
    let repo = home.repo();
    home.git_ok(
        &repo,
        &[
            "config",
            "--local",
            "signet.fulcio",
            "http://127.0.0.1:2222",
        ],
    );
    home.git_ok(
        &repo,
        &["config", "--local", "signet.matchCommitter", "false"],
    );
    home.git_ok(&repo, &["config", "--local", "signet.rekorMode", "offline"]);
    let s = home.settings(&repo, &[]).unwrap();
    assert_eq!(s.fulcio_url, "http://127.0.0.1:2222");
    assert!(!s.match_committer);
    assert_eq!(s.rekor_mode, RekorMode::Offline);
    let s = home
        .settings(&repo, &[("SIGNET_FULCIO_URL", "https://fulcio.example")])
        .unwrap();
    assert_eq!(s.fulcio_url, "https://fulcio.example");

    // A bad value is an error naming its git key, not a default.
    home.git_ok(
        &repo,
        &["config", "--local", "signet.rekorMode", "sometimes"],
    );
    let e = home.settings(&repo, &[]).unwrap_err();
    assert!(
        e.starts_with("git config signet.rekorMode = \"sometimes\""),
        "{e}"
    );
}

#[test]
fn git_config_errors_are_errors() {
    let home = Home::new();
    std::fs::write(home.global_config(), "[signet\n\tbroken").unwrap();
    let e = GitConfig::read_with(|c| {
        home.hermetic(c);
        c.current_dir(home.outside());
    })
    .unwrap_err();
    assert!(matches!(e, GitError::Failed { .. }), "{e:?}");

    let e = GitConfig::read_with(|c| {
        home.hermetic(c);
        c.current_dir(home.outside())
            .env("PATH", home.path().join("empty"));
    })
    .unwrap_err();
    assert!(matches!(e, GitError::Spawn(_)), "{e:?}");

    // No config at all is no error.
    std::fs::remove_file(home.global_config()).unwrap();
    assert_eq!(
        home.settings(&home.outside(), &[]).unwrap(),
        Settings::default()
    );
}

/// signet as git runs it (`--status-fd=2 -bsau KEY`), payload on stdin.
fn sign_as_git(home: &Home, dir: &Path) -> Output {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
    home.hermetic(&mut c);
    let mut child = c
        .current_dir(dir)
        .args(["--status-fd=2", "-bsau", "alice@example.com"])
        .env_remove("SIGSTORE_ID_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nmsg\n")
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_bad_git_config_value_stops_signing_with_the_key_named() {
    let home = Home::new();
    let o = home.outside();
    home.git_ok(&o, &["config", "--global", "signet.rekorMode", "sometimes"]);
    let out = sign_as_git(&home, &o);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(out.stdout.is_empty(), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "signet: error: git config signet.rekorMode = \"sometimes\": unknown rekor mode"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint: use offline or online"), "{stderr}");
}

#[test]
fn log_path_appends_diagnostics_to_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let o = home.outside();
    let log = home.path().join("signet.log");
    home.git_ok(
        &o,
        &[
            "config",
            "--global",
            "signet.logPath",
            log.to_str().unwrap(),
        ],
    );
    // A misspelt key (a warning) and a trusted root that does not exist (an error after load).
    home.git_ok(
        &o,
        &[
            "config",
            "--global",
            "signet.fulcioURL",
            "https://x.example",
        ],
    );
    home.git_ok(
        &o,
        &[
            "config",
            "--global",
            "signet.trustedRoot",
            "/nonexistent/root.json",
        ],
    );
    for _ in 0..2 {
        let out = sign_as_git(&home, &o);
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        assert!(out.stdout.is_empty(), "{}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("git config signet.fulciourl is not a signet setting"),
            "{stderr}"
        );
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.matches("signet: warning: git config signet.fulciourl")
            .count(),
        2,
        "{text}"
    );
    assert_eq!(
        text.matches("signet: error: cannot read trusted root")
            .count(),
        2,
        "{text}"
    );
    assert_eq!(text.matches("] hint: ").count(), 2, "{text}");
    assert_eq!(
        std::fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A log file that cannot be opened is a configuration error.
    home.git_ok(
        &o,
        &[
            "config",
            "--global",
            "signet.logPath",
            "/nonexistent/dir/signet.log",
        ],
    );
    let out = sign_as_git(&home, &o);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open the log file"));
}
