//! Unit tests of [`super::resolve`]: precedence, gitsign fallback, value parsing and errors.
use super::*;

#[test]
fn values_parse_strictly_with_gitsign_spellings() {
    assert_eq!("interactive".parse(), Ok(TokenProvider::Browser));
    assert_eq!("FileSystem".parse(), Ok(TokenProvider::File));
    assert!(
        "spiffe"
            .parse::<TokenProvider>()
            .unwrap_err()
            .contains("unknown token provider")
    );
    assert_eq!("Online".parse(), Ok(RekorMode::Online));
    assert!("sometimes".parse::<RekorMode>().is_err());
    assert_eq!(parse_bool("Yes"), Ok(true));
    assert!(parse_bool("maybe").is_err());
    assert_eq!(Settings::default().rekor_mode, RekorMode::Offline);
}

use std::collections::HashMap;

/// A lookup over fixed pairs; git names are matched case-insensitively like the adapter.
fn table(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
        .collect()
}

fn run(git: &[(&str, &str)], env: &[(&str, &str)]) -> Result<Settings, CliError> {
    let git = table(git);
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    resolve(&|k| git.get(&k.to_ascii_lowercase()).cloned(), &|k| {
        env.get(k).cloned()
    })
}

fn err(git: &[(&str, &str)], env: &[(&str, &str)]) -> CliError {
    run(git, env).unwrap_err()
}

#[test]
fn nothing_set_is_the_public_good_instance() {
    assert_eq!(run(&[], &[]).unwrap(), Settings::default());
}

#[test]
fn precedence_signet_env_then_signet_git_then_gitsign_env_then_gitsign_git() {
    let all_git = [
        ("signet.fulcio", "https://signet-git.example"),
        ("gitsign.fulcio", "https://gitsign-git.example"),
    ];
    let all_env = [
        ("SIGNET_FULCIO_URL", "https://signet-env.example"),
        ("GITSIGN_FULCIO_URL", "https://gitsign-env.example"),
    ];
    let url = |git: &[(&str, &str)], env: &[(&str, &str)]| run(git, env).unwrap().fulcio_url;
    assert_eq!(url(&all_git, &all_env), "https://signet-env.example");
    assert_eq!(url(&all_git, &all_env[1..]), "https://signet-git.example");
    assert_eq!(
        url(&all_git[1..], &all_env[1..]),
        "https://gitsign-env.example"
    );
    assert_eq!(url(&all_git[1..], &[]), "https://gitsign-git.example");
    assert_eq!(url(&[], &[]), DEFAULT_FULCIO_URL);

    // The same order for an enum and an optional key.
    let mode = |git: &[(&str, &str)], env: &[(&str, &str)]| run(git, env).unwrap().rekor_mode;
    assert_eq!(
        mode(
            &[("gitsign.rekorMode", "online")],
            &[("SIGNET_REKOR_MODE", "offline")]
        ),
        RekorMode::Offline
    );
    assert_eq!(
        mode(
            &[("signet.rekorMode", "offline")],
            &[("GITSIGN_REKOR_MODE", "online")]
        ),
        RekorMode::Offline
    );
    assert_eq!(
        mode(
            &[("gitsign.rekorMode", "offline")],
            &[("GITSIGN_REKOR_MODE", "online")]
        ),
        RekorMode::Online
    );
    let connector =
        |git: &[(&str, &str)], env: &[(&str, &str)]| run(git, env).unwrap().connector_id;
    assert_eq!(
        connector(
            &[("gitsign.connectorID", "github")],
            &[("SIGNET_CONNECTOR_ID", "google")]
        )
        .as_deref(),
        Some("google")
    );
    assert_eq!(
        connector(
            &[("signet.connectorid", "microsoft")],
            &[("GITSIGN_CONNECTOR_ID", "google")]
        )
        .as_deref(),
        Some("microsoft")
    );
    assert_eq!(connector(&[], &[]), None);
}

#[test]
fn a_gitsign_configuration_is_read_whole_but_signs_offline_by_default() {
    let s = run(
        &[
            ("gitsign.fulcio", "http://127.0.0.1:8080/"),
            ("gitsign.rekor", "http://127.0.0.1:8080"),
            ("gitsign.issuer", "http://127.0.0.1:8080/oauth2/"),
            ("gitsign.clientID", "teststack"),
            ("gitsign.redirectURL", "http://localhost:9999/auth/callback"),
            ("gitsign.tokenProvider", "interactive"),
            ("gitsign.matchCommitter", "yes"),
            ("gitsign.logPath", "/tmp/gitsign.log"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(s.fulcio_url, "http://127.0.0.1:8080");
    assert_eq!(s.rekor_url, "http://127.0.0.1:8080");
    // Issuer and redirect URL are compared byte for byte by the other side: kept as written.
    assert_eq!(s.oidc_issuer, "http://127.0.0.1:8080/oauth2/");
    assert_eq!(
        s.redirect_url.as_deref(),
        Some("http://localhost:9999/auth/callback")
    );
    assert_eq!(s.client_id, "teststack");
    assert_eq!(s.token_provider, Some(TokenProvider::Browser));
    assert!(s.match_committer);
    assert_eq!(s.log_path, Some(PathBuf::from("/tmp/gitsign.log")));
    assert_eq!(s.rekor_mode, RekorMode::Offline);
    // gitsign has no token file or trusted root key: nothing maps to them.
    assert_eq!(s.token_file, None);
    assert_eq!(s.trusted_root, None);
    let s = run(
        &[],
        &[
            ("GITSIGN_LOG", "/tmp/g.log"),
            ("GITSIGN_OIDC_CLIENT_ID", "x"),
        ],
    )
    .unwrap();
    assert_eq!(s.log_path, Some(PathBuf::from("/tmp/g.log")));
    assert_eq!(s.client_id, "x");
}

#[test]
fn signet_only_keys_have_no_gitsign_fallback() {
    let s = run(
        &[("gitsign.tokenFile", "/t"), ("gitsign.trustedRoot", "/r")],
        &[
            ("GITSIGN_TOKEN_FILE", "/t"),
            ("GITSIGN_TRUSTED_ROOT", "/r"),
            ("GITSIGN_MATCH_COMMITTER", "true"),
        ],
    )
    .unwrap();
    assert_eq!(
        (s.token_file, s.trusted_root, s.match_committer),
        (None, None, false)
    );
    let s = run(
        &[("signet.tokenFile", "/t"), ("signet.trustedRoot", "/r")],
        &[("SIGNET_MATCH_COMMITTER", "on")],
    )
    .unwrap();
    assert_eq!(s.token_file, Some(PathBuf::from("/t")));
    assert_eq!(s.trusted_root, Some(PathBuf::from("/r")));
    assert!(s.match_committer);
    let s = run(
        &[],
        &[
            ("SIGNET_TOKEN_FILE", "tok"),
            ("SIGNET_TRUSTED_ROOT", "tr.json"),
        ],
    )
    .unwrap();
    assert_eq!(s.token_file, Some(PathBuf::from("tok")));
    assert_eq!(s.trusted_root, Some(PathBuf::from("tr.json")));
}

#[test]
fn empty_environment_variables_count_as_unset() {
    let s = run(
        &[("signet.rekorMode", "online")],
        &[("SIGNET_REKOR_MODE", ""), ("SIGNET_FULCIO_URL", "")],
    )
    .unwrap();
    assert_eq!(s.rekor_mode, RekorMode::Online);
    assert_eq!(s.fulcio_url, DEFAULT_FULCIO_URL);
}

#[test]
fn git_paths_expand_home_like_git() {
    let git = table(&[("signet.trustedroot", "~/sigstore/root.json")]);
    let s = resolve(&|k| git.get(&k.to_ascii_lowercase()).cloned(), &|k| {
        (k == "HOME").then(|| "/home/a".to_owned())
    })
    .unwrap();
    assert_eq!(
        s.trusted_root,
        Some(PathBuf::from("/home/a/sigstore/root.json"))
    );
    // The environment is the shell's business: no expansion there.
    let s = run(&[], &[("SIGNET_TRUSTED_ROOT", "~/x")]).unwrap();
    assert_eq!(s.trusted_root, Some(PathBuf::from("~/x")));
}

#[test]
fn url_opener_accepts_gitsign_templates() {
    let opener = |v: &str| run(&[("gitsign.urlOpener", v)], &[]).map(|s| s.url_opener);
    for (given, want) in [
        ("firefox {{.URL}}", "firefox"),
        ("firefox --new-window {{ .URL }}", "firefox --new-window"),
        ("open \"{{.URL}}\"", "open"),
        ("xdg-open '{{.URL}}'  ", "xdg-open"),
        ("/usr/bin/my-opener", "/usr/bin/my-opener"),
    ] {
        assert_eq!(opener(given).unwrap().as_deref(), Some(want), "{given}");
    }
    for bad in ["{{.URL}}", "open {{.URL}} --new", "open {{.Other}}", "  "] {
        let e = opener(bad).unwrap_err();
        assert!(
            e.message.starts_with("git config gitsign.urlOpener = "),
            "{}",
            e.message
        );
    }
    assert_eq!(
        run(&[], &[("SIGNET_URL_OPENER", "curl -s")])
            .unwrap()
            .url_opener
            .as_deref(),
        Some("curl -s")
    );
}

#[test]
fn bad_values_name_key_source_value_and_accepted_values() {
    let e = err(&[("signet.rekorMode", "sometimes")], &[]);
    assert_eq!(e.kind, crate::cli::error::Kind::Usage);
    assert_eq!(
        e.message,
        "git config signet.rekorMode = \"sometimes\": unknown rekor mode \"sometimes\"; use offline or online"
    );
    assert!(
        e.hint
            .as_deref()
            .unwrap()
            .contains("git config --show-origin --get-all signet.rekorMode")
    );

    let e = err(&[], &[("SIGNET_REKOR_MODE", "Sometimes")]);
    assert!(
        e.message
            .starts_with("environment SIGNET_REKOR_MODE = \"Sometimes\""),
        "{}",
        e.message
    );
    assert!(e.hint.as_deref().unwrap().contains("use offline or online"));

    let e = err(&[], &[("GITSIGN_REKOR_MODE", "v2")]);
    assert!(
        e.message
            .starts_with("environment GITSIGN_REKOR_MODE = \"v2\""),
        "{}",
        e.message
    );

    // A bad value is an error even when a lower-precedence source has a good one ...
    let e = err(
        &[("signet.tokenProvider", "spiffe")],
        &[("GITSIGN_TOKEN_PROVIDER", "device")],
    );
    assert!(
        e.message
            .starts_with("git config signet.tokenProvider = \"spiffe\"")
    );
    assert!(
        e.hint
            .as_deref()
            .unwrap()
            .contains("env, github-actions, file, browser, device")
    );
    // ... and a bad value below a good one is never looked at.
    assert!(
        run(
            &[("gitsign.tokenProvider", "spiffe")],
            &[("SIGNET_TOKEN_PROVIDER", "device")]
        )
        .is_ok()
    );

    let e = err(&[("gitsign.matchCommitter", "maybe")], &[]);
    assert!(
        e.message
            .starts_with("git config gitsign.matchCommitter = \"maybe\"")
    );
    assert!(e.hint.as_deref().unwrap().starts_with("use true or false"));

    let e = err(&[], &[("SIGNET_FULCIO_URL", "fulcio.example")]);
    assert!(
        e.message
            .starts_with("environment SIGNET_FULCIO_URL \"fulcio.example\" is not a URL"),
        "{}",
        e.message
    );
    assert!(e.hint.as_deref().unwrap().contains("unset it"));
    let e = err(&[("gitsign.rekor", "ftp://rekor.example")], &[]);
    assert!(
        e.message.contains("git config gitsign.rekor"),
        "{}",
        e.message
    );
    let e = err(&[("signet.issuer", "https://u:p@issuer.example")], &[]);
    assert!(
        e.message.contains("git config signet.issuer"),
        "{}",
        e.message
    );
    let e = err(&[("signet.redirectURL", "localhost:8080")], &[]);
    assert!(
        e.message.contains("git config signet.redirectURL"),
        "{}",
        e.message
    );

    for key in [
        "signet.tokenFile",
        "signet.trustedRoot",
        "signet.logPath",
        "signet.clientID",
        "gitsign.connectorID",
    ] {
        let e = err(&[(key, "")], &[]);
        assert_eq!(
            e.message,
            format!("git config {key} = \"\": the value is empty")
        );
    }
}

#[test]
fn git_booleans() {
    let m = |v: &str| run(&[("signet.matchCommitter", v)], &[]).map(|s| s.match_committer);
    for t in ["true", "YES", "on", "1"] {
        assert!(m(t).unwrap(), "{t}");
    }
    // An empty git value is git's false.
    for f in ["false", "No", "off", "0", ""] {
        assert!(!m(f).unwrap(), "{f}");
    }
    assert!(m("2").is_err());
    // The environment overrides git both ways.
    let s = run(
        &[("signet.matchCommitter", "true")],
        &[("SIGNET_MATCH_COMMITTER", "false")],
    )
    .unwrap();
    assert!(!s.match_committer);
}

#[test]
fn gitsign_fulcio_root_is_ignored_with_a_warning() {
    let warn = |git: &[(&str, &str)], env: &[(&str, &str)]| {
        let git = table(git);
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        warnings(&|k| git.get(&k.to_ascii_lowercase()).cloned(), &|k| {
            env.get(k).cloned()
        })
    };
    let w = warn(&[("gitsign.fulcioRoot", "/etc/fulcio.pem")], &[]);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].starts_with("git config gitsign.fulcioRoot is ignored"),
        "{}",
        w[0]
    );
    assert!(w[0].contains("trusted_root.json"));
    let w = warn(&[], &[("GITSIGN_FULCIO_ROOT", "/etc/fulcio.pem")]);
    assert!(w[0].starts_with("environment GITSIGN_FULCIO_ROOT is ignored"));
    // With a signet trusted root the gitsign key is moot: no warning.
    assert!(
        warn(
            &[
                ("gitsign.fulcioRoot", "/f.pem"),
                ("signet.trustedRoot", "/r.json")
            ],
            &[]
        )
        .is_empty()
    );
    assert!(
        warn(
            &[("gitsign.fulcioRoot", "/f.pem")],
            &[("SIGNET_TRUSTED_ROOT", "/r.json")]
        )
        .is_empty()
    );
    assert!(warn(&[], &[]).is_empty());
    // And the settings themselves do not change.
    let s = run(
        &[("gitsign.fulcioRoot", "/f.pem")],
        &[("GITSIGN_FULCIO_ROOT", "/f.pem")],
    )
    .unwrap();
    assert_eq!(s, Settings::default());
}

#[test]
fn every_key_has_a_distinct_env_name() {
    let names: Vec<_> = env_names().collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
    assert!(names.iter().all(|n| n.starts_with("SIGNET_")
        || n.starts_with("GITSIGN_")
        || *n == "SIGSTORE_ROOT_FILE"));
}

#[test]
fn verification_policy_and_trusted_root_sources() {
    use crate::core::policy::Matcher;
    let git = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.to_string())
        }
    };
    let no_env = |_: &str| None;
    let s = resolve(
        &git(&[
            ("signet.verify.identity", "a@x.dev"),
            ("signet.verify.issuerRegexp", "https://(a|b)\\.dev"),
            ("signet.verify.online", "true"),
        ]),
        &no_env,
    )
    .unwrap();
    assert_eq!(s.verify_identity, Some(Matcher::Exact("a@x.dev".into())));
    assert!(s.verify_issuer.as_ref().unwrap().matches("https://b.dev"));
    assert!(!s.verify_issuer.as_ref().unwrap().matches("https://c.dev"));
    assert!(s.verify_online);

    // Exact and regex for the same part is a configuration error, as is a bad regex.
    let e = resolve(
        &git(&[
            ("signet.verify.identity", "a@x.dev"),
            ("signet.verify.identityRegexp", ".*"),
        ]),
        &no_env,
    )
    .unwrap_err();
    assert!(e.message.contains("both set"), "{}", e.message);
    let e = resolve(&git(&[("signet.verify.issuerRegexp", "(")]), &no_env).unwrap_err();
    assert!(
        e.message.contains("signet.verify.issuerRegexp"),
        "{}",
        e.message
    );
    let e = resolve(&git(&[("signet.verify.online", "maybe")]), &no_env).unwrap_err();
    assert!(e.message.contains("signet.verify.online"), "{}", e.message);

    // SIGSTORE_ROOT_FILE is the last resort for the trusted root.
    let env = |k: &str| (k == "SIGSTORE_ROOT_FILE").then(|| "/r/sigstore.json".to_string());
    let s = resolve(&git(&[]), &env).unwrap();
    assert_eq!(s.trusted_root, Some(PathBuf::from("/r/sigstore.json")));
    let s = resolve(&git(&[("signet.trustedRoot", "/r/signet.json")]), &env).unwrap();
    assert_eq!(s.trusted_root, Some(PathBuf::from("/r/signet.json")));
}

#[test]
fn unknown_signet_keys_are_reported_once() {
    let w = unknown_keys(
        [
            "signet.rekormode",
            "signet.fulciourl",
            "gitsign.whatever",
            "signet.fulciourl",
            "user.email",
        ]
        .into_iter(),
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("git config signet.fulciourl is not a signet setting"),
        "{}",
        w[0]
    );
    assert!(w[0].contains("fulcio, rekor, issuer"));
}

#[test]
fn notes_ref_expands_like_git_notes_and_rejects_bad_names() {
    assert_eq!(run(&[], &[]).unwrap().notes_ref, "refs/notes/signet");
    for (value, full) in [
        ("proofs", "refs/notes/proofs"),
        ("notes/proofs", "refs/notes/proofs"),
        ("refs/notes/a/b", "refs/notes/a/b"),
    ] {
        let s = run(&[("signet.notesRef", value)], &[]).unwrap();
        assert_eq!(s.notes_ref, full, "{value}");
    }
    let s = run(
        &[("signet.notesRef", "x")],
        &[("SIGNET_NOTES_REF", "refs/notes/env")],
    )
    .unwrap();
    assert_eq!(s.notes_ref, "refs/notes/env");
    for bad in [
        "",
        "refs/notes/",
        "a..b",
        "has space",
        "trailing/",
        "x.lock",
        "@{1}",
    ] {
        let e = err(&[("signet.notesRef", bad)], &[]);
        assert!(
            e.message.contains("signet.notesRef"),
            "{bad:?}: {}",
            e.message
        );
        assert!(
            e.message.contains("not a valid notes ref name"),
            "{bad:?}: {}",
            e.message
        );
    }
}
