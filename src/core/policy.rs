//! Identity policy: who may have signed. A policy constrains the certificate identity (the SAN:
//! an email or URI) and the OIDC issuer, each exactly or by a regular expression that must match
//! the whole value. Without an explicit identity rule the default is git's own notion of the
//! signer: the certificate email must equal the committer's (tagger's) email in the payload.
//!
//! The outcome is a trust level in gpg's terms: `Fully` when every rule holds; `Undefined` when
//! only the default committer-email rule fails (git shows `%G?` = `U`); `Never` when an explicit
//! rule is violated.

use regex_lite::Regex;

/// Largest regular expression accepted (they come from flags and git config).
pub const MAX_PATTERN_BYTES: usize = 4096;

/// One value constraint.
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    /// Compiled anchored (`^(?:…)$`); `source` is what the user wrote.
    Regex {
        source: String,
        regex: Regex,
    },
    /// Any of these (a policy file's list of identities or issuers); never empty.
    AnyOf(Vec<Matcher>),
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Exact(a), Self::Exact(b)) => a == b,
            (Self::Regex { source: a, .. }, Self::Regex { source: b, .. }) => a == b,
            (Self::AnyOf(a), Self::AnyOf(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Matcher {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("regular expression {pattern:?} is invalid: {reason}")]
    BadRegex { pattern: String, reason: String },
    #[error("regular expression is longer than {MAX_PATTERN_BYTES} bytes")]
    RegexTooLong,
    #[error("{what} is empty")]
    Empty { what: &'static str },
}

impl Matcher {
    pub fn exact(value: &str, what: &'static str) -> Result<Self, PolicyError> {
        if value.is_empty() {
            return Err(PolicyError::Empty { what });
        }
        Ok(Self::Exact(value.to_owned()))
    }

    /// A regular expression that must match the whole value (cosign matches anywhere; signet
    /// anchors so that `example\.com` cannot be satisfied by `evil.com/?example.com`).
    pub fn regex(pattern: &str, what: &'static str) -> Result<Self, PolicyError> {
        if pattern.is_empty() {
            return Err(PolicyError::Empty { what });
        }
        if pattern.len() > MAX_PATTERN_BYTES {
            return Err(PolicyError::RegexTooLong);
        }
        let regex = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| PolicyError::BadRegex {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self::Regex {
            source: pattern.to_owned(),
            regex,
        })
    }

    /// Any of `matchers`; one alone is returned as it is. Empty is an error.
    pub fn any_of(mut matchers: Vec<Matcher>, what: &'static str) -> Result<Self, PolicyError> {
        match matchers.len() {
            0 => Err(PolicyError::Empty { what }),
            1 => Ok(matchers.remove(0)),
            _ => Ok(Self::AnyOf(matchers)),
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(v) => v == value,
            Self::Regex { regex, .. } => regex.is_match(value),
            Self::AnyOf(all) => all.iter().any(|m| m.matches(value)),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(v) => write!(f, "{v:?}"),
            Self::Regex { source, .. } => write!(f, "/{source}/"),
            Self::AnyOf(all) => {
                f.write_str("one of ")?;
                for (i, m) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{m}")?;
                }
                Ok(())
            }
        }
    }
}

/// Who may have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `None`: the default rule, certificate email = committer/tagger email.
    pub identity: Option<Matcher>,
    /// `None`: any issuer the trusted root's CAs certify.
    pub issuer: Option<Matcher>,
}

/// gpg trust levels, as git reads them from `TRUST_*` status lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    Fully,
    Undefined,
    Never,
}

impl Trust {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fully => "FULLY",
            Self::Undefined => "UNDEFINED",
            Self::Never => "NEVER",
        }
    }
}

/// A rule that did not hold, with the facts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("certificate identity {presented:?} does not match {expected}")]
    Identity { expected: String, presented: String },
    #[error("certificate identity {presented:?} is not the {role} email {email:?}")]
    SignerEmail {
        role: &'static str,
        email: String,
        presented: String,
    },
    #[error("the {role} email cannot be read from the object: {problem}")]
    NoSignerEmail { role: &'static str, problem: String },
    #[error("certificate OIDC issuer {} does not match {expected}", quoted(presented.as_deref()))]
    Issuer {
        expected: String,
        presented: Option<String>,
    },
}

fn quoted(value: Option<&str>) -> String {
    value.map_or_else(
        || "(none in the certificate)".to_owned(),
        |v| format!("{v:?}"),
    )
}

/// The policy's verdict on a verified signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub trust: Trust,
    /// What was required, for messages ("identity equals the committer email ...").
    pub rules: Vec<String>,
    pub violations: Vec<Violation>,
}

/// The signer's email from the payload: `Ok(email)` or the reason it cannot be read, plus the
/// role name ("committer" or "tagger").
pub type SignerEmail = (Result<String, String>, &'static str);

/// Judge `identity`/`issuer` against `policy`. `signer_email` is consulted only by the default
/// identity rule.
pub fn evaluate(
    policy: &Policy,
    identity: &str,
    issuer: Option<&str>,
    signer_email: &SignerEmail,
) -> Verdict {
    let mut rules = Vec::new();
    let mut violations = Vec::new();
    let mut never = false;
    match &policy.identity {
        Some(m) => {
            rules.push(format!("certificate identity matches {m}"));
            if !m.matches(identity) {
                never = true;
                violations.push(Violation::Identity {
                    expected: m.to_string(),
                    presented: identity.to_owned(),
                });
            }
        }
        None => {
            let (email, role) = signer_email;
            rules.push(format!("certificate email equals the {role} email"));
            match email {
                Ok(email) if email == identity => {}
                Ok(email) => violations.push(Violation::SignerEmail {
                    role,
                    email: email.clone(),
                    presented: identity.to_owned(),
                }),
                Err(problem) => violations.push(Violation::NoSignerEmail {
                    role,
                    problem: problem.clone(),
                }),
            }
        }
    }
    if let Some(m) = &policy.issuer {
        rules.push(format!("OIDC issuer matches {m}"));
        if !issuer.is_some_and(|i| m.matches(i)) {
            never = true;
            violations.push(Violation::Issuer {
                expected: m.to_string(),
                presented: issuer.map(str::to_owned),
            });
        }
    }
    let trust = if never {
        Trust::Never
    } else if violations.is_empty() {
        Trust::Fully
    } else {
        Trust::Undefined
    };
    Verdict {
        trust,
        rules,
        violations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://accounts.google.com";

    fn email(e: &str) -> SignerEmail {
        (Ok(e.to_owned()), "committer")
    }

    #[test]
    fn default_rule_is_the_committer_email() {
        let p = Policy {
            identity: None,
            issuer: None,
        };
        let v = evaluate(&p, "a@x.dev", Some(ISS), &email("a@x.dev"));
        assert_eq!((v.trust, v.violations.len()), (Trust::Fully, 0));
        let v = evaluate(&p, "a@x.dev", Some(ISS), &email("b@x.dev"));
        assert_eq!(v.trust, Trust::Undefined);
        assert!(matches!(v.violations[0], Violation::SignerEmail { .. }));
        let v = evaluate(
            &p,
            "a@x.dev",
            Some(ISS),
            &(Err("no committer line".into()), "committer"),
        );
        assert_eq!(v.trust, Trust::Undefined);
    }

    #[test]
    fn explicit_rules_are_never_on_violation() {
        let p = Policy {
            identity: Some(Matcher::exact("a@x.dev", "identity").unwrap()),
            issuer: Some(Matcher::exact(ISS, "issuer").unwrap()),
        };
        // The committer email does not matter once an identity is given.
        let v = evaluate(&p, "a@x.dev", Some(ISS), &email("other@x.dev"));
        assert_eq!(v.trust, Trust::Fully);
        assert_eq!(
            evaluate(&p, "b@x.dev", Some(ISS), &email("b@x.dev")).trust,
            Trust::Never
        );
        let v = evaluate(&p, "a@x.dev", Some("https://evil"), &email("a@x.dev"));
        assert_eq!(v.trust, Trust::Never);
        assert!(matches!(v.violations[0], Violation::Issuer { .. }));
        assert_eq!(
            v.violations[0].to_string(),
            "certificate OIDC issuer \"https://evil\" does not match \"https://accounts.google.com\""
        );
        assert_eq!(
            evaluate(&p, "a@x.dev", None, &email("a@x.dev")).trust,
            Trust::Never
        );
        // An issuer rule with the default identity rule: issuer violations are Never.
        let p = Policy {
            identity: None,
            issuer: Some(Matcher::exact(ISS, "issuer").unwrap()),
        };
        assert_eq!(
            evaluate(&p, "a@x.dev", Some("https://other"), &email("a@x.dev")).trust,
            Trust::Never
        );
    }

    #[test]
    fn regexes_are_anchored() {
        let m = Matcher::regex(r".*@example\.com", "identity").unwrap();
        assert!(m.matches("alice@example.com"));
        assert!(!m.matches("alice@example.com.evil.dev"));
        let m = Matcher::regex(r"example\.com", "identity").unwrap();
        assert!(!m.matches("https://evil.dev/?example.com"));
        let m = Matcher::regex("a|b", "identity").unwrap();
        assert!(m.matches("a") && m.matches("b") && !m.matches("ab"));
        assert!(matches!(
            Matcher::regex("(", "identity"),
            Err(PolicyError::BadRegex { .. })
        ));
        assert_eq!(
            Matcher::regex("", "identity").unwrap_err(),
            PolicyError::Empty { what: "identity" }
        );
        assert_eq!(
            Matcher::regex(&"a".repeat(MAX_PATTERN_BYTES + 1), "identity").unwrap_err(),
            PolicyError::RegexTooLong
        );
        assert_eq!(m.to_string(), "/a|b/");
    }

    #[test]
    fn any_of_matches_each_and_names_all() {
        let m = Matcher::any_of(
            vec![
                Matcher::exact("a@x.dev", "identity").unwrap(),
                Matcher::regex(r".*@y\.dev", "identity").unwrap(),
            ],
            "identity",
        )
        .unwrap();
        assert!(m.matches("a@x.dev") && m.matches("b@y.dev"));
        assert!(!m.matches("b@x.dev") && !m.matches("b@y.dev.evil"));
        assert_eq!(m.to_string(), r#"one of "a@x.dev", /.*@y\.dev/"#);
        assert_eq!(
            Matcher::any_of(vec![], "issuer").unwrap_err(),
            PolicyError::Empty { what: "issuer" }
        );
        let one = Matcher::any_of(vec![Matcher::exact("a", "identity").unwrap()], "identity");
        assert_eq!(one.unwrap(), Matcher::Exact("a".into()));
    }
}
