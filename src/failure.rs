//! What a failure is, as plain data at the bottom of the crate: the exit-code contract
//! ([`ExitStatus`], `docs/exit-codes.md`), the kinds of failure that map onto it ([`Failure`]), and
//! the error that carries a hint for the user ([`UserError`]). Classifying an error and wording
//! it is `outcome.rs`'s; printing is `output.rs`'s. This module imports nothing of the crate, so
//! every other module can return these.

use std::fmt;

/// How the process ends: the contract documented in `docs/exit-codes.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// Everything asked for was done and proven.
    Success,
    /// A check failed: a proof mismatch, a `verify` miss, a `doctor` problem, a crashed import.
    CheckFailed,
    /// An error: bad arguments, not a PyO3 project, a missing tool, a failed build or install,
    /// an interrupt.
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

/// Why a run that returned an error failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The user pressed Ctrl-C (or sent SIGTERM): whatever error the step returned afterwards is
    /// a consequence, never the cause.
    Interrupted,
    /// The interpreter crashed (a signal, an NTSTATUS) while importing the module: the module
    /// fails the check, the tool did not.
    Crashed,
    /// The uv guard refused.
    Refused,
    /// Anything else: the tool could not do what was asked.
    Error,
}

impl Failure {
    /// The one mapping from a kind of failure to the documented exit code.
    pub(crate) fn exit_status(self) -> ExitStatus {
        match self {
            Failure::Interrupted | Failure::Error => ExitStatus::Error,
            Failure::Crashed => ExitStatus::CheckFailed,
            Failure::Refused => ExitStatus::Refused,
        }
    }
}

/// An error meant for the user, with the fix in a `hint:` line.
///
/// Anything that knows what the user should do next returns this (usually through
/// [`user_error`]); `main` finds it anywhere in the error chain and prints the hint last. Its
/// `kind`, when set, is how `outcome::classify` tells a crash or a refusal from an error.
#[derive(Debug)]
pub(crate) struct UserError {
    pub(crate) kind: Option<Failure>,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    /// What it happened because of, shown as `caused by:` lines.
    pub(crate) source: Option<anyhow::Error>,
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// Builds an error that carries a hint.
pub(crate) fn user_error(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UserError {
        kind: None,
        message: message.into(),
        hint: Some(hint.into()),
        source: None,
    })
}

/// The hint of the first [`UserError`] in an error chain, if any.
pub(crate) fn hint_of(error: &anyhow::Error) -> Option<&str> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<UserError>())
        .and_then(|user_error| user_error.hint.as_deref())
}
