//! The one module that writes to stdout and stderr. stdout is reserved for machine output (git
//! reads it in gpg mode); everything human goes to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)] // this module owns the streams

use std::fmt::Display;

/// One line for a terminal: every control character (newline, carriage return, escape, C1
/// controls, ...) is shown escaped. Messages quote certificates and log entries an attacker
/// may have made; escaping here means no such value can end a line, overwrite one, or send
/// terminal escape sequences through `git log --show-signature`.
pub fn one_line(message: impl Display) -> String {
    let text = message.to_string();
    if !text.chars().any(needs_escape) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Control characters, and the invisible bidirectional-text controls that can make a commit
/// subject or identity display as something else (Trojan Source): embeddings, overrides,
/// isolates and the directional marks.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A progress or result line for humans.
pub fn info(message: impl Display) {
    let message = one_line(message);
    eprintln!("signet: {message}");
    log_line(format_args!("signet: {message}"));
}

/// An error with a hint saying what to do.
pub fn error(message: impl Display, hint: Option<&str>) {
    let message = one_line(message);
    eprintln!("signet: error: {message}");
    log_line(format_args!("signet: error: {message}"));
    if let Some(hint) = hint {
        let hint = one_line(hint);
        eprintln!("hint: {hint}");
        log_line(format_args!("hint: {hint}"));
    }
}

/// A hint on its own (after results that already said what failed).
pub fn hint(message: impl Display) {
    let message = one_line(message);
    eprintln!("hint: {message}");
    log_line(format_args!("hint: {message}"));
}

/// Let clap print its own help, version or usage error to the stream it chooses.
pub fn clap_message(err: &clap::Error) {
    let _ = err.print();
}

/// gpg mode: the signature for git. The only bytes signet writes to stdout when signing.
pub fn signature(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// A document for machine consumers on stdout, as it is (`signet bundle` without `-o`).
pub fn bytes(bytes: &[u8]) -> std::io::Result<()> {
    signature(bytes)
}

/// gpg mode: where `[GNUPG:]` status lines go (`--status-fd`).
pub enum StatusSink {
    /// No `--status-fd` (or a negative one): status lines are dropped, as gpg does.
    Discard,
    Stdout,
    Stderr,
    /// Any other descriptor git (or a user) opened for us.
    Fd(std::fs::File),
}

/// Open the status descriptor: 1 and 2 are the standard streams, others are reopened through
/// `/dev/fd/N` (no unsafe descriptor adoption).
pub fn open_status(fd: Option<u32>) -> std::io::Result<StatusSink> {
    Ok(match fd {
        None => StatusSink::Discard,
        Some(1) => StatusSink::Stdout,
        Some(2) => StatusSink::Stderr,
        Some(n) => StatusSink::Fd(
            std::fs::OpenOptions::new()
                .append(true)
                .open(format!("/dev/fd/{n}"))?,
        ),
    })
}

impl StatusSink {
    /// Write one complete status line (it carries its own `\n`).
    pub fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        use std::io::Write;
        match self {
            StatusSink::Discard => Ok(()),
            StatusSink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(line.as_bytes())?;
                out.flush()
            }
            StatusSink::Stderr => {
                let mut err = std::io::stderr().lock();
                err.write_all(line.as_bytes())?;
                err.flush()
            }
            StatusSink::Fd(f) => {
                f.write_all(line.as_bytes())?;
                f.flush()
            }
        }
    }
}

// --- configuration and `signet setup` (warnings, setup's report, the `signet.logPath` sink) ---

/// A warning for humans: something was ignored or looks wrong, and signet goes on.
pub fn warning(message: impl Display) {
    let message = one_line(message);
    eprintln!("signet: warning: {message}");
    log_line(format_args!("signet: warning: {message}"));
}

/// A result line on stdout, for commands that are not run by git (`signet setup`, `signet
/// verify`); control characters are escaped as in [`one_line`].
pub fn result_line(message: impl Display) {
    println!("{}", one_line(message));
}

/// The diagnostics file (`signet.logPath`), once set.
static LOG_FILE: std::sync::OnceLock<std::sync::Mutex<std::fs::File>> = std::sync::OnceLock::new();

/// Also append every diagnostic line (info, warning, error, hint) to `path`: created with mode
/// 0600 if missing, appended to (never truncated), each line prefixed with the UTC time and the
/// process id. Set once per process; later calls are ignored. Never pass secrets to the
/// functions of this module: what they print is also written here.
pub fn set_log_file(path: &std::path::Path) -> Result<(), super::error::CliError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            super::error::CliError::usage(
                format!("cannot open the log file {}: {e}", path.display()),
                "check signet.logPath / SIGNET_LOG (gitsign.logPath / GITSIGN_LOG): its directory must exist and be writable",
            )
        })?;
    let _ = LOG_FILE.set(std::sync::Mutex::new(file));
    Ok(())
}

/// Append one line to the log file, if there is one. Failures to log are ignored: diagnostics
/// must not break signing.
pub fn log_line(line: impl Display) {
    use std::io::Write;
    let Some(file) = LOG_FILE.get() else {
        return;
    };
    let Ok(mut file) = file.lock() else {
        return;
    };
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let _ = writeln!(file, "{now} [{}] {line}", std::process::id());
}

/// A line for the person at the terminal during login (a URL to open, a device code): written
/// to `/dev/tty` when it can be opened, else to stderr; never stdout (git reads it), never the
/// log file. Never pass a token.
pub fn prompt(message: impl Display) {
    use std::io::Write;
    if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty")
        && writeln!(tty, "{message}").is_ok()
    {
        return;
    }
    eprintln!("{message}");
}

/// Whether a terminal is there to show login prompts to (`/dev/tty` opens).
pub fn tty_available() -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(one_line("alice@example.com"), "alice@example.com");
        assert_eq!(one_line("żółw@example.com"), "żółw@example.com");
        assert_eq!(
            one_line("a\rGood signature\n\u{1b}[8mb\u{9b}"),
            "a\\rGood signature\\n\\u{1b}[8mb\\u{9b}"
        );
        assert_eq!(
            one_line("fix \u{202e}txt.exe\u{2066}x\u{200f}"),
            "fix \\u{202e}txt.exe\\u{2066}x\\u{200f}"
        );
    }
}
