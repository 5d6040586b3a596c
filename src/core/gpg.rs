//! git's gpg program interface, pure: the argv git passes (`--status-fd=2 -bsau KEY` for
//! signing, `--status-fd=1 --verify SIG -` for verifying, and the flag spellings gpgsm and
//! gitsign accept) parsed into a typed request, and the `[GNUPG:]` status lines signet writes.

/// What git asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpgRequest {
    Sign(SignRequest),
    Verify(VerifyRequest),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignRequest {
    /// Where status lines go: `None` discards them (gpg's default).
    pub status_fd: Option<u32>,
    /// `-b`: a detached signature (the only kind signet makes).
    pub detached: bool,
    /// `-a`: PEM armor; otherwise raw DER.
    pub armor: bool,
    /// `-u KEY`: accepted and ignored; the identity comes from the OIDC token.
    pub local_user: Option<String>,
    /// A file to sign instead of stdin.
    pub file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRequest {
    pub status_fd: Option<u32>,
    pub signature_file: String,
    /// `-` means stdin.
    pub data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpgArgError {
    #[error("unknown option {0:?}")]
    Unknown(String),
    #[error("option {0} needs a value")]
    MissingValue(String),
    #[error("--status-fd value {0:?} is not a file descriptor number")]
    BadFd(String),
    #[error("--include-certs value {0:?} is not a number")]
    BadIncludeCerts(String),
    #[error("nothing to do: pass --sign (-s) or --verify")]
    NoMode,
    #[error("--sign and --verify cannot be combined")]
    BothModes,
    #[error("--verify needs the signature file (and - for the data on stdin)")]
    VerifyArgs,
    #[error("unexpected arguments {0:?}")]
    ExtraArgs(Vec<String>),
}

/// Short flags that may be clustered (`-bsau KEY`); `u` takes a value.
const SHORT: &[u8] = b"bsau";
const LONG: &[&str] = &[
    "--status-fd",
    "--sign",
    "--detach-sign",
    "--detached-sign",
    "--armor",
    "--local-user",
    "--verify",
    "--keyid-format",
    "--include-certs",
];

/// Whether argv (without the program name) is a gpg-style invocation rather than a signet
/// subcommand: some argument is a gpg flag.
pub fn looks_like_gpg<S: AsRef<str>>(args: &[S]) -> bool {
    args.iter().map(AsRef::as_ref).any(|a| {
        if let Some(long) = a.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or_default();
            LONG.contains(&format!("--{name}").as_str())
        } else if let Some(short) = a.strip_prefix('-') {
            !short.is_empty() && short.bytes().all(|b| SHORT.contains(&b))
        } else {
            false
        }
    })
}

fn parse_fd(v: &str) -> Result<Option<u32>, GpgArgError> {
    // gpg and gitsign treat a negative fd as "no status output".
    if let Ok(n) = v.parse::<i64>()
        && n < 0
    {
        return Ok(None);
    }
    v.parse::<u32>()
        .map(Some)
        .map_err(|_| GpgArgError::BadFd(v.into()))
}

/// Parse the arguments git passes (program name excluded).
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<GpgRequest, GpgArgError> {
    let mut req = SignRequest::default();
    let (mut sign, mut verify) = (false, false);
    let mut positional: Vec<String> = Vec::new();
    let mut it = args.iter().map(AsRef::as_ref);
    let mut only_positional = false;
    while let Some(arg) = it.next() {
        if only_positional || arg == "-" || !arg.starts_with('-') {
            positional.push(arg.to_owned());
            continue;
        }
        if arg == "--" {
            only_positional = true;
            continue;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let mut value = |flag: &str| -> Result<String, GpgArgError> {
                match &inline {
                    Some(v) => Ok(v.clone()),
                    None => it
                        .next()
                        .map(str::to_owned)
                        .ok_or_else(|| GpgArgError::MissingValue(flag.into())),
                }
            };
            match name {
                "status-fd" => req.status_fd = parse_fd(&value("--status-fd")?)?,
                "sign" => sign = true,
                "detach-sign" | "detached-sign" => {
                    req.detached = true;
                    sign = true;
                }
                "armor" => req.armor = true,
                "local-user" => req.local_user = Some(value("--local-user")?),
                "verify" => verify = true,
                // gpg options git or users may pass that change nothing for signet.
                "keyid-format" => {
                    value("--keyid-format")?;
                }
                "include-certs" => {
                    let v = value("--include-certs")?;
                    v.parse::<i32>()
                        .map_err(|_| GpgArgError::BadIncludeCerts(v.clone()))?;
                }
                _ => return Err(GpgArgError::Unknown(arg.into())),
            }
            if inline.is_some()
                && matches!(
                    name,
                    "sign" | "detach-sign" | "detached-sign" | "armor" | "verify"
                )
            {
                return Err(GpgArgError::Unknown(arg.into()));
            }
            continue;
        }
        // A cluster of short flags; `u` takes the rest of the cluster or the next argument.
        let cluster = &arg[1..];
        for (i, c) in cluster.char_indices() {
            match c {
                'b' => req.detached = true,
                's' => sign = true,
                'a' => req.armor = true,
                'u' => {
                    let rest = &cluster[i + 1..];
                    let key = if rest.is_empty() {
                        it.next()
                            .map(str::to_owned)
                            .ok_or_else(|| GpgArgError::MissingValue("-u".into()))?
                    } else {
                        rest.to_owned()
                    };
                    req.local_user = Some(key);
                    break;
                }
                _ => return Err(GpgArgError::Unknown(format!("-{c}"))),
            }
        }
    }
    match (sign, verify) {
        (true, true) => Err(GpgArgError::BothModes),
        (false, false) => Err(GpgArgError::NoMode),
        (true, false) => {
            match positional.len() {
                0 => {}
                1 if positional[0] != "-" => req.file = Some(positional.remove(0)),
                1 => {}
                _ => return Err(GpgArgError::ExtraArgs(positional)),
            }
            Ok(GpgRequest::Sign(req))
        }
        (false, true) => {
            let mut p = positional.into_iter();
            let signature_file = p.next().ok_or(GpgArgError::VerifyArgs)?;
            let data = p.next().filter(|d| d != "-");
            let extra: Vec<String> = p.collect();
            if !extra.is_empty() {
                return Err(GpgArgError::ExtraArgs(extra));
            }
            Ok(GpgRequest::Verify(VerifyRequest {
                status_fd: req.status_fd,
                signature_file,
                data,
            }))
        }
    }
}

/// `[GNUPG:] BEGIN_SIGNING`: written first so `SIG_CREATED` follows a newline (git < 2.36).
pub fn begin_signing() -> String {
    "[GNUPG:] BEGIN_SIGNING\n".into()
}

/// OpenPGP hash algorithm id for a certificate signature algorithm OID, as gitsign (and
/// smimesign) derive it from the leaf's `signatureAlgorithm`: SHA-256 → 8, SHA-384 → 9,
/// SHA-512 → 10, SHA-1 → 2; anything else 0.
pub fn openpgp_hash_algo(cert_signature_oid: &str) -> u8 {
    match cert_signature_oid {
        "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => 8,
        "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" => 9,
        "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" => 10,
        "1.2.840.10045.4.1" | "1.2.840.113549.1.1.5" => 2,
        _ => 0,
    }
}

/// `[GNUPG:] SIG_CREATED <D|S> 19 <hash> 00 <unix time> <sha1 of the leaf DER, lowercase hex>`,
/// gitsign's form (pk algo 19 = ECDSA).
pub fn sig_created(detached: bool, hash_algo: u8, unix: i64, fingerprint_hex: &str) -> String {
    let kind = if detached { 'D' } else { 'S' };
    format!("[GNUPG:] SIG_CREATED {kind} 19 {hash_algo} 00 {unix} {fingerprint_hex}\n")
}

/// `[GNUPG:] NEWSIG`: first on verification, so the verdict line follows a newline (git only
/// accepts `GOODSIG` after `\n`).
pub fn newsig() -> String {
    "[GNUPG:] NEWSIG\n".into()
}

/// A user id or reason for a status line: `%`, control characters and non-ASCII bytes are
/// `%XX`-escaped as gpgsm does, so nothing from a certificate can end the line or forge another.
pub fn escape_field(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b == b'%' || b.is_ascii_control() || !b.is_ascii() {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// `[GNUPG:] GOODSIG <fingerprint> <identity>`: the signature, its log evidence and its chain
/// verified (git `%G?` = `G`, or `U` unless the trust line says FULLY or better).
pub fn goodsig(fingerprint: &str, identity: &str) -> String {
    format!(
        "[GNUPG:] GOODSIG {fingerprint} {}\n",
        escape_field(identity)
    )
}

/// `[GNUPG:] BADSIG <fingerprint> <identity>`: the signature does not match the content or key
/// (`%G?` = `B`).
pub fn badsig(fingerprint: &str, identity: &str) -> String {
    format!("[GNUPG:] BADSIG {fingerprint} {}\n", escape_field(identity))
}

/// gpg's ERRSIG return codes: 4 unsupported algorithm, 9 no certificate, 1 anything else.
pub const ERRSIG_GENERAL: u32 = 1;
pub const ERRSIG_UNSUPPORTED_ALGORITHM: u32 = 4;
pub const ERRSIG_NO_CERTIFICATE: u32 = 9;

/// `[GNUPG:] ERRSIG <keyid> 19 8 00 <time> <rc> <fingerprint>`: the signature cannot be checked
/// (`%G?` = `E`). Unknown key ids and fingerprints are written as gpg does (zeros, `-`).
pub fn errsig(fingerprint: Option<&str>, time: Option<i64>, rc: u32) -> String {
    format!(
        "[GNUPG:] ERRSIG {} 19 8 00 {} {rc} {}\n",
        fingerprint.unwrap_or("0000000000000000"),
        time.unwrap_or(0),
        fingerprint.unwrap_or("-"),
    )
}

/// `[GNUPG:] VALIDSIG <fpr> <YYYY-MM-DD> <time> <cert expiry> 0 0 19 8 00 <fpr>`, with the
/// log's integrated time (the verified signing time). The tenth field, the "primary key"
/// fingerprint, repeats the certificate fingerprint so `%GP` is not empty.
pub fn validsig(fingerprint: &str, at: i64, expires: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(at)
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_else(|_| "1970-01-01".into());
    format!("[GNUPG:] VALIDSIG {fingerprint} {date} {at} {expires} 0 0 19 8 00 {fingerprint}\n")
}

/// `[GNUPG:] TRUST_<level> 0 shell`, as gpgsm writes it.
pub fn trust(level: super::policy::Trust) -> String {
    format!("[GNUPG:] TRUST_{} 0 shell\n", level.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(
        status_fd: Option<u32>,
        detached: bool,
        armor: bool,
        user: Option<&str>,
    ) -> Result<GpgRequest, GpgArgError> {
        Ok(GpgRequest::Sign(SignRequest {
            status_fd,
            detached,
            armor,
            local_user: user.map(Into::into),
            file: None,
        }))
    }

    #[test]
    fn argv_table() {
        let k = Some("Alice <alice@example.com>");
        let cases: Vec<(&[&str], Result<GpgRequest, GpgArgError>)> = vec![
            (
                &["--status-fd=2", "-bsau", "Alice <alice@example.com>"],
                sign(Some(2), true, true, k),
            ),
            (
                &[
                    "--status-fd",
                    "2",
                    "-b",
                    "-s",
                    "-a",
                    "-u",
                    "Alice <alice@example.com>",
                ],
                sign(Some(2), true, true, k),
            ),
            (&["-bsauKEY"], sign(None, true, true, Some("KEY"))),
            (
                &["--detach-sign", "--armor", "--local-user=KEY"],
                sign(None, true, true, Some("KEY")),
            ),
            (
                &["--sign", "--local-user", "KEY", "--status-fd=-1"],
                sign(None, false, false, Some("KEY")),
            ),
            (
                &["--keyid-format=long", "--include-certs=-2", "-bsa"],
                sign(None, true, true, None),
            ),
            (
                &["--keyid-format", "long", "--include-certs", "1", "-bs"],
                sign(None, true, false, None),
            ),
            (&["-bsau", "''"], sign(None, true, true, Some("''"))),
            (
                &["--status-fd=1", "--verify", "/tmp/.git_vtag_tmpX", "-"],
                Ok(GpgRequest::Verify(VerifyRequest {
                    status_fd: Some(1),
                    signature_file: "/tmp/.git_vtag_tmpX".into(),
                    data: None,
                })),
            ),
            (
                &["--verify", "sig", "data"],
                Ok(GpgRequest::Verify(VerifyRequest {
                    status_fd: None,
                    signature_file: "sig".into(),
                    data: Some("data".into()),
                })),
            ),
            (
                &["--status-fd=2", "-bsau"],
                Err(GpgArgError::MissingValue("-u".into())),
            ),
            (
                &["--status-fd"],
                Err(GpgArgError::MissingValue("--status-fd".into())),
            ),
            (
                &["--status-fd=x", "-bs"],
                Err(GpgArgError::BadFd("x".into())),
            ),
            (
                &["--include-certs=all", "-bs"],
                Err(GpgArgError::BadIncludeCerts("all".into())),
            ),
            (&["-bsx"], Err(GpgArgError::Unknown("-x".into()))),
            (
                &["--list-keys"],
                Err(GpgArgError::Unknown("--list-keys".into())),
            ),
            (
                &["--armor=yes", "-bs"],
                Err(GpgArgError::Unknown("--armor=yes".into())),
            ),
            (&["-ba"], Err(GpgArgError::NoMode)),
            (&["-bs", "--verify", "x"], Err(GpgArgError::BothModes)),
            (&["--verify"], Err(GpgArgError::VerifyArgs)),
            (
                &["--verify", "a", "b", "c"],
                Err(GpgArgError::ExtraArgs(vec!["c".into()])),
            ),
            (
                &["-bs", "a", "b"],
                Err(GpgArgError::ExtraArgs(vec!["a".into(), "b".into()])),
            ),
        ];
        for (argv, want) in cases {
            assert_eq!(parse_args(argv), want, "{argv:?}");
        }
        let Ok(GpgRequest::Sign(r)) = parse_args(&["-bs", "msg.txt"]) else {
            panic!("file argument")
        };
        assert_eq!(r.file.as_deref(), Some("msg.txt"));
    }

    #[test]
    fn gpg_detection() {
        let yes: &[&[&str]] = &[
            &["--status-fd=2", "-bsau", "k"],
            &["-bsau", "k"],
            &["--verify", "x", "-"],
            &["--keyid-format=long"],
            &["-s"],
        ];
        let no: &[&[&str]] = &[
            &[],
            &["sign-bundle", "--bundle", "b", "f"],
            &["--help"],
            &["-h"],
            &["-V"],
            &["--version"],
            &["verify-bundle", "-"],
        ];
        for a in yes {
            assert!(looks_like_gpg(a), "{a:?}");
        }
        for a in no {
            assert!(!looks_like_gpg(a), "{a:?}");
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(begin_signing(), "[GNUPG:] BEGIN_SIGNING\n");
        assert_eq!(
            sig_created(true, 8, 1_754_400_000, "3f1c"),
            "[GNUPG:] SIG_CREATED D 19 8 00 1754400000 3f1c\n"
        );
        assert_eq!(
            sig_created(false, 9, 1, "ab"),
            "[GNUPG:] SIG_CREATED S 19 9 00 1 ab\n"
        );
        assert_eq!(openpgp_hash_algo("1.2.840.10045.4.3.3"), 9);
        assert_eq!(openpgp_hash_algo("1.2.840.10045.4.3.2"), 8);
        assert_eq!(openpgp_hash_algo("1.3.101.112"), 0);
    }
}
