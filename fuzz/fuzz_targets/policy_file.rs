//! Arbitrary bytes as a policy file (`signet.policy`, `--policy FILE`): size limit, UTF-8, TOML,
//! unknown keys, ref patterns, commit ids, regexps. Parsing never panics; every error names a
//! position inside the input; whatever parses upholds the documented invariants, and every ref
//! pattern matches in bounded time against names built from the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::core::policy_file::{self, MAX_POLICY_BYTES};

fuzz_target!(|data: &[u8]| {
    let file = match policy_file::parse(data, "fuzz.toml") {
        Ok(f) => f,
        Err(e) => {
            assert!(e.to_string().starts_with("fuzz.toml"));
            assert_eq!(e.line.is_some(), e.column.is_some());
            if let Some(line) = e.line {
                let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
                assert!(line >= 1 && line <= lines, "line {line} of {lines}");
            }
            assert!(data.len() <= MAX_POLICY_BYTES || e.line.is_none());
            return;
        }
    };
    assert!(!file.rules.is_empty());
    for ids in [&file.exempt_commits, &file.exempt_history] {
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids not sorted and unique");
        for id in ids {
            assert!(matches!(id.len(), 40 | 64));
            assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
    }
    for id in &file.exempt_commits {
        assert!(file.is_exempt_commit(id));
    }
    let text = String::from_utf8_lossy(data);
    for rule in &file.rules {
        assert!(!rule.refs.is_empty());
        assert!(rule.line >= 1);
        for pattern in &rule.refs {
            assert!(pattern.as_str().starts_with("refs/"));
            assert_eq!(pattern.to_string(), pattern.as_str());
            // A pattern without wildcards matches itself; the first rule for it comes no later.
            if !pattern.as_str().contains('*') {
                assert!(pattern.matches(pattern.as_str()));
            }
            for line in text.lines().take(16) {
                let _ = pattern.matches(line);
                let _ = file.rule_for(line);
            }
        }
    }
});
