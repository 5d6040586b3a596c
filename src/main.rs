//! The `signet` binary: everything happens in [`signet::cli`].

fn main() -> std::process::ExitCode {
    signet::cli::main()
}
