//! The `doctor` report: plain data (one [`Check`] per item of the checklist), judged once
//! ([`Report::exit_status`]), printed by `--json` as documented in `docs/doctor.md` and rendered
//! for people by `render.rs`.

use std::path::PathBuf;

use serde::Serialize;

use crate::failure::ExitStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Verdict {
    Ok,
    Info,
    Warning,
    Problem,
}

/// One line of the checklist.
#[derive(Debug, Serialize)]
pub(crate) struct Check {
    pub(crate) name: &'static str,
    pub(crate) verdict: Verdict,
    pub(crate) summary: String,
    pub(crate) details: Vec<String>,
    pub(crate) evidence: serde_json::Value,
    pub(crate) fix: Option<String>,
}

impl Check {
    pub(crate) fn new(name: &'static str, verdict: Verdict, summary: impl Into<String>) -> Check {
        Check {
            name,
            verdict,
            summary: summary.into(),
            details: Vec::new(),
            evidence: serde_json::Value::Null,
            fix: None,
        }
    }

    pub(crate) fn evidence(mut self, evidence: serde_json::Value) -> Check {
        self.evidence = evidence;
        self
    }

    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }

    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Check {
        self.details.push(detail.into());
        self
    }
}

/// The `--json` document.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) project: PathBuf,
    pub(crate) package: String,
    pub(crate) module: String,
    pub(crate) problems: usize,
    pub(crate) warnings: usize,
    pub(crate) checks: Vec<Check>,
}

impl Report {
    /// Counts the verdicts of `checks`.
    pub(crate) fn new(
        project: PathBuf,
        package: String,
        module: String,
        checks: Vec<Check>,
    ) -> Report {
        let counted = |verdict| {
            checks
                .iter()
                .filter(|check| check.verdict == verdict)
                .count()
        };
        Report {
            project,
            package,
            module,
            problems: counted(Verdict::Problem),
            warnings: counted(Verdict::Warning),
            checks,
        }
    }

    /// Exit 1 when a check found a problem (warnings allowed), else 0 (`docs/doctor.md`).
    pub(crate) fn exit_status(&self) -> ExitStatus {
        if self.problems > 0 {
            ExitStatus::CheckFailed
        } else {
            ExitStatus::Success
        }
    }
}
