//! The one module that writes to stdout and stderr. stdout is reserved for machine output (git
//! reads it in gpg mode); everything human goes to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)] // this module owns the streams

use std::fmt::Display;

/// A progress or result line for humans.
pub fn info(message: impl Display) {
    eprintln!("signet: {message}");
}

/// An error with a hint saying what to do.
pub fn error(message: impl Display, hint: Option<&str>) {
    eprintln!("signet: error: {message}");
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
}

/// Let clap print its own help, version or usage error to the stream it chooses.
pub fn clap_message(err: &clap::Error) {
    let _ = err.print();
}
