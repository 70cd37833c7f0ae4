//! The `verify` report: plain data, judged once ([`Report::exit_status`]), printed by `--json`
//! as documented in `docs/verify.md` and rendered for people by `render.rs`.

use std::path::PathBuf;

use serde::Serialize;

use crate::output::ExitStatus;
use crate::rust_source::{MissReason, UnregisteredReport};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum NameStatus {
    Found,
    Missing,
}

/// One line of the report.
#[derive(Debug, Serialize)]
pub(crate) struct NameReport {
    pub(crate) name: String,
    pub(crate) status: NameStatus,
    /// What Python found, or for a miss what the sources say it is.
    pub(crate) kind: Option<String>,
    /// Where the sources define it, relative to the project directory.
    pub(crate) location: Option<String>,
    /// Where it was found: the top-level package, or else the extension module (which the
    /// package then does not re-export).
    pub(crate) found_in: Option<String>,
    pub(crate) reason: Option<MissReason>,
    pub(crate) message: Option<String>,
    pub(crate) fix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FreshnessStatus {
    /// The loaded extension is the one `dev` proved, and no source changed since its build.
    Fresh,
    /// Sources changed after the build, or the extension was replaced since.
    Stale,
    /// Nothing to compare with: no receipt, an unreadable one, one for another venv, or a loaded
    /// extension that could not be hashed.
    Unknown,
}

#[derive(Debug, Serialize)]
pub(crate) struct Freshness {
    pub(crate) status: FreshnessStatus,
    pub(crate) message: String,
    /// What to do about it; `None` when fresh.
    pub(crate) hint: Option<String>,
    /// Build inputs modified after the installed build started, newest first.
    pub(crate) newer_sources: Vec<PathBuf>,
    pub(crate) built_at_unix_ms: Option<u64>,
    pub(crate) loaded: Option<PathBuf>,
    pub(crate) loaded_sha256: Option<String>,
    pub(crate) receipt_sha256: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct InternalReport {
    pub(crate) name: String,
    pub(crate) rust_name: String,
    pub(crate) location: String,
    pub(crate) returned_from: String,
    pub(crate) returned_at: String,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) project: PathBuf,
    pub(crate) module: String,
    pub(crate) extension: String,
    pub(crate) venv: PathBuf,
    /// The file of the module imported (a package's `__init__.py` in the pure layout).
    pub(crate) module_file: Option<String>,
    /// The file Python loaded for the extension.
    pub(crate) loaded: Option<String>,
    pub(crate) import_error: Option<String>,
    /// Why the sources export nothing, when they do not.
    pub(crate) source_problem: Option<String>,
    /// The sources hold no PyO3 macros (a `pyo3-ffi` module): the names were checked in the
    /// installed module only.
    pub(crate) runtime_only: bool,
    pub(crate) freshness: Freshness,
    pub(crate) names: Vec<NameReport>,
    pub(crate) found: usize,
    pub(crate) missing: usize,
    /// Classes only returned from methods: normal, never a failure.
    pub(crate) internal: Vec<InternalReport>,
    /// Items the sources define but never register (runs without names only).
    pub(crate) unregistered: Vec<UnregisteredReport>,
    pub(crate) scan_problems: Vec<String>,
    pub(crate) duration_ms: u64,
}

impl Report {
    /// Exit 1 for a miss, a module that does not import, a stale install (unless allowed), or a
    /// run without names on sources that export nothing; else 0 (`docs/verify.md`).
    pub(crate) fn exit_status(&self, allow_stale: bool) -> ExitStatus {
        let stale = self.freshness.status == FreshnessStatus::Stale && !allow_stale;
        let nothing_to_verify = self.names.is_empty() && self.source_problem.is_some();
        if self.missing > 0 || self.import_error.is_some() || stale || nothing_to_verify {
            ExitStatus::CheckFailed
        } else {
            ExitStatus::Success
        }
    }
}
