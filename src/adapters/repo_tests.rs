//! Tests for the repository adapter: real git on hermetic temporary repositories, compared
//! byte for byte with `git cat-file` and `git rev-list`.

use super::*;
use std::io::Write as _;
use std::process::{Command, Stdio};

const AUTHOR: &str = "A U Thor <author@example.com>";

/// A hermetic scratch repository driven by the real `git` (also used by the notes tests).
pub(crate) struct Fixture {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    /// Seconds added to the fixed base date for the next commit.
    clock: std::cell::Cell<i64>,
    /// How far `commit` moves the clock (0: every commit at the same second).
    step: std::cell::Cell<i64>,
}

impl Fixture {
    pub(crate) fn new(init_args: &[&str]) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(tmp.path().join("gitconfig"), "").unwrap();
        let f = Fixture {
            tmp,
            dir,
            clock: std::cell::Cell::new(0),
            step: std::cell::Cell::new(1),
        };
        let mut args = vec!["init", "-q", "-b", "main"];
        args.extend_from_slice(init_args);
        f.git(&args);
        f
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let date = format!("{} +0000", 1_700_000_000 + self.clock.get());
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(&self.dir)
            .env("HOME", self.tmp.path())
            .env("GIT_CONFIG_GLOBAL", self.tmp.path().join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "A U Thor")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "C O Mitter")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_OBJECT_DIRECTORY")
            .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
            .env_remove("GIT_QUARANTINE_PATH");
        cmd
    }

    /// Run `cmd` with `stdin`, whatever its exit status.
    pub(crate) fn output(&self, mut cmd: Command, stdin: &[u8]) -> std::process::Output {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Run `cmd` with `stdin`; it must succeed. Its stdout.
    pub(crate) fn run(&self, cmd: Command, stdin: &[u8]) -> Vec<u8> {
        let shown = format!("{cmd:?}");
        let out = self.output(cmd, stdin);
        assert!(
            out.status.success(),
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    pub(crate) fn git_bytes(&self, args: &[&str]) -> Vec<u8> {
        self.run(self.command(args), b"")
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        String::from_utf8(self.git_bytes(args))
            .unwrap()
            .trim_end()
            .to_string()
    }

    /// Store a hand-made object and return its id.
    pub(crate) fn hash_object(&self, kind: &str, data: &[u8]) -> String {
        let out = self.run(
            self.command(&["hash-object", "-t", kind, "-w", "--stdin"]),
            data,
        );
        String::from_utf8(out).unwrap().trim_end().to_string()
    }

    /// A commit changing one file, one second after the previous one.
    pub(crate) fn commit(&self, name: &str) -> String {
        self.clock.set(self.clock.get() + self.step.get());
        std::fs::write(self.dir.join(name), name).unwrap();
        self.git(&["add", name]);
        self.git(&["commit", "-q", "-m", name]);
        self.git(&["rev-parse", "HEAD"])
    }

    pub(crate) fn open(&self) -> Repo {
        Repo::open_with(&self.dir, &GitEnv::default()).unwrap()
    }

    /// `git cat-file <kind> <id>`, the reference bytes.
    fn cat_file(&self, kind: &str, id: &str) -> Vec<u8> {
        self.git_bytes(&["cat-file", kind, id])
    }

    /// `git rev-list <args>` as ids, newest first.
    fn rev_list(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["rev-list"];
        all.extend_from_slice(args);
        self.git(&all).lines().map(str::to_string).collect()
    }
}

/// main: c1 - c2 - c3 - merge - c4, side: c1 - s1 - s2 merged; distinct, interleaved dates.
fn merge_history(f: &Fixture) -> Vec<String> {
    let c1 = f.commit("c1");
    let c2 = f.commit("c2");
    f.git(&["checkout", "-q", "-b", "side", &c1]);
    let s1 = f.commit("s1");
    f.git(&["checkout", "-q", "main"]);
    let c3 = f.commit("c3");
    f.git(&["checkout", "-q", "side"]);
    let s2 = f.commit("s2");
    f.git(&["checkout", "-q", "main"]);
    f.clock.set(f.clock.get() + 1);
    f.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    let m = f.git(&["rev-parse", "HEAD"]);
    let c4 = f.commit("c4");
    vec![c1, c2, s1, c3, s2, m, c4]
}

fn signed_commit_bytes(f: &Fixture) -> Vec<u8> {
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    let parent = f.git(&["rev-parse", "HEAD"]);
    format!(
        "tree {tree}\nparent {parent}\nauthor {AUTHOR} 1700000100 +0000\n\
         committer {AUTHOR} 1700000100 +0000\n\
         gpgsig -----BEGIN SIGNED MESSAGE-----\n \
         MIIBfakefakefakefakefakefakefakefake\n \n \
         ZmFrZSBzaWduYXR1cmU=\n \
         -----END SIGNED MESSAGE-----\n\nsigned by hand\n"
    )
    .into_bytes()
}

#[test]
fn read_commit_matches_cat_file() {
    let f = Fixture::new(&[]);
    f.commit("a");
    let id = f.commit("b");
    let repo = f.open();
    let obj = repo.read(&id).unwrap();
    assert_eq!(obj.id, id);
    assert_eq!(obj.kind, ObjectKind::Commit);
    assert_eq!(obj.data, f.cat_file("commit", &id));
    assert_eq!(repo.hex_len(), 40);
}

#[test]
fn read_commit_with_gpgsig_header_is_byte_exact() {
    let f = Fixture::new(&[]);
    f.commit("a");
    let bytes = signed_commit_bytes(&f);
    let id = f.hash_object("commit", &bytes);
    let obj = f.open().read(&id).unwrap();
    assert_eq!(obj.data, bytes);
    assert_eq!(obj.data, f.cat_file("commit", &id));
}

#[test]
fn read_commit_without_trailing_newline_is_byte_exact() {
    let f = Fixture::new(&[]);
    f.commit("a");
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    let bytes = format!(
        "tree {tree}\nauthor {AUTHOR} 1700000000 +0000\n\
         committer {AUTHOR} 1700000000 +0000\n\nno newline at the end"
    )
    .into_bytes();
    let id = f.hash_object("commit", &bytes);
    let obj = f.open().read(&id).unwrap();
    assert_eq!(obj.data, bytes);
    assert_eq!(obj.data, f.cat_file("commit", &id));
}

#[test]
fn read_annotated_tag_matches_cat_file() {
    let f = Fixture::new(&[]);
    f.commit("a");
    f.git(&["tag", "-a", "v1", "-m", "release one"]);
    let id = f.git(&["rev-parse", "refs/tags/v1"]);
    let repo = f.open();
    let obj = repo.read(&id).unwrap();
    assert_eq!(obj.kind, ObjectKind::Tag);
    assert_eq!(obj.data, f.cat_file("tag", &id));
    assert_eq!(repo.tag("v1").unwrap(), id);
}

#[test]
fn read_rejects_trees_bad_ids_and_missing_objects() {
    let f = Fixture::new(&[]);
    f.commit("a");
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    let repo = f.open();
    match repo.read(&tree) {
        Err(RepoError::WrongKind { id, kind }) => {
            assert_eq!(id, tree);
            assert_eq!(kind, "tree");
        }
        other => panic!("expected WrongKind, got {other:?}"),
    }
    assert!(matches!(
        repo.read("abc"),
        Err(RepoError::BadId { expected: 40, .. })
    ));
    assert!(matches!(
        repo.read(&"g".repeat(40)),
        Err(RepoError::BadId { .. })
    ));
    let missing = "0123456789abcdef0123456789abcdef01234567";
    match repo.read(missing) {
        Err(RepoError::NotFound { id }) => assert_eq!(id, missing),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[test]
fn read_refuses_objects_over_the_limit() {
    let f = Fixture::new(&[]);
    f.commit("a");
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    let mut bytes = format!(
        "tree {tree}\nauthor {AUTHOR} 1700000000 +0000\n\
         committer {AUTHOR} 1700000000 +0000\n\n"
    )
    .into_bytes();
    bytes.resize(usize::try_from(MAX_OBJECT_BYTES).unwrap() + 1, b'x');
    let id = f.hash_object("commit", &bytes);
    match f.open().read(&id) {
        Err(RepoError::TooLarge { size, max, .. }) => {
            assert_eq!(size, MAX_OBJECT_BYTES + 1);
            assert_eq!(max, MAX_OBJECT_BYTES);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn resolve_single_revisions_like_rev_parse() {
    let f = Fixture::new(&[]);
    let c1 = f.commit("a");
    let c2 = f.commit("b");
    f.git(&["tag", "-a", "v1", "-m", "annotated"]);
    f.git(&["tag", "light", &c1]);
    f.git(&["branch", "old", &c1]);
    let repo = f.open();
    let tag_id = f.git(&["rev-parse", "v1"]);
    assert_ne!(tag_id, c2);
    for (spec, want) in [
        ("HEAD", &c2),
        ("HEAD~1", &c1),
        ("main", &c2),
        ("old", &c1),
        (&c1[..8], &c1),
        (c2.as_str(), &c2),
        ("v1", &tag_id),
        ("light", &c1),
        ("v1^{}", &c2),
    ] {
        assert_eq!(repo.resolve(spec).unwrap(), vec![want.clone()], "{spec}");
        assert_eq!(f.git(&["rev-parse", spec]), *want, "{spec}");
    }
}

#[test]
fn resolve_ranges_like_rev_list_across_a_merge() {
    let f = Fixture::new(&[]);
    let ids = merge_history(&f);
    f.git(&["tag", "-a", "v0", "-m", "first", &ids[0]]);
    let repo = f.open();
    for (spec, args) in [
        ("main~3..main", vec!["main~3..main"]),
        ("v0..HEAD", vec!["v0..HEAD"]),
        ("side..main", vec!["side..main"]),
        ("main..side", vec!["main..side"]),
        ("HEAD~1..", vec!["HEAD~1..HEAD"]),
        ("..side", vec!["HEAD..side"]),
    ] {
        let want = f.rev_list(&args);
        assert_eq!(repo.resolve(spec).unwrap(), want, "{spec}");
    }
    assert_eq!(repo.resolve("v0..HEAD").unwrap().len(), 6);
    let tips = [ids[6].clone()];
    let hidden = [ids[1].clone(), ids[2].clone()];
    assert_eq!(
        repo.walk(&tips, &hidden).unwrap(),
        f.rev_list(&[&ids[6], "--not", &ids[1], &ids[2]])
    );
    assert_eq!(repo.walk(&tips, &[]).unwrap(), f.rev_list(&[&ids[6]]));
}

/// `walk_each` (what `signet verify --all` and the hook use) streams exactly the commits
/// `git rev-list` lists, all parents or first parents only, each with its exact stored bytes.
#[test]
fn walk_each_streams_what_rev_list_lists_with_the_stored_bytes() {
    let f = Fixture::new(&[]);
    let ids = merge_history(&f);
    let repo = f.open();
    let (c1, s1, m, c4) = (&ids[0], &ids[2], &ids[5], &ids[6]);
    for (tips, hidden, first_parent, args) in [
        (vec![c4], vec![], false, vec![c4.as_str()]),
        (vec![c4], vec![s1], false, vec![c4, "--not", s1]),
        (vec![c4], vec![], true, vec!["--first-parent", c4]),
        (
            vec![c4],
            vec![c1],
            true,
            vec!["--first-parent", c4, "--not", c1],
        ),
        (vec![m, s1], vec![c1], false, vec![m, s1, "--not", c1]),
    ] {
        let tips: Vec<String> = tips.into_iter().cloned().collect();
        let hidden: Vec<String> = hidden.into_iter().cloned().collect();
        let mut got = Vec::new();
        repo.walk_each(&tips, &hidden, first_parent, |id, data| {
            assert_eq!(
                data,
                f.git_bytes(&["cat-file", "commit", id]).as_slice(),
                "{id}"
            );
            got.push(id.to_owned());
            true
        })
        .unwrap();
        let mut want = f.rev_list(&args);
        got.sort();
        want.sort();
        assert_eq!(got, want, "{args:?}");
    }
    // Stopping early stops the walk.
    let mut seen = 0;
    repo.walk_each(std::slice::from_ref(c4), &[], false, |_, _| {
        seen += 1;
        false
    })
    .unwrap();
    assert_eq!(seen, 1);
}

/// With every commit at the same second, the order comes from git's tie-breaking alone.
#[test]
fn walk_order_matches_rev_list_when_dates_tie() {
    let f = Fixture::new(&[]);
    f.step.set(0);
    f.commit("c1");
    f.git(&["checkout", "-q", "-b", "side"]);
    f.commit("s1");
    f.commit("s2");
    f.git(&["checkout", "-q", "main"]);
    f.commit("c2");
    f.commit("c3");
    f.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    f.commit("c4");
    let dates = f.git(&["log", "--format=%ct", "--all"]);
    assert!(dates.lines().all(|d| d == "1700000000"), "{dates}");
    let repo = f.open();
    for spec in ["HEAD~4..HEAD", "side..main", "HEAD~1..side"] {
        assert_eq!(repo.resolve(spec).unwrap(), f.rev_list(&[spec]), "{spec}");
    }
    assert_eq!(
        repo.walk(&[f.git(&["rev-parse", "HEAD"])], &[]).unwrap(),
        f.rev_list(&["HEAD"])
    );
}

#[test]
fn resolve_errors_carry_the_facts() {
    let f = Fixture::new(&[]);
    f.commit("a");
    f.git(&["tag", "light"]);
    let repo = f.open();
    match repo.resolve("no-such-branch") {
        Err(RepoError::BadRevision { spec, .. }) => assert_eq!(spec, "no-such-branch"),
        other => panic!("expected BadRevision, got {other:?}"),
    }
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    match repo.resolve("HEAD^{tree}") {
        Err(RepoError::WrongKind { id, kind }) => {
            assert_eq!(id, tree);
            assert_eq!(kind, "tree");
        }
        other => panic!("expected WrongKind, got {other:?}"),
    }
    assert!(matches!(
        repo.resolve("HEAD^{tree}..HEAD"),
        Err(RepoError::WrongKind { .. })
    ));
    assert!(matches!(
        repo.resolve("HEAD...HEAD"),
        Err(RepoError::BadRevision { .. })
    ));
    match repo.tag("light") {
        Err(RepoError::NotAnnotatedTag { name, kind, .. }) => {
            assert_eq!(name, "light");
            assert_eq!(kind, "commit");
        }
        other => panic!("expected NotAnnotatedTag, got {other:?}"),
    }
    assert!(matches!(
        repo.tag("missing"),
        Err(RepoError::NoSuchTag { .. })
    ));
}

#[test]
fn discover_finds_the_repository_from_a_subdirectory_and_fails_outside() {
    let f = Fixture::new(&[]);
    let id = f.commit("a");
    let sub = f.dir.join("sub/dir");
    std::fs::create_dir_all(&sub).unwrap();
    let repo = Repo::open_with(&sub, &GitEnv::default()).unwrap();
    assert_eq!(repo.resolve("HEAD").unwrap(), vec![id]);

    let outside = tempfile::tempdir().unwrap();
    match Repo::open_with(outside.path(), &GitEnv::default()) {
        Err(RepoError::NotARepository { dir, .. }) => assert_eq!(dir, outside.path()),
        Err(other) => panic!("expected NotARepository, got {other:?}"),
        Ok(_) => panic!("expected NotARepository, got a repository"),
    }
}

#[test]
fn git_dir_selects_the_repository() {
    let f = Fixture::new(&[]);
    let id = f.commit("a");
    let elsewhere = tempfile::tempdir().unwrap();
    let env = GitEnv {
        git_dir: Some(f.dir.join(".git")),
        ..GitEnv::default()
    };
    let repo = Repo::open_with(elsewhere.path(), &env).unwrap();
    assert_eq!(repo.resolve("HEAD").unwrap(), vec![id]);
}

#[test]
fn sha256_repository() {
    let f = Fixture::new(&["--object-format=sha256"]);
    let c1 = f.commit("a");
    let c2 = f.commit("b");
    f.git(&["tag", "-a", "v1", "-m", "annotated"]);
    let repo = f.open();
    assert_eq!(repo.hex_len(), 64);
    assert_eq!(c2.len(), 64);
    assert_eq!(repo.resolve("HEAD~1").unwrap(), vec![c1.clone()]);
    assert_eq!(repo.resolve(&c1[..10]).unwrap(), vec![c1.clone()]);
    assert_eq!(repo.resolve("HEAD~1..HEAD").unwrap(), vec![c2.clone()]);
    let obj = repo.read(&c2).unwrap();
    assert_eq!(obj.data, f.cat_file("commit", &c2));
    let tag = repo.tag("v1").unwrap();
    assert_eq!(tag.len(), 64);
    assert_eq!(repo.read(&tag).unwrap().data, f.cat_file("tag", &tag));
    assert!(matches!(
        repo.read(&c2[..40]),
        Err(RepoError::BadId { expected: 64, .. })
    ));
}

/// Objects written only into a quarantine directory (as `git receive-pack` does before the
/// pre-receive hook) are visible through `GitEnv::object_dir` + `alternates`.
#[test]
fn quarantined_objects_are_visible_through_the_object_directory_variables() {
    let f = Fixture::new(&[]);
    let base = f.commit("a");
    let quarantine = f.tmp.path().join("incoming");
    std::fs::create_dir(&quarantine).unwrap();
    let main_objects = f.dir.join(".git/objects");
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    let mut cmd = f.command(&["commit-tree", &tree, "-p", &base, "-m", "pushed"]);
    cmd.env("GIT_OBJECT_DIRECTORY", &quarantine)
        .env("GIT_ALTERNATE_OBJECT_DIRECTORIES", &main_objects);
    let pushed = String::from_utf8(f.run(cmd, b""))
        .unwrap()
        .trim_end()
        .to_string();
    let mut cmd = f.command(&["cat-file", "commit", &pushed]);
    cmd.env("GIT_OBJECT_DIRECTORY", &quarantine)
        .env("GIT_ALTERNATE_OBJECT_DIRECTORIES", &main_objects);
    let want = f.run(cmd, b"");

    assert!(matches!(
        f.open().read(&pushed),
        Err(RepoError::NotFound { .. })
    ));
    let env = GitEnv {
        git_dir: None,
        object_dir: Some(quarantine),
        alternates: vec![main_objects],
    };
    let repo = Repo::open_with(&f.dir, &env).unwrap();
    assert_eq!(repo.read(&pushed).unwrap().data, want);
    assert_eq!(repo.resolve(&pushed).unwrap(), vec![pushed.clone()]);
    assert_eq!(repo.resolve(&pushed[..10]).unwrap(), vec![pushed.clone()]);
    assert_eq!(
        repo.walk(std::slice::from_ref(&pushed), std::slice::from_ref(&base))
            .unwrap(),
        vec![pushed.clone()]
    );
    assert_eq!(
        repo.walk(std::slice::from_ref(&pushed), &[]).unwrap(),
        vec![pushed, base]
    );
}

/// A real `git push` into a bare repository whose pre-receive hook copies the quarantine (kept
/// as a pack, `receive.unpackLimit=1`) and rejects the push, so the pushed objects exist only
/// in the copy. The hook's own environment shows what git sets: `GIT_DIR=.`, and absolute
/// `GIT_OBJECT_DIRECTORY` / `GIT_ALTERNATE_OBJECT_DIRECTORIES`.
#[test]
fn pushed_objects_in_a_real_pre_receive_quarantine() {
    let f = Fixture::new(&[]);
    let base = f.commit("a");
    let server = f.tmp.path().join("server.git");
    let server_arg = server.to_str().unwrap();
    f.git(&["init", "-q", "--bare", server_arg]);
    f.git(&["-C", server_arg, "config", "receive.unpackLimit", "1"]);
    f.git(&["push", "-q", server_arg, "main"]);
    let hook = server.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\n\
         cp -R \"$GIT_OBJECT_DIRECTORY\" ../quarantine\n\
         printf '%s\\n' \"$GIT_DIR\" \"$GIT_ALTERNATE_OBJECT_DIRECTORIES\" > ../hookenv\n\
         cat > ../updates\n\
         exit 1\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    f.commit("b");
    f.commit("c");
    let tip = f.commit("d");
    let out = f
        .command(&["push", "-q", server_arg, "main"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the hook rejects the push");

    let updates = std::fs::read_to_string(f.tmp.path().join("updates")).unwrap();
    let fields: Vec<&str> = updates.split_whitespace().collect();
    assert_eq!(fields, [base.as_str(), tip.as_str(), "refs/heads/main"]);
    let hookenv = std::fs::read_to_string(f.tmp.path().join("hookenv")).unwrap();
    let lines: Vec<&str> = hookenv.lines().collect();
    assert_eq!(lines[0], ".");
    let quarantine = f.tmp.path().join("quarantine");
    assert!(quarantine.join("pack").read_dir().unwrap().next().is_some());

    let no_env = Repo::open_with(&server, &GitEnv::default()).unwrap();
    assert!(matches!(no_env.read(&tip), Err(RepoError::NotFound { .. })));
    let env = GitEnv {
        git_dir: Some(server.clone()),
        object_dir: Some(quarantine),
        alternates: vec![PathBuf::from(lines[1])],
    };
    let repo = Repo::open_with(f.tmp.path(), &env).unwrap();
    let want = f.rev_list(&[&format!("{base}..{tip}")]);
    assert_eq!(want.len(), 3);
    assert_eq!(
        repo.walk(std::slice::from_ref(&tip), std::slice::from_ref(&base))
            .unwrap(),
        want
    );
    for id in &want {
        assert_eq!(repo.read(id).unwrap().data, f.cat_file("commit", id));
    }
}

#[test]
fn missing_object_directory_is_an_error() {
    let f = Fixture::new(&[]);
    f.commit("a");
    let env = GitEnv {
        object_dir: Some(f.tmp.path().join("nope")),
        ..GitEnv::default()
    };
    assert!(matches!(
        Repo::open_with(&f.dir, &env),
        Err(RepoError::ObjectDirectory { .. })
    ));
}
