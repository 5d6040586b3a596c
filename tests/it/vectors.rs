//! Verification vectors (`tests/vectors/verify/*.vector`, written by the ignored generator
//! `core::gitsig::vector_gen_tests`): each file states its expected outcome, the trusted root
//! and the object kind, then holds a commit or tag exactly as git stores it. Every vector runs
//! in-process through the library (split, check, verify) and, unless git would not run a
//! verifier at all (`status: NONE`), through the `signet` binary as git runs it:
//! `signet --status-fd=1 --verify SIGFILE -` with the payload on stdin.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use signet::core::gitobject::ObjectKind;
use signet::core::gitsig::{self, Severity};
use signet::core::signed_object::{self, SplitError};
use signet::core::trust_root::TrustedRoot;

use crate::harness::show;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/verify");

struct Vector {
    name: String,
    expect: String,
    status: String,
    root: String,
    kind: ObjectKind,
    object: Vec<u8>,
}

fn header<'a>(fields: &[(&'a str, &'a str)], key: &str, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("{name}: no {key:?} header"))
}

/// Parse one vector file: comment lines, `key: value` lines, `object:`, then the raw object.
fn parse(name: &str, bytes: &[u8]) -> Vector {
    let marker = b"\nobject:\n";
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap_or_else(|| panic!("{name}: no object: line"));
    let head = std::str::from_utf8(&bytes[..at]).unwrap();
    assert!(
        head.starts_with("# "),
        "{name}: must open with a comment saying what it is"
    );
    let mut fields = Vec::new();
    for line in head.lines().filter(|l| !l.starts_with('#')) {
        let (k, v) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("{name}: bad header line {line:?}"));
        fields.push((k, v));
    }
    let kind = match header(&fields, "kind", name) {
        "commit" => ObjectKind::Commit,
        "tag" => ObjectKind::Tag,
        other => panic!("{name}: unknown kind {other}"),
    };
    let status = header(&fields, "status", name);
    assert!(
        ["GOODSIG", "BADSIG", "ERRSIG", "NONE"].contains(&status),
        "{name}: status {status}"
    );
    Vector {
        name: name.to_owned(),
        expect: header(&fields, "expect", name).to_owned(),
        status: status.to_owned(),
        root: header(&fields, "root", name).to_owned(),
        kind,
        object: bytes[at + marker.len()..].to_vec(),
    }
}

fn load() -> Vec<Vector> {
    let mut out: Vec<Vector> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vector"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_str().unwrap().to_owned();
            parse(&name, &std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn root_path(v: &Vector) -> PathBuf {
    Path::new(DIR).join("roots").join(&v.root)
}

/// (a) The library: the outcome name and the status git would see.
fn in_process(v: &Vector) -> (String, &'static str) {
    let root = TrustedRoot::from_json(&std::fs::read(root_path(v)).unwrap())
        .unwrap_or_else(|e| panic!("{}: root {}: {e}", v.name, v.root));
    match signed_object::split(v.kind, &v.object) {
        Err(SplitError::NotSigned { .. }) => ("not-signed".into(), "NONE"),
        Err(SplitError::DuplicateSignature { .. }) => ("duplicate-signature".into(), "ERRSIG"),
        Err(_) => ("malformed-object".into(), "ERRSIG"),
        Ok(s) => {
            assert_eq!(s.kind, v.kind, "{}", v.name);
            let result = gitsig::check_signature(&s.signature, &s.payload)
                .and_then(|checked| gitsig::verify_embedded(&checked, &root));
            match result {
                Ok(_) => ("verified".into(), "GOODSIG"),
                Err(e) => {
                    // Every failure renders as a message (users read them).
                    assert!(!e.to_string().is_empty(), "{}", v.name);
                    let status = match e.severity() {
                        Severity::Bad => "BADSIG",
                        Severity::Unverifiable => "ERRSIG",
                    };
                    (e.kind().into(), status)
                }
            }
        }
    }
}

/// What git hands the verifier, read as leniently as git does (every `gpgsig` header of a
/// commit concatenated, the last armor line of a tag), so objects signet's splitter refuses
/// still reach the binary the way git would pass them.
fn as_git_passes(v: &Vector) -> (Vec<u8>, Vec<u8>) {
    if let Ok(s) = signed_object::split(v.kind, &v.object) {
        return (s.payload, s.signature);
    }
    assert_eq!(
        v.kind,
        ObjectKind::Commit,
        "{}: only commits are refused by the splitter in these vectors",
        v.name
    );
    let o = &v.object;
    let end = o
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(o.len(), |p| p + 1);
    let (mut payload, mut sig) = (Vec::new(), Vec::new());
    let mut in_sig = false;
    for line in o[..end].split_inclusive(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"gpgsig ") {
            in_sig = true;
            sig.extend_from_slice(rest);
        } else if in_sig && line.starts_with(b" ") {
            sig.extend_from_slice(&line[1..]);
        } else {
            in_sig = false;
            payload.extend_from_slice(line);
        }
    }
    payload.extend_from_slice(&o[end..]);
    assert!(!sig.is_empty(), "{}: git would find no signature", v.name);
    (payload, sig)
}

/// (b) The binary in gpg mode, hermetic: its own HOME and global git config, no system
/// config, no inherited SIGNET_/GITSIGN_/SIGSTORE_ variables (the environment is cleared).
fn through_binary(v: &Vector, scratch: &Path) -> Output {
    let (payload, signature) = as_git_passes(v);
    let home = scratch.join(&v.name);
    std::fs::create_dir_all(&home).unwrap();
    let gitconfig = home.join("gitconfig");
    std::fs::write(&gitconfig, "").unwrap();
    let sigfile = home.join("signature");
    std::fs::write(&sigfile, &signature).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_signet"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("GIT_CONFIG_GLOBAL", &gitconfig)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("SIGNET_TRUSTED_ROOT", root_path(v))
        .current_dir(&home)
        .arg("--status-fd=1")
        .arg("--verify")
        .arg(&sigfile)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A broken pipe is fine if signet stops reading early; the status lines tell.
    let _ = child.stdin.take().unwrap().write_all(&payload);
    child.wait_with_output().unwrap()
}

fn check_binary(v: &Vector, o: &Output) {
    let ctx = format!("{}: {}", v.name, show(o));
    let good = v.expect == "verified";
    assert_eq!(o.status.code(), Some(if good { 0 } else { 1 }), "{ctx}");
    let stdout = String::from_utf8(o.stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first().copied(), Some("[GNUPG:] NEWSIG"), "{ctx}");
    assert!(
        lines.iter().all(|l| l.starts_with("[GNUPG:] ")),
        "stdout belongs to git: {ctx}"
    );
    let verdicts: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split(' ').nth(1))
        .filter(|w| ["GOODSIG", "BADSIG", "ERRSIG"].contains(w))
        .collect();
    assert_eq!(verdicts, [v.status.as_str()], "{ctx}");
    let has = |p: &str| lines.iter().any(|l| l.starts_with(p));
    assert_eq!(has("[GNUPG:] VALIDSIG "), good, "{ctx}");
    assert_eq!(has("[GNUPG:] TRUST_"), good, "{ctx}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{ctx}");
    if !good {
        assert!(stderr.contains("signet: error: "), "{ctx}");
        assert!(
            stderr.lines().any(|l| l.trim_start().starts_with("hint:")),
            "{ctx}"
        );
    }
}

#[test]
fn verify_vectors_have_their_stated_outcome() {
    let vectors = load();
    assert!(
        vectors.len() >= 30,
        "only {} vectors in {DIR}",
        vectors.len()
    );
    let positive = vectors.iter().filter(|v| v.expect == "verified").count();
    let negative = vectors.len() - positive;
    assert!(positive >= 2, "{positive} positive vectors");
    assert!(
        negative >= 3 * positive,
        "{negative} negative vs {positive} positive vectors"
    );
    // Every root file is used, and every named root exists.
    let roots: BTreeSet<String> = std::fs::read_dir(Path::new(DIR).join("roots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let used: BTreeSet<String> = vectors.iter().map(|v| v.root.clone()).collect();
    assert_eq!(roots, used);

    let scratch = tempfile::tempdir().unwrap();
    let mut binary_runs = 0;
    for v in &vectors {
        let (kind, status) = in_process(v);
        assert_eq!(kind, v.expect, "{}: library outcome", v.name);
        assert_eq!(status, v.status, "{}: library severity", v.name);
        if v.status == "NONE" {
            continue;
        }
        check_binary(v, &through_binary(v, scratch.path()));
        binary_runs += 1;
    }
    assert!(
        binary_runs >= 30,
        "{binary_runs} vectors ran through the binary"
    );
}
