//! The policy file (`signet.policy`, `--policy FILE`): see docs/policy.md.
//!
//! TOML in, typed rules out: which identities and OIDC issuers may sign which refs, whether
//! unsigned commits or history merged in from outside are accepted, and which commits are trusted
//! as they are. Every error names the line and column of the offending value. Pure: the caller
//! reads the file and passes its bytes.

use serde::Deserialize;
use toml::Spanned;

use crate::core::policy::{Matcher, Policy, PolicyError};

/// Largest policy file accepted.
pub const MAX_POLICY_BYTES: usize = 1 << 20;
/// Most `[[rule]]` tables in one file.
pub const MAX_RULES: usize = 1000;
/// Most ids in `exempt-commits` and in `exempt-history` (each).
pub const MAX_EXEMPT_IDS: usize = 10_000;
/// Most entries in one list of a rule (`refs`, `identities`, ...).
pub const MAX_PATTERNS: usize = 1000;

/// A parsed, validated policy file.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    /// In file order; [`PolicyFile::rule_for`] takes the first that matches.
    pub rules: Vec<Rule>,
    /// Commits trusted as they are. Lowercase hex, sorted and deduplicated.
    pub exempt_commits: Vec<String>,
    /// Commits trusted as they are together with all their ancestors. Lowercase hex, sorted and
    /// deduplicated.
    pub exempt_history: Vec<String>,
}

/// One `[[rule]]`: the refs it governs and what it requires of them.
#[derive(Debug, Clone)]
pub struct Rule {
    pub refs: Vec<RefPattern>,
    pub policy: Policy,
    /// Unsigned commits and tags pass (signed ones must still meet `policy`).
    pub allow_unsigned: bool,
    /// Only the first-parent chain must meet the rule; commits a merge brings in through its
    /// second and later parents are not checked (the merge commit itself is).
    pub allow_merged_history: bool,
    /// 1-based line of this rule's `[[rule]]` header (or of its `refs` key), for messages.
    pub line: usize,
}

/// A full ref name pattern: `*` matches any run of characters except `/`, `**` any run
/// including `/`, everything else itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefPattern {
    source: String,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Byte(u8),
    /// `*`: any run of bytes other than `/`.
    Star,
    /// `**`: any run of bytes.
    DoubleStar,
}

impl RefPattern {
    /// Parse a pattern. It must start with `refs/`; `?`, `[` and `]` are refused (they are not
    /// glob syntax here), and so are three or more `*` in a row.
    pub fn new(pattern: &str) -> Result<Self, String> {
        if !pattern.starts_with("refs/") {
            return Err(format!(
                "ref pattern {pattern:?} does not start with \"refs/\"; use the full ref name \
                 such as refs/heads/main or refs/tags/*"
            ));
        }
        if let Some(c) = pattern.chars().find(|c| matches!(c, '?' | '[' | ']')) {
            return Err(format!(
                "ref pattern {pattern:?} contains {c:?}, which has no meaning in a ref pattern; \
                 only * (within one path component) and ** (across components) are wildcards"
            ));
        }
        if let Some(c) = pattern
            .chars()
            .find(|c| c.is_control() || c.is_whitespace())
        {
            return Err(format!(
                "ref pattern {pattern:?} contains {c:?}; ref names cannot contain whitespace or \
                 control characters"
            ));
        }
        let bytes = pattern.as_bytes();
        let mut tokens = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'*' {
                let run = bytes[i..].iter().take_while(|&&b| b == b'*').count();
                match run {
                    1 => tokens.push(Token::Star),
                    2 => tokens.push(Token::DoubleStar),
                    _ => {
                        return Err(format!(
                            "ref pattern {pattern:?} has {run} '*' in a row; write * for one path \
                             component or ** for any number of them"
                        ));
                    }
                }
                i += run;
            } else {
                tokens.push(Token::Byte(bytes[i]));
                i += 1;
            }
        }
        Ok(Self {
            source: pattern.to_owned(),
            tokens,
        })
    }

    /// Whether `refname` (a full ref name such as refs/heads/main) matches. Linear in the
    /// product of the two lengths whatever the pattern (a set of positions is simulated, no
    /// backtracking).
    pub fn matches(&self, refname: &str) -> bool {
        let tokens = &self.tokens;
        let n = tokens.len();
        // active[i]: the first i tokens can match the input consumed so far.
        let mut active = vec![false; n + 1];
        let mut next = vec![false; n + 1];
        active[0] = true;
        close(tokens, &mut active);
        for &c in refname.as_bytes() {
            next.iter_mut().for_each(|s| *s = false);
            let mut any = false;
            for (i, token) in tokens.iter().enumerate() {
                if !active[i] {
                    continue;
                }
                let target = match *token {
                    Token::Byte(b) if b == c => i + 1,
                    Token::Byte(_) => continue,
                    Token::Star if c == b'/' => continue,
                    Token::Star | Token::DoubleStar => i,
                };
                next[target] = true;
                any = true;
            }
            if !any {
                return false;
            }
            close(tokens, &mut next);
            std::mem::swap(&mut active, &mut next);
        }
        active[n]
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// A wildcard may match nothing: whoever reaches it also reaches the token after it.
fn close(tokens: &[Token], states: &mut [bool]) {
    for (i, token) in tokens.iter().enumerate() {
        if states[i] && matches!(token, Token::Star | Token::DoubleStar) {
            states[i + 1] = true;
        }
    }
}

impl std::fmt::Display for RefPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

/// An invalid policy file: where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}{}: {message}", location(*.line, *.column))]
pub struct PolicyFileError {
    pub source_name: String,
    /// 1-based.
    pub line: Option<usize>,
    /// 1-based, in characters.
    pub column: Option<usize>,
    pub message: String,
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFile {
    version: Option<Spanned<i64>>,
    exempt_commits: Option<Spanned<Vec<Spanned<String>>>>,
    exempt_history: Option<Spanned<Vec<Spanned<String>>>>,
    rule: Option<Spanned<Vec<Spanned<RawRule>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRule {
    refs: Option<Spanned<Vec<Spanned<String>>>>,
    identities: Option<Spanned<Vec<Spanned<String>>>>,
    identity_regexps: Option<Spanned<Vec<Spanned<String>>>>,
    issuers: Option<Spanned<Vec<Spanned<String>>>>,
    issuer_regexps: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    allow_unsigned: bool,
    #[serde(default)]
    allow_merged_history: bool,
}

type List = Spanned<Vec<Spanned<String>>>;

/// Builds errors with positions computed from byte offsets into the text.
struct Ctx<'a> {
    text: &'a str,
    source_name: &'a str,
}

impl Ctx<'_> {
    fn at(&self, offset: usize, message: String) -> PolicyFileError {
        let (line, column) = line_column(self.text, offset);
        PolicyFileError {
            source_name: self.source_name.to_owned(),
            line: Some(line),
            column: Some(column),
            message,
        }
    }

    fn nowhere(&self, message: String) -> PolicyFileError {
        error_without_position(self.source_name, message)
    }

    fn line(&self, offset: usize) -> usize {
        line_column(self.text, offset).0
    }
}

fn error_without_position(source_name: &str, message: String) -> PolicyFileError {
    PolicyFileError {
        source_name: source_name.to_owned(),
        line: None,
        column: None,
        message,
    }
}

/// 1-based line and column (in characters) of byte `offset`, clamped to the text.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Parse and validate a policy file. `source_name` (usually the path) prefixes every error.
pub fn parse(text: &[u8], source_name: &str) -> Result<PolicyFile, PolicyFileError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(error_without_position(
            source_name,
            format!(
                "the policy file is {} bytes, more than the limit of {MAX_POLICY_BYTES}; \
                 list fewer commits (exempt-history covers whole histories with one id)",
                text.len()
            ),
        ));
    }
    let text = match std::str::from_utf8(text) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.valid_up_to();
            // The valid prefix is UTF-8, so positions inside it can be computed.
            let prefix = std::str::from_utf8(&text[..valid]).unwrap_or_default();
            let (line, column) = line_column(prefix, valid);
            return Err(PolicyFileError {
                source_name: source_name.to_owned(),
                line: Some(line),
                column: Some(column),
                message: "the policy file is not valid UTF-8; save it as UTF-8 text".to_owned(),
            });
        }
    };
    let ctx = Ctx { text, source_name };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let message = e.message().trim_end().to_owned();
        match e.span() {
            Some(span) => ctx.at(span.start, message),
            None => ctx.nowhere(message),
        }
    })?;

    match &raw.version {
        None => {
            return Err(ctx.nowhere(
                "the policy file has no version; add `version = 1` at the top".to_owned(),
            ));
        }
        Some(v) if *v.get_ref() != 1 => {
            return Err(ctx.at(
                v.span().start,
                format!(
                    "unsupported policy file version {}; this signet reads version 1",
                    v.get_ref()
                ),
            ));
        }
        Some(_) => {}
    }

    let exempt_commits = commit_ids(&ctx, raw.exempt_commits.as_ref(), "exempt-commits")?;
    let exempt_history = commit_ids(&ctx, raw.exempt_history.as_ref(), "exempt-history")?;

    let raw_rules = match &raw.rule {
        Some(r) if !r.get_ref().is_empty() => r.get_ref(),
        Some(r) => {
            return Err(ctx.at(
                r.span().start,
                "`rule` is empty; add at least one [[rule]] with refs, for example \
                 refs = [\"refs/**\"]"
                    .to_owned(),
            ));
        }
        None => {
            return Err(ctx.nowhere(
                "the policy file has no rules; add at least one [[rule]] with refs, for \
                 example refs = [\"refs/**\"]"
                    .to_owned(),
            ));
        }
    };
    if let Some(extra) = raw_rules.get(MAX_RULES) {
        return Err(ctx.at(
            extra.span().start,
            format!("more than {MAX_RULES} rules; merge rules that require the same signers"),
        ));
    }
    let rules = raw_rules
        .iter()
        .map(|r| rule(&ctx, r))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(PolicyFile {
        rules,
        exempt_commits,
        exempt_history,
    })
}

/// The strings of a list, with an error at the first entry beyond [`MAX_PATTERNS`] (or `limit`).
fn entries<'a>(
    ctx: &Ctx<'_>,
    list: Option<&'a List>,
    key: &str,
    limit: usize,
) -> Result<&'a [Spanned<String>], PolicyFileError> {
    let Some(list) = list else { return Ok(&[]) };
    let items = list.get_ref().as_slice();
    if let Some(extra) = items.get(limit) {
        return Err(ctx.at(
            extra.span().start,
            format!("{key} has more than {limit} entries"),
        ));
    }
    Ok(items)
}

fn commit_ids(
    ctx: &Ctx<'_>,
    list: Option<&List>,
    key: &str,
) -> Result<Vec<String>, PolicyFileError> {
    let items = entries(ctx, list, key, MAX_EXEMPT_IDS)?;
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let id = item.get_ref();
        let full = matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit());
        if !full {
            return Err(ctx.at(
                item.span().start,
                format!(
                    "{key}: {id:?} is not a full commit id (40 or 64 hexadecimal digits); use the \
                     full id from `git rev-parse <commit>`"
                ),
            ));
        }
        ids.push(id.to_ascii_lowercase());
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn rule(ctx: &Ctx<'_>, raw: &Spanned<RawRule>) -> Result<Rule, PolicyFileError> {
    let header = raw.span().start;
    let r = raw.get_ref();
    let refs = entries(ctx, r.refs.as_ref(), "refs", MAX_PATTERNS)?;
    if refs.is_empty() {
        let at = r.refs.as_ref().map_or(header, |l| l.span().start);
        return Err(ctx.at(
            at,
            "this rule has no refs; list the full ref names it governs, for example \
             refs = [\"refs/heads/main\"] (or [\"refs/**\"] for every ref)"
                .to_owned(),
        ));
    }
    let refs = refs
        .iter()
        .map(|p| RefPattern::new(p.get_ref()).map_err(|m| ctx.at(p.span().start, m)))
        .collect::<Result<Vec<_>, _>>()?;

    let identity = matcher(
        ctx,
        (r.identities.as_ref(), "identities"),
        (r.identity_regexps.as_ref(), "identity-regexps"),
        "certificate identity",
    )?;
    let issuer = matcher(
        ctx,
        (r.issuers.as_ref(), "issuers"),
        (r.issuer_regexps.as_ref(), "issuer-regexps"),
        "OIDC issuer",
    )?;
    // The header's span is the table's; fall back to the refs key's line when it is unknown.
    let line = if raw.span().is_empty() {
        r.refs.as_ref().map_or(1, |l| ctx.line(l.span().start))
    } else {
        ctx.line(header)
    };
    Ok(Rule {
        refs,
        policy: Policy { identity, issuer },
        allow_unsigned: r.allow_unsigned,
        allow_merged_history: r.allow_merged_history,
        line,
    })
}

/// The exact values and regexps of one kind, as one matcher; `None` when both are absent or
/// empty.
fn matcher(
    ctx: &Ctx<'_>,
    (exact, exact_key): (Option<&List>, &'static str),
    (regexps, regexp_key): (Option<&List>, &'static str),
    what: &'static str,
) -> Result<Option<Matcher>, PolicyFileError> {
    let exact = entries(ctx, exact, exact_key, MAX_PATTERNS)?;
    let regexps = entries(ctx, regexps, regexp_key, MAX_PATTERNS)?;
    let mut all = Vec::with_capacity(exact.len() + regexps.len());
    for v in exact {
        let m = Matcher::exact(v.get_ref(), what)
            .map_err(|e| ctx.at(v.span().start, explain(exact_key, v.get_ref(), &e)))?;
        all.push(m);
    }
    for v in regexps {
        let m = Matcher::regex(v.get_ref(), what)
            .map_err(|e| ctx.at(v.span().start, explain(regexp_key, v.get_ref(), &e)))?;
        all.push(m);
    }
    if all.is_empty() {
        return Ok(None);
    }
    Matcher::any_of(all, what)
        .map(Some)
        .map_err(|e| ctx.nowhere(e.to_string()))
}

fn explain(key: &str, value: &str, error: &PolicyError) -> String {
    match error {
        PolicyError::Empty { .. } => {
            format!("{key}: an empty string matches nothing; remove it or write the value")
        }
        PolicyError::RegexTooLong => {
            format!("{key}: {error}; split it into several shorter regexps (any of them may match)")
        }
        PolicyError::BadRegex { reason, .. } => format!(
            "{key}: regular expression {value:?} is invalid: {reason}; it must match the whole \
             value, e.g. '.*@example\\.com'"
        ),
    }
}

impl PolicyFile {
    /// The first rule whose refs match `refname` (a full ref name such as refs/heads/main).
    pub fn rule_for(&self, refname: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.refs.iter().any(|p| p.matches(refname)))
    }

    /// One rule for every ref (pattern `refs/**`; names outside `refs/` such as `HEAD` are
    /// resolved to a ref by the caller), built from flag/config policy: what signet uses when
    /// no policy file is given. Nothing is exempt, unsigned commits fail, merged history is
    /// checked.
    pub fn single(policy: Policy) -> PolicyFile {
        let all = RefPattern {
            source: "refs/**".to_owned(),
            tokens: b"refs/"
                .iter()
                .map(|&b| Token::Byte(b))
                .chain([Token::DoubleStar])
                .collect(),
        };
        PolicyFile {
            rules: vec![Rule {
                refs: vec![all],
                policy,
                allow_unsigned: false,
                allow_merged_history: false,
                line: 0,
            }],
            exempt_commits: Vec::new(),
            exempt_history: Vec::new(),
        }
    }

    /// True when `id` (lowercase hex) is listed in exempt-commits.
    pub fn is_exempt_commit(&self, id: &str) -> bool {
        if id.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.is_exempt_commit(&id.to_ascii_lowercase());
        }
        // `parse` keeps the list sorted; a hand-built unsorted list can only make this miss
        // (fail closed), never find an id that is not there.
        self.exempt_commits
            .binary_search_by(|c| c.as_str().cmp(id))
            .is_ok()
    }
}

#[cfg(test)]
#[path = "policy_file_tests.rs"]
mod tests;
