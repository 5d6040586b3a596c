use std::time::{Duration, Instant};

use super::*;

const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";
const SHA256: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn ok(text: &str) -> PolicyFile {
    match parse(text.as_bytes(), "policy.toml") {
        Ok(f) => f,
        Err(e) => panic!("expected a valid policy, got {e}"),
    }
}

fn err(text: &str) -> PolicyFileError {
    match parse(text.as_bytes(), "policy.toml") {
        Ok(f) => panic!("expected an error, got {f:?}"),
        Err(e) => e,
    }
}

/// Asserts the error's line, and that its message contains `needle`.
fn err_at(text: &str, line: usize, needle: &str) -> PolicyFileError {
    let e = err(text);
    assert_eq!(e.line, Some(line), "wrong line for {e}");
    assert!(e.column.is_some(), "no column in {e}");
    assert!(e.message.contains(needle), "{needle:?} not in {e}");
    assert!(
        e.to_string().starts_with(&format!("policy.toml:{line}:")),
        "{e}"
    );
    e
}

fn rule_with(extra: &str) -> String {
    format!("version = 1\n[[rule]]\nrefs = [\"refs/**\"]\n{extra}\n")
}

fn pat(p: &str) -> RefPattern {
    match RefPattern::new(p) {
        Ok(p) => p,
        Err(e) => panic!("{p}: {e}"),
    }
}

const FULL: &str = r#"version = 1

exempt-commits = ["0123456789ABCDEF0123456789ABCDEF01234567"]
exempt-history = [
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
]

[[rule]]
refs = ["refs/heads/main", "refs/heads/release/*"]
identities = ["alice@example.com", "bob@example.com"]
identity-regexps = ['.*@example\.com']
issuers = ["https://accounts.google.com"]

[[rule]]
refs = ["refs/tags/**"]
identity-regexps = ['https://github\.com/org/repo/\.github/workflows/release\.yml@refs/tags/v.*']
issuer-regexps = ['https://token\.actions\.githubusercontent\.com']
allow-merged-history = true

[[rule]]
refs = ["refs/**"]
allow-unsigned = true
"#;

#[test]
fn full_example_parses_to_the_expected_rules() {
    let f = ok(FULL);
    assert_eq!(f.exempt_commits, vec![SHA1.to_owned()]);
    assert_eq!(f.exempt_history, vec![SHA256.to_owned()]);
    assert_eq!(f.rules.len(), 3);

    let main = &f.rules[0];
    assert_eq!(main.line, 8);
    let refs: Vec<_> = main.refs.iter().map(RefPattern::as_str).collect();
    assert_eq!(refs, ["refs/heads/main", "refs/heads/release/*"]);
    let identity = main.policy.identity.as_ref().map(ToString::to_string);
    assert_eq!(
        identity.as_deref(),
        Some(r#"one of "alice@example.com", "bob@example.com", /.*@example\.com/"#)
    );
    assert_eq!(
        main.policy.issuer,
        Some(Matcher::Exact("https://accounts.google.com".to_owned()))
    );
    assert!(!main.allow_unsigned);
    assert!(!main.allow_merged_history);

    let tags = &f.rules[1];
    assert_eq!(tags.line, 14);
    let id = tags.policy.identity.as_ref().map(|m| {
        m.matches("https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1.2")
    });
    assert_eq!(id, Some(true));
    let issuer = tags.policy.issuer.as_ref();
    assert!(issuer.is_some_and(|m| m.matches("https://token.actions.githubusercontent.com")));
    assert!(issuer.is_some_and(|m| !m.matches("https://token.actions.githubusercontent.com.evil")));
    assert!(tags.allow_merged_history);
    assert!(!tags.allow_unsigned);

    let rest = &f.rules[2];
    assert_eq!(rest.line, 20);
    assert_eq!(rest.policy.identity, None);
    assert_eq!(rest.policy.issuer, None);
    assert!(rest.allow_unsigned);
}

#[test]
fn first_matching_rule_applies() {
    let f = ok(FULL);
    let line = |r: &str| f.rule_for(r).map(|r| r.line);
    assert_eq!(line("refs/heads/main"), Some(8));
    assert_eq!(line("refs/heads/release/1.0"), Some(8));
    assert_eq!(line("refs/heads/release/1.0/hotfix"), Some(20));
    assert_eq!(line("refs/tags/v1"), Some(14));
    assert_eq!(line("refs/tags/a/b"), Some(14));
    assert_eq!(line("refs/heads/feature"), Some(20));
    assert_eq!(line("HEAD"), None);
}

#[test]
fn a_ref_matching_no_rule_has_no_rule() {
    let f = ok("version = 1\n[[rule]]\nrefs = [\"refs/heads/main\"]\n");
    assert!(f.rule_for("refs/heads/main").is_some());
    assert!(f.rule_for("refs/heads/mainline").is_none());
    assert!(f.rule_for("refs/heads/mai").is_none());
    assert!(f.rule_for("refs/tags/v1").is_none());
}

#[test]
fn identity_and_issuer_default_to_none_when_lists_are_empty() {
    let f = ok(&rule_with(
        "identities = []\nidentity-regexps = []\nissuers = []",
    ));
    assert_eq!(f.rules[0].policy.identity, None);
    assert_eq!(f.rules[0].policy.issuer, None);
    assert!(f.exempt_commits.is_empty() && f.exempt_history.is_empty());
}

#[test]
fn one_identity_is_a_plain_matcher() {
    let f = ok(&rule_with(
        "identities = [\"a@b.c\"]\nissuer-regexps = ['https://.*']",
    ));
    assert_eq!(
        f.rules[0].policy.identity,
        Some(Matcher::Exact("a@b.c".to_owned()))
    );
    assert!(matches!(
        f.rules[0].policy.issuer,
        Some(Matcher::Regex { .. })
    ));
}

#[test]
fn star_stays_in_one_component_double_star_crosses() {
    let one = pat("refs/heads/*");
    assert!(one.matches("refs/heads/main"));
    assert!(one.matches("refs/heads/"));
    assert!(!one.matches("refs/heads/a/b"));
    assert!(!one.matches("refs/tags/main"));

    let two = pat("refs/heads/**");
    assert!(two.matches("refs/heads/main"));
    assert!(two.matches("refs/heads/a/b"));
    assert!(two.matches("refs/heads/a/b/c"));
    assert!(!two.matches("refs/tags/a"));

    let mid = pat("refs/heads/*/fix");
    assert!(mid.matches("refs/heads/x/fix"));
    assert!(!mid.matches("refs/heads/x/y/fix"));
    let mid2 = pat("refs/**/fix");
    assert!(mid2.matches("refs/heads/x/y/fix"));
    assert!(!mid2.matches("refs/heads/x/y/fix2"));

    let part = pat("refs/tags/v*.*");
    assert!(part.matches("refs/tags/v1.2"));
    assert!(part.matches("refs/tags/v1.2.3"));
    assert!(!part.matches("refs/tags/v1"));
    assert!(!part.matches("refs/tags/v1/2.3"));

    let exact = pat("refs/heads/main");
    assert!(exact.matches("refs/heads/main"));
    assert!(!exact.matches("refs/heads/main2"));
    assert!(!exact.matches("refs/heads/mai"));
    assert!(!exact.matches(""));
    // `.` and other characters are literal.
    assert!(!pat("refs/tags/v1.0").matches("refs/tags/v1x0"));
}

#[test]
fn ref_pattern_display_is_the_pattern_as_written() {
    let p = pat("refs/heads/release/**");
    assert_eq!(p.to_string(), "refs/heads/release/**");
    assert_eq!(p.as_str(), "refs/heads/release/**");
    assert_eq!(p, pat("refs/heads/release/**"));
    assert_ne!(p, pat("refs/heads/release/*"));
}

#[test]
fn ref_pattern_rejects_other_syntax() {
    for bad in [
        "heads/main",
        "main",
        "",
        "refs",
        "/refs/heads/main",
        "refs/heads/ma?n",
        "refs/heads/[ab]",
        "refs/heads/a]",
        "refs/heads/***",
        "refs/heads/a b",
        "refs/heads/a\tb",
    ] {
        assert!(RefPattern::new(bad).is_err(), "{bad:?} accepted");
    }
    let e = RefPattern::new("heads/main").unwrap_err();
    assert!(e.contains("refs/heads/main"), "{e}");
}

#[test]
fn pathological_patterns_finish_fast() {
    let start = Instant::now();
    let many = format!("refs/{}b", "*a".repeat(500));
    let p = pat(&many);
    let name = format!("refs/{}", "a".repeat(5000));
    assert!(!p.matches(&name));
    let doubles = format!("refs/{}b", "**a".repeat(500));
    let p2 = pat(&doubles);
    let slashed = format!("refs/{}", "a/".repeat(2500));
    assert!(!p2.matches(&slashed));
    assert!(pat(&format!("refs/{}", "**/".repeat(300))).matches(&slashed));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn single_governs_every_ref() {
    let policy = Policy {
        identity: Some(Matcher::Exact("a@b.c".to_owned())),
        issuer: None,
    };
    let f = PolicyFile::single(policy.clone());
    assert_eq!(f.rules.len(), 1);
    assert_eq!(f.rules[0].refs, vec![pat("refs/**")]);
    for r in ["refs/heads/main", "refs/tags/a/b", "refs/notes/commits"] {
        assert_eq!(f.rule_for(r).map(|r| &r.policy), Some(&policy));
    }
    assert!(!f.rules[0].allow_unsigned);
    assert!(!f.rules[0].allow_merged_history);
    assert!(!f.is_exempt_commit(SHA1));
}

#[test]
fn exempt_commits_are_found_in_lower_case() {
    let text = format!(
        "version = 1\nexempt-commits = [\"{}\", \"{SHA256}\", \"{SHA1}\"]\n[[rule]]\nrefs = [\"refs/**\"]\n",
        SHA1.to_ascii_uppercase()
    );
    let f = ok(&text);
    assert_eq!(f.exempt_commits, vec![SHA1.to_owned(), SHA256.to_owned()]);
    assert!(f.is_exempt_commit(SHA1));
    assert!(f.is_exempt_commit(&SHA1.to_ascii_uppercase()));
    assert!(f.is_exempt_commit(SHA256));
    assert!(!f.is_exempt_commit(&SHA1[..39]));
    assert!(!f.is_exempt_commit("1123456789abcdef0123456789abcdef01234567"));
}

#[test]
fn commit_ids_must_be_full_hex() {
    for good in [SHA1, SHA256] {
        ok(&format!(
            "version = 1\nexempt-history = [\"{good}\"]\n[[rule]]\nrefs = [\"refs/**\"]\n"
        ));
    }
    let bad = [
        SHA1[..39].to_owned(),
        format!("{SHA1}0"),
        "0123456".to_owned(),
        format!("{}g", &SHA1[..39]),
        SHA256[..63].to_owned(),
        String::new(),
    ];
    for key in ["exempt-commits", "exempt-history"] {
        for b in &bad {
            let text = format!(
                "version = 1\n{key} = [\n  \"{SHA1}\",\n  \"{b}\",\n]\n[[rule]]\nrefs = [\"refs/**\"]\n"
            );
            let e = err_at(&text, 4, "git rev-parse");
            assert_eq!(e.column, Some(3));
            assert!(e.message.contains(key), "{e}");
        }
    }
}

#[test]
fn version_is_required_and_must_be_1() {
    let e = err("[[rule]]\nrefs = [\"refs/**\"]\n");
    assert_eq!(e.line, None);
    assert!(e.message.contains("version = 1"), "{e}");
    assert!(e.to_string().starts_with("policy.toml: "), "{e}");
    err_at(
        "# v\nversion = 2\n[[rule]]\nrefs = [\"refs/**\"]\n",
        2,
        "version 2",
    );
    err_at(
        "\nversion = \"1\"\n[[rule]]\nrefs = [\"refs/**\"]\n",
        2,
        "invalid type",
    );
    err_at(
        "\n\nversion = 1.0\n[[rule]]\nrefs = [\"refs/**\"]\n",
        3,
        "invalid type",
    );
}

#[test]
fn unknown_keys_are_errors_naming_key_and_line() {
    err_at(
        "version = 1\npolicy = 3\n[[rule]]\nrefs = [\"refs/**\"]\n",
        2,
        "`policy`",
    );
    err_at(&rule_with("\n\nidentity = \"a@b.c\""), 6, "`identity`");
    err_at(
        "version = 1\n[[rules]]\nrefs = [\"refs/**\"]\n",
        2,
        "`rules`",
    );
    err_at(&rule_with("allow_unsigned = true"), 4, "`allow_unsigned`");
}

#[test]
fn wrong_types_are_errors_at_the_value() {
    err_at(&rule_with("allow-unsigned = \"yes\""), 4, "invalid type");
    err_at(
        "version = 1\n[[rule]]\nrefs = \"refs/**\"\n",
        3,
        "invalid type",
    );
    err_at(&rule_with("identities = [1]"), 4, "invalid type");
    err_at(
        "version = 1\nexempt-commits = \"x\"\n[[rule]]\nrefs = [\"refs/**\"]\n",
        2,
        "invalid type",
    );
}

#[test]
fn toml_syntax_errors_name_the_line() {
    err_at("version = 1\n\n[[rule]]\nrefs = [\"refs/**\"\n", 4, "");
    err_at(
        "version = 1\nversion = 1\n[[rule]]\nrefs = [\"refs/**\"]\n",
        2,
        "",
    );
    err_at(
        "version = 1\n[[rule]]\nrefs = [\"refs/**\"]\nallow-unsigned = tru\n",
        4,
        "",
    );
}

#[test]
fn rules_are_required_and_need_refs() {
    let e = err("version = 1\n");
    assert_eq!(e.line, None);
    assert!(e.message.contains("[[rule]]"), "{e}");
    err_at("version = 1\nrule = []\n", 2, "[[rule]]");
    err_at(
        "version = 1\n\n[[rule]]\nidentities = [\"a@b.c\"]\n",
        3,
        "no refs",
    );
    err_at("version = 1\n[[rule]]\n\nrefs = []\n", 4, "no refs");
    err_at(
        "version = 1\n[[rule]]\nrefs = [\"refs/**\"]\n[[rule]]\nallow-unsigned = true\n",
        4,
        "no refs",
    );
}

#[test]
fn bad_ref_patterns_are_errors_at_the_pattern() {
    let text = "version = 1\n[[rule]]\nrefs = [\n  \"refs/heads/main\",\n  \"main\",\n]\n";
    let e = err_at(text, 5, "full ref name such as refs/heads/main");
    assert_eq!(e.column, Some(3));
    err_at(
        "version = 1\n[[rule]]\nrefs = [\"refs/heads/v?\"]\n",
        3,
        "'?'",
    );
    err_at(
        "version = 1\n[[rule]]\nrefs = [\"refs/heads/[ab]\"]\n",
        3,
        "'['",
    );
    err_at("version = 1\n[[rule]]\nrefs = [\"refs/***\"]\n", 3, "**");
}

#[test]
fn empty_values_and_bad_regexps_are_errors_at_the_value() {
    err_at(&rule_with("identities = [\"a@b.c\", \"\"]"), 4, "empty");
    err_at(&rule_with("\nissuers = [\"\"]"), 5, "empty");
    err_at(&rule_with("identity-regexps = ['']"), 4, "empty");
    let e = err_at(
        &rule_with("identity-regexps = [\n  '.*',\n  '(unclosed',\n]"),
        6,
        "invalid",
    );
    assert!(e.message.contains("identity-regexps"), "{e}");
    err_at(
        &rule_with("issuer-regexps = ['[z-a]']"),
        4,
        "issuer-regexps",
    );
    let long = format!("identity-regexps = ['{}']", "a".repeat(5000));
    err_at(&rule_with(&long), 4, "longer than");
}

#[test]
fn size_and_encoding_limits() {
    let mut big = rule_with("");
    big.push_str(&"#".repeat(MAX_POLICY_BYTES));
    let e = err(&big);
    assert_eq!(e.line, None);
    assert!(e.message.contains("limit"), "{e}");

    let mut bytes = b"version = 1\n# caf".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    let e = match parse(&bytes, "p") {
        Ok(_) => panic!("non-UTF-8 accepted"),
        Err(e) => e,
    };
    assert_eq!((e.line, e.column), (Some(2), Some(6)));
    assert!(e.message.contains("UTF-8"), "{e}");
    assert!(e.to_string().starts_with("p:2:6: "), "{e}");
}

#[test]
fn count_limits() {
    let mut text = "version = 1\n".to_owned();
    for _ in 0..=MAX_RULES {
        text.push_str("[[rule]]\nrefs = [\"refs/**\"]\n");
    }
    let e = err_at(&text, 2 + 2 * MAX_RULES, "more than 1000 rules");
    assert!(e.to_string().contains("rules"));
    // Exactly the limit is fine.
    let at_limit: String = text
        .lines()
        .take(1 + 2 * MAX_RULES)
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(ok(&at_limit).rules.len(), MAX_RULES);

    let ids: Vec<String> = (0..=MAX_EXEMPT_IDS)
        .map(|i| format!("\"{i:040x}\",\n"))
        .collect();
    let text = format!(
        "version = 1\nexempt-history = [\n{}]\n[[rule]]\nrefs = [\"refs/**\"]\n",
        ids.concat()
    );
    err_at(&text, 3 + MAX_EXEMPT_IDS, "more than 10000");
    let text = format!(
        "version = 1\nexempt-history = [\n{}]\n[[rule]]\nrefs = [\"refs/**\"]\n",
        ids[..MAX_EXEMPT_IDS].concat()
    );
    assert_eq!(ok(&text).exempt_history.len(), MAX_EXEMPT_IDS);

    for key in [
        "refs",
        "identities",
        "identity-regexps",
        "issuers",
        "issuer-regexps",
    ] {
        let items: Vec<String> = (0..=MAX_PATTERNS)
            .map(|i| format!("\"refs/heads/b{i}\",\n"))
            .collect();
        let mut text = format!("version = 1\n[[rule]]\n{key} = [\n{}]\n", items.concat());
        if key != "refs" {
            text.push_str("refs = [\"refs/**\"]\n");
        }
        err_at(
            &text,
            4 + MAX_PATTERNS,
            &format!("{key} has more than 1000"),
        );
    }
}

#[test]
fn error_display_formats() {
    let with = PolicyFileError {
        source_name: "f".into(),
        line: Some(3),
        column: Some(7),
        message: "m".into(),
    };
    assert_eq!(with.to_string(), "f:3:7: m");
    let without = PolicyFileError {
        line: None,
        column: None,
        ..with
    };
    assert_eq!(without.to_string(), "f: m");
}

#[test]
fn columns_count_characters() {
    let e = err_at("version = 1\n# é\nx = [ \"é\", 1 ]\n", 3, "");
    // toml rejects the mixed array or the unknown key; either way the column is in characters.
    assert!(e.column.is_some_and(|c| c <= 15), "{e}");
}

#[test]
fn examples_in_docs_parse() {
    let doc = include_str!("../../docs/policy.md");
    let mut parsed = 0;
    for block in doc.split("```toml\n").skip(1) {
        let Some((body, _)) = block.split_once("```") else {
            panic!("unterminated toml block in docs/policy.md");
        };
        if !body.starts_with("version = 1") || body.contains('<') {
            continue;
        }
        let f = ok(body);
        assert!(f.rule_for("refs/heads/main").is_some(), "{body}");
        parsed += 1;
    }
    assert_eq!(parsed, 3);
}
