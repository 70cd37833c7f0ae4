//! The `verify` report: plain data, judged once ([`Report::exit_status`]), printed by `--json`
//! as documented in `docs/verify.md` and rendered for people by `render.rs`.

use std::path::PathBuf;

use serde::Serialize;

use crate::failure::ExitStatus;
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
    /// `--stubs` only: the stubs checked with stubtest against this build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stubs: Option<StubsReport>,
    pub(crate) duration_ms: u64,
}

/// `--stubs`: where stubs were looked for, which were checked and how they differ from the build.
#[derive(Debug, Serialize)]
pub(crate) struct StubsReport {
    /// The package directory (mixed) or the `<module>.pyi` path (pure Rust) looked in.
    pub(crate) searched: Vec<PathBuf>,
    pub(crate) files: Vec<StubFile>,
    /// `None` when stubtest did not run.
    pub(crate) checker: Option<StubsChecker>,
    /// Drift: what fails the check.
    pub(crate) mismatches: Vec<StubMismatch>,
    /// Differences PyO3 makes by itself (a correct stub still has them), counted apart; with
    /// `--strict` they are in `mismatches` instead.
    pub(crate) artefacts: Vec<StubMismatch>,
    /// The project's stubtest allowlists, passed to stubtest as they are.
    pub(crate) allowlists: Vec<PathBuf>,
    pub(crate) problem: Option<StubProblem>,
    pub(crate) warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct StubFile {
    /// The dotted module the stub is for (`pkg._core`).
    pub(crate) module: String,
    pub(crate) path: PathBuf,
}

#[derive(Debug, Serialize)]
pub(crate) struct StubsChecker {
    /// The python that ran stubtest: the venv's, or the tools venv's.
    pub(crate) python: PathBuf,
    pub(crate) mypy_version: String,
    /// mypy came from the project's venv.
    pub(crate) in_project: bool,
}

/// Why the stubs could not be checked.
#[derive(Debug, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub(crate) enum StubProblem {
    /// No `.pyi` where maturin packages them.
    NoStubs,
    /// The build is not the fresh, proven one: stubs are only checked against that.
    NotProven { message: String },
    /// stubtest could not check at all (a stub mypy cannot read, a module that does not import).
    Failed { message: String },
}

/// One difference stubtest found.
#[derive(Debug, Serialize)]
pub(crate) struct StubMismatch {
    /// The full dotted name stubtest checked (`pkg._core.Counter.incr`).
    pub(crate) name: String,
    /// `not-in-stub`, `not-at-runtime` or `differs`.
    pub(crate) kind: String,
    /// stubtest's own words.
    pub(crate) message: String,
    /// What the stub says (`None`: not in the stub).
    pub(crate) stub: Option<String>,
    /// What the runtime has (`None`: not at runtime).
    pub(crate) runtime: Option<String>,
    pub(crate) stub_file: Option<PathBuf>,
    pub(crate) stub_line: Option<u64>,
    /// Where the Rust sources define it, relative to the project directory.
    pub(crate) rust: Option<String>,
    /// A difference PyO3 makes by itself: `final`, `new-as-init`, `ellipsis-default` or
    /// `varargs-dunder` (docs/verify.md); `None` for drift.
    pub(crate) artefact: Option<String>,
}

/// What each PyO3 artefact is, and what a stub can say instead.
pub(crate) fn artefact_meaning(kind: &str) -> &'static str {
    match kind {
        "final" => {
            "a `#[pyclass]` without `subclass` cannot be subclassed; mark the class `@final` \
             (`typing.final`) in the stub to say so"
        }
        "new-as-init" => {
            "PyO3's `#[new]` is the class's `__new__`; the stub's `__init__` describes the same \
             call: name it `__new__(cls, …)` to have it checked"
        }
        "ellipsis-default" => {
            "PyO3 shows a Rust default it cannot write as a Python literal as `...`; the stub's \
             default is the real one"
        }
        "varargs-dunder" => {
            "the Rust method takes `*args`; the stub names the arguments Python passes"
        }
        _ => "a difference PyO3 makes by itself",
    }
}

impl Report {
    /// Exit 1 for a miss, a module that does not import, a stale install (unless allowed), a
    /// run without names on sources that export nothing, or with `--stubs` a stub mismatch, no
    /// stubs, or stubs that could not be checked; else 0 (`docs/verify.md`).
    pub(crate) fn exit_status(&self, allow_stale: bool) -> ExitStatus {
        let stale = self.freshness.status == FreshnessStatus::Stale && !allow_stale;
        let nothing_to_verify = self.names.is_empty() && self.source_problem.is_some();
        let stubs_failed = self
            .stubs
            .as_ref()
            .is_some_and(|stubs| !stubs.mismatches.is_empty() || stubs.problem.is_some());
        if self.missing > 0
            || self.import_error.is_some()
            || stale
            || nothing_to_verify
            || stubs_failed
        {
            ExitStatus::CheckFailed
        } else {
            ExitStatus::Success
        }
    }
}
