//! Everything the tool says: status lines, warnings and hints for people on stderr, JSON data on
//! stdout. One place decides about colour and verbosity so commands never check flags themselves.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

/// How the process ends: the contract documented in `docs/exit-codes.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// Everything asked for was done and proven.
    Success,
    /// A check failed: a proof mismatch, a `verify` miss, a `doctor` problem.
    CheckFailed,
    /// An error: bad arguments, not a PyO3 project, a missing tool, a failed build or install.
    Error,
    /// The uv guard refused to proceed.
    Refused,
    /// The exit code of the command `cargo pyo3 run` ran, passed through.
    External(u8),
}

impl ExitStatus {
    pub(crate) fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::CheckFailed => 1,
            ExitStatus::Error => 2,
            ExitStatus::Refused => 3,
            ExitStatus::External(code) => code,
        }
    }
}

/// An error meant for the user, with the fix in a `hint:` line.
///
/// Anything that knows what the user should do next returns this (usually through
/// [`user_error`]); `main` finds it anywhere in the error chain and prints the hint last.
#[derive(Debug)]
pub(crate) struct UserError {
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// Builds an error that carries a hint.
pub(crate) fn user_error(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UserError {
        message: message.into(),
        hint: Some(hint.into()),
    })
}

/// The hint of the first [`UserError`] in an error chain, if any.
pub(crate) fn hint_of(error: &anyhow::Error) -> Option<&str> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<UserError>())
        .and_then(|user_error| user_error.hint.as_deref())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct OutputSettings {
    pub(crate) quiet: bool,
    pub(crate) verbose: u8,
    /// Whether our own messages are coloured.
    pub(crate) color: bool,
    /// What the user asked for, passed on to maturin and cargo.
    pub(crate) color_choice: ColorChoice,
}

static SETTINGS: OnceLock<OutputSettings> = OnceLock::new();

/// Sets verbosity and colour once, at startup. `NO_COLOR` wins over `auto`.
pub(crate) fn init(quiet: bool, verbose: u8, color_choice: ColorChoice) {
    let color = match color_choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os(crate::env::NO_COLOR).is_none_or(|value| value.is_empty())
                && std::io::stderr().is_terminal()
        }
    };
    let _ = SETTINGS.set(OutputSettings {
        quiet,
        verbose,
        color,
        color_choice,
    });
}

pub(crate) fn settings() -> OutputSettings {
    SETTINGS.get().copied().unwrap_or(OutputSettings {
        quiet: false,
        verbose: 0,
        color: false,
        color_choice: ColorChoice::Auto,
    })
}

fn paint(text: &str, ansi: &str) -> String {
    if settings().color {
        format!("\x1b[{ansi}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn emit(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// A cargo-style status line: a right-aligned green verb, then the message.
pub(crate) fn status(verb: &str, message: impl fmt::Display) {
    if settings().quiet {
        return;
    }
    emit(&format!(
        "{} {message}",
        paint(&format!("{verb:>12}"), "1;32")
    ));
}

/// The status line that reports what a command achieved: shown with `--quiet` too, which hides
/// the steps on the way, never the result.
pub(crate) fn result(verb: &str, message: impl fmt::Display) {
    emit(&format!(
        "{} {message}",
        paint(&format!("{verb:>12}"), "1;32")
    ));
}

/// Detail shown only with `-v`.
pub(crate) fn verbose(message: impl fmt::Display) {
    if settings().verbose > 0 && !settings().quiet {
        emit(&format!(
            "{} {message}",
            paint(&format!("{:>12}", "Info"), "1;36")
        ));
    }
}

pub(crate) fn warning(message: impl fmt::Display) {
    emit(&format!("{} {message}", paint("warning:", "1;33")));
}

pub(crate) fn hint(message: impl fmt::Display) {
    emit(&format!("{} {message}", paint("hint:", "1;36")));
}

pub(crate) fn error(message: impl fmt::Display) {
    emit(&format!("{} {message}", paint("error:", "1;31")));
}

/// A plain line for people (stderr), silenced by `--quiet`.
pub(crate) fn line(message: impl fmt::Display) {
    if !settings().quiet {
        emit(&message.to_string());
    }
}

/// Prints the whole error chain once, then the hint.
pub(crate) fn report_error(error: &anyhow::Error) {
    self::error(error);
    for cause in error.chain().skip(1) {
        emit(&format!("  caused by: {cause}"));
    }
    if let Some(hint) = hint_of(error) {
        emit("");
        self::hint(hint);
    }
}

/// Writes one JSON document on stdout: the machine-readable report of `--json`.
pub(crate) fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}

/// Shortens a sha256 hex digest for display.
pub(crate) fn short_hash(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}
