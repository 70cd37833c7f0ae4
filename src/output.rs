//! Everything the tool says: status lines, warnings and hints for people on stderr, JSON data on
//! stdout. One place decides about colour and verbosity so commands never check flags themselves.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use crate::failure::hint_of;

/// When our messages are coloured (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    emit(&status_line(verb, message));
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
        emit(&verbose_line(message));
    }
}

pub(crate) fn warning(message: impl fmt::Display) {
    emit(&warning_line(message));
}

pub(crate) fn hint(message: impl fmt::Display) {
    emit(&hint_line(message));
}

pub(crate) fn error(message: impl fmt::Display) {
    emit(&error_line(message));
}

// The lines above as text, for renderers that write to their own `impl Write` (the `verify` and
// `doctor` reports): one look for every message, wherever it is written.

pub(crate) fn status_line(verb: &str, message: impl fmt::Display) -> String {
    format!("{} {message}", paint(&format!("{verb:>12}"), "1;32"))
}

pub(crate) fn verbose_line(message: impl fmt::Display) -> String {
    format!("{} {message}", paint(&format!("{:>12}", "Info"), "1;36"))
}

pub(crate) fn warning_line(message: impl fmt::Display) -> String {
    format!("{} {message}", paint("warning:", "1;33"))
}

pub(crate) fn hint_line(message: impl fmt::Display) -> String {
    format!("{} {message}", paint("hint:", "1;36"))
}

pub(crate) fn error_line(message: impl fmt::Display) -> String {
    format!("{} {message}", paint("error:", "1;31"))
}

/// A plain line for people (stderr), silenced by `--quiet`.
pub(crate) fn line(message: impl fmt::Display) {
    if !settings().quiet {
        emit(&message.to_string());
    }
}

/// Lines that are a command's result (a report table): shown with `--quiet` too.
pub(crate) fn block(text: &str) {
    for line in text.lines() {
        emit(line);
    }
}

/// Prints the whole error chain once, then the hint.
pub(crate) fn report_error(error: &anyhow::Error) {
    report_chain(error.chain(), hint_of(error));
}

/// Prints one error line, then its hint after a blank line (neither is silenced by `--quiet`).
pub(crate) fn error_with_hint(message: impl fmt::Display, hint: &str) {
    self::error(message);
    emit("");
    self::hint(hint);
}

/// Prints an error chain (`error:` for the first, `caused by:` for the rest), then the hint.
pub(crate) fn report_chain<'a>(
    mut chain: impl Iterator<Item = &'a (dyn std::error::Error + 'static)>,
    hint: Option<&str>,
) {
    if let Some(first) = chain.next() {
        self::error(first);
    }
    for cause in chain {
        emit(&format!("  caused by: {cause}"));
    }
    if let Some(hint) = hint {
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
