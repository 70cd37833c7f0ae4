//! `cargo pyo3 verify`: validate the names → scan the Rust sources → look every name up in the
//! venv's python (isolated, from a neutral directory) → judge the install's freshness against the
//! last `dev` receipt → report each name, explaining every miss from the sources; with
//! `--stubs`, then check the project's `.pyi` stubs against that build (`stubs.rs`).
//!
//! This file computes the [`Report`] (plain data, also the `--json` document);
//! `render.rs` writes it for people. Only the "Verifying" line and scan warnings are printed
//! here, before Python runs, so a slow import is never silent.

mod render;
mod report;
mod stubs;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Deserialize;

use self::render::{RenderOptions, count};
use self::report::{Freshness, FreshnessStatus, InternalReport, NameReport, NameStatus, Report};
use crate::cli::VerifyArgs;
use crate::failure::{ExitStatus, user_error};
use crate::output::{self, short_hash};
use crate::project::{self, Project};
use crate::python;
use crate::receipt;
use crate::rust_source::{self, CrateScan, Exports, MissReason};
use crate::settings::ProjectSettings;
use crate::venv::Venv;

/// What `verify.py` reports.
#[derive(Debug, Deserialize)]
struct Runtime {
    import_error: Option<String>,
    module_file: Option<String>,
    extension_file: Option<String>,
    names: Vec<RuntimeName>,
}

#[derive(Debug, Deserialize)]
struct RuntimeName {
    name: String,
    found: bool,
    kind: Option<String>,
    /// The first dotted prefix that was not there (`sub` for `sub.Name` without `sub`).
    missing: Option<String>,
    /// An exception raised while looking the name up.
    error: Option<String>,
    /// The module it was found in: the top-level package, else the extension module.
    found_in: Option<String>,
}

pub(crate) fn run(args: VerifyArgs) -> Result<ExitStatus> {
    // Destructured whole, so a new flag cannot be silently ignored here.
    let VerifyArgs {
        project: project_args,
        names,
        all,
        allow_stale,
        stubs,
        strict,
        json,
    } = args;
    let started = Instant::now();
    // Before anything else, and long before any Python runs.
    validate_names(&names)?;

    let project_settings = ProjectSettings::resolve(project_args);
    let project = project::discover(&project_settings)?;
    let venv =
        Venv::find(project_settings.venv.as_deref(), &project.project_dir)?.ok_or_else(|| {
            user_error(
                format!(
                    "no virtual environment for `{}`: nothing is installed to verify",
                    project.project_dir.display()
                ),
                "run `cargo pyo3 dev` first, or point `--venv` at the venv to check",
            )
        })?;

    let scan = rust_source::scan_crate(&project.lib_src, &project.project_dir)?;
    for problem in &scan.problems {
        output::warning(format_args!("could not scan {problem}"));
    }
    let exports = scan.exports(project.extension_name());
    let explicit = !names.is_empty();
    if !explicit && runtime_only(&scan) && scan.problems.is_empty() {
        return Err(user_error(
            format!(
                "nothing to verify: the Rust sources of `{}` define no PyO3 items (`#[pymodule]`, \
                 `#[pyclass]`, `#[pyfunction]`), so they cannot say which names `{}` exports \
                 (a module written against `pyo3-ffi`, say)",
                project.package_name,
                project.top_level_module()
            ),
            "name what to check, e.g. `cargo pyo3 verify NAME...`: each name is then looked up in \
             the installed module",
        ));
    }
    let requested: Vec<String> = if explicit {
        names
    } else {
        exports
            .default_names()
            .map(|exported| exported.name.clone())
            .collect()
    };
    output::status(
        "Verifying",
        format_args!(
            "{} in `{}` with `{}`",
            count(requested.len(), "name"),
            project.module_name,
            project.relative(&venv.python).display()
        ),
    );

    let runtime: Runtime = python::run(
        &venv,
        python::VERIFY,
        project.top_level_module(),
        &serde_json::json!({
            "module": project.top_level_module(),
            "extension": project.extension_module(),
            "names": requested,
        }),
        python::Vantage::Neutral,
    )
    .with_context(|| {
        format!(
            "failed to look the names up in `{}`",
            project.top_level_module()
        )
    })?;

    let freshness = check_freshness(&project, &venv, &scan, &runtime);

    let reports: Vec<NameReport> = runtime
        .names
        .iter()
        .map(|name| report_name(&project, &scan, &exports, &freshness, &runtime, name))
        .collect();
    let internal: Vec<InternalReport> = exports
        .internal
        .iter()
        .map(|class| InternalReport {
            name: class.python_name.clone(),
            rust_name: class.rust_name.clone(),
            location: class.location.to_string(),
            returned_from: class.returned_from.clone(),
            returned_at: class.returned_at.to_string(),
        })
        .collect();
    let unregistered = if explicit {
        Vec::new()
    } else {
        scan.unregistered_reports(&exports)
    };
    let stubs = if stubs {
        Some(check_stubs(
            &project, &venv, &exports, &freshness, &runtime, strict,
        )?)
    } else {
        None
    };
    let missing = reports
        .iter()
        .filter(|report| report.status == NameStatus::Missing)
        .count();
    let report = Report {
        project: project.project_dir.clone(),
        module: project.top_level_module().to_owned(),
        extension: project.extension_module(),
        venv: venv.root.clone(),
        module_file: runtime.module_file.clone(),
        loaded: runtime.extension_file.clone(),
        import_error: runtime.import_error.clone(),
        source_problem: exports
            .root
            .is_none()
            .then(|| exports.no_root(&scan).message),
        runtime_only: runtime_only(&scan),
        found: reports.len() - missing,
        missing,
        names: reports,
        internal,
        unregistered,
        scan_problems: scan.problems.iter().map(ToString::to_string).collect(),
        freshness,
        stubs,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    let settings = output::settings();
    let options = RenderOptions {
        explicit,
        show_internal: all || settings.verbose > 0,
        allow_stale,
        quiet: settings.quiet,
        verbose: settings.verbose > 0,
    };
    // As for every line `output` writes: a closed stderr must not change the verdict.
    let _ = render::render(&report, options, &mut std::io::stderr().lock());
    if json {
        output::json(&report)?;
    }
    Ok(report.exit_status(allow_stale))
}

/// `--stubs`: only on the fresh build `dev` proved, so the stubs are checked against the code the
/// user just built; otherwise the report says why they were not checked.
fn check_stubs(
    project: &Project,
    venv: &Venv,
    exports: &Exports,
    freshness: &Freshness,
    runtime: &Runtime,
    strict: bool,
) -> Result<report::StubsReport> {
    let found = stubs::find(project)?;
    let not_proven = match (&runtime.import_error, freshness.status) {
        (Some(error), _) => Some(format!(
            "`import {}` failed: {error}",
            project.top_level_module()
        )),
        (None, FreshnessStatus::Fresh) => None,
        (None, _) => Some(freshness.message.clone()),
    };
    match not_proven {
        Some(message) if !found.files.is_empty() => Ok(report::StubsReport {
            searched: found.searched,
            files: found.files,
            checker: None,
            mismatches: Vec::new(),
            artefacts: Vec::new(),
            allowlists: Vec::new(),
            problem: Some(report::StubProblem::NotProven { message }),
            warnings: found.warnings,
        }),
        _ => stubs::check(project, venv, exports, found, strict),
    }
}

/// Every name must be a dotted Python identifier: anything else is refused before Python runs,
/// so no argument can ever reach the interpreter as code.
fn validate_names(names: &[String]) -> Result<()> {
    let invalid: Vec<String> = names
        .iter()
        .filter(|name| !is_dotted_identifier(name))
        .map(|name| format!("{name:?}"))
        .collect();
    if invalid.is_empty() {
        return Ok(());
    }
    Err(user_error(
        format!("not a dotted Python name: {}", invalid.join(", ")),
        "names look like `Class`, `Class.method`, `function` or `submodule.Name`: identifiers joined by dots",
    ))
}

pub(crate) fn is_dotted_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            let mut characters = part.chars();
            characters
                .next()
                .is_some_and(|first| first == '_' || first.is_alphabetic())
                && characters.all(|character| character == '_' || character.is_alphanumeric())
        })
}

/// Judges the install against the last `dev` receipt ([`receipt::assess`]) and words the
/// verdict for `verify`.
fn check_freshness(
    project: &Project,
    venv: &Venv,
    scan: &CrateScan,
    runtime: &Runtime,
) -> Freshness {
    let loaded = runtime.extension_file.as_ref().map(PathBuf::from);
    let stored = receipt::read(&project.state_dir());
    let extension_module = project.extension_module();
    let inputs = receipt::build_inputs(project, Some(scan));
    let assessment = receipt::assess(receipt::FreshnessInputs {
        receipt: &stored,
        venv_root: &venv.root,
        extension_module: &extension_module,
        loaded: loaded.as_deref(),
        inputs: &inputs,
    });
    let built = assessment.built_at_unix_ms.map(describe_age);
    let built = built.as_deref().unwrap_or_default();
    const UNKNOWN_HINT: &str =
        "run `cargo pyo3 dev` so that `verify` can tell a fresh install from a stale one";
    const STALE_HINT: &str = "run `cargo pyo3 dev` to rebuild and reinstall, or pass `--allow-stale` to accept the old build";
    let shared = assessment.freshness.shared_words();
    let (status, message, hint, newer_sources) = match &assessment.freshness {
        receipt::Freshness::NoReceipt => (
            FreshnessStatus::Unknown,
            "no receipt from `cargo pyo3 dev`: the install was not proven, so its age is unknown"
                .to_owned(),
            UNKNOWN_HINT,
            Vec::new(),
        ),
        receipt::Freshness::Unreadable { .. } => {
            let (message, hint) = shared.unwrap_or_default();
            (
                FreshnessStatus::Unknown,
                format!("{message}, so this install's age is unknown"),
                hint,
                Vec::new(),
            )
        }
        receipt::Freshness::OtherVenv(other) => (
            FreshnessStatus::Unknown,
            format!(
                "the last `cargo pyo3 dev` installed into `{}`, not into this venv, so this install's age is unknown",
                other.display()
            ),
            UNKNOWN_HINT,
            Vec::new(),
        ),
        receipt::Freshness::Unhashable { path, reason } => (
            FreshnessStatus::Unknown,
            format!(
                "could not hash the loaded `{}` ({reason}), so it cannot be compared with the build `cargo pyo3 dev` proved",
                path.display()
            ),
            UNKNOWN_HINT,
            Vec::new(),
        ),
        receipt::Freshness::Replaced {
            loaded_sha256,
            proven_sha256,
        } => (
            FreshnessStatus::Stale,
            format!(
                "the loaded `{}` (sha256 {}) is not the build `cargo pyo3 dev` installed {built} (sha256 {}): \
                 it was replaced since, by `uv sync`/`uv run`, pip or `maturin develop`",
                loaded
                    .as_deref()
                    .map(Path::display)
                    .map(|path| path.to_string())
                    .unwrap_or_default(),
                short_hash(loaded_sha256),
                short_hash(proven_sha256)
            ),
            STALE_HINT,
            Vec::new(),
        ),
        receipt::Freshness::SourcesChanged(newer) => {
            let newer: Vec<PathBuf> = newer.iter().map(|path| project.relative(path)).collect();
            let more = match newer.len() - 1 {
                0 => String::new(),
                others => format!(" and {}", count(others, "other file")),
            };
            (
                FreshnessStatus::Stale,
                format!(
                    "the installed build is older than `{}`{more}: changed after the build `cargo pyo3 dev` installed {built}",
                    newer[0].display()
                ),
                STALE_HINT,
                newer,
            )
        }
        receipt::Freshness::Fresh => (
            FreshnessStatus::Fresh,
            format!(
                "the installed build is the one `cargo pyo3 dev` proved {built}, and no source changed since"
            ),
            "",
            Vec::new(),
        ),
    };
    Freshness {
        status,
        message,
        hint: (!hint.is_empty()).then(|| hint.to_owned()),
        newer_sources,
        built_at_unix_ms: assessment.built_at_unix_ms,
        loaded,
        receipt_sha256: assessment.proven_sha256,
        loaded_sha256: assessment.loaded_sha256,
    }
}

fn report_name(
    project: &Project,
    scan: &CrateScan,
    exports: &Exports,
    freshness: &Freshness,
    runtime: &Runtime,
    name: &RuntimeName,
) -> NameReport {
    let exported = exports.get(&name.name);
    if name.found {
        return NameReport {
            name: name.name.clone(),
            status: NameStatus::Found,
            kind: name.kind.clone(),
            location: exported.map(|exported| exported.location.to_string()),
            found_in: name.found_in.clone(),
            reason: None,
            message: None,
            fix: None,
        };
    }
    let explanation = exports.explain(scan, &name.name);
    let mut message = explanation.message.clone();
    if let Some(error) = &runtime.import_error {
        message = format!("`import {}` failed: {error}", project.top_level_module());
        if explanation.reason == MissReason::NoModule {
            message = format!("{message}; {}", explanation.message);
        }
    } else if runtime_only(scan) {
        message = format!(
            "not in the installed `{}` or `{}`; the Rust sources define no PyO3 items to explain it \
             (a module written against `pyo3-ffi`, say)",
            project.top_level_module(),
            project.extension_module()
        );
    } else if let Some(error) = &name.error {
        message = format!("looking it up raised {error}");
    } else if explanation.reason == MissReason::InSource {
        let location = explanation
            .location
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        message = match freshness.status {
            FreshnessStatus::Stale if !freshness.newer_sources.is_empty() => {
                // Name the file that holds the definition when it is one of the changed ones.
                let file = explanation
                    .location
                    .as_ref()
                    .map(|location| location.file.clone())
                    .filter(|file| freshness.newer_sources.contains(file))
                    .or_else(|| freshness.newer_sources.first().cloned())
                    .unwrap_or_default();
                format!(
                    "found in source ({location}) but the installed build is older than {}: run `cargo pyo3 dev`",
                    file.display()
                )
            }
            FreshnessStatus::Stale => format!(
                "found in source ({location}) but the installed extension was replaced after the last \
                 `cargo pyo3 dev`: run `cargo pyo3 dev`"
            ),
            FreshnessStatus::Unknown => format!(
                "found in source ({location}) but not in the installed module, which `cargo pyo3 dev` did not \
                 install and may be old: run `cargo pyo3 dev`"
            ),
            FreshnessStatus::Fresh => format!(
                "found in source ({location}) but not in the fresh build: is it behind a `#[cfg]` or a feature \
                 the build did not enable?"
            ),
        };
    }
    if let Some(prefix) = name
        .missing
        .as_deref()
        .filter(|prefix| *prefix != name.name)
        && runtime.import_error.is_none()
    {
        message = format!(
            "`{prefix}` is missing, so `{}` is too: {message}",
            name.name
        );
    }
    NameReport {
        name: name.name.clone(),
        status: NameStatus::Missing,
        found_in: None,
        kind: explanation.kind.map(|kind| kind.to_string()),
        location: explanation.location.as_ref().map(ToString::to_string),
        reason: Some(explanation.reason),
        message: Some(message),
        fix: explanation.fix.clone(),
    }
}

/// Whether the sources hold no PyO3 macros at all, as in a module written against the raw C API
/// with `pyo3-ffi`: names can then be checked in the installed module only.
fn runtime_only(scan: &CrateScan) -> bool {
    scan.modules.is_empty() && scan.classes.is_empty() && scan.functions.is_empty()
}

/// "12 s ago", "4 min ago", "2 h ago", "3 days ago".
fn describe_age(unix_ms: u64) -> String {
    let seconds = crate::clock::now_unix_ms().saturating_sub(unix_ms) / 1000;
    match seconds {
        0..60 => format!("{seconds} s ago"),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86_400 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_identifiers() {
        for good in [
            "Counter",
            "Counter.incr",
            "sub.mod.Name",
            "_private",
            "__iter__",
            "naïve",
            "x1",
        ] {
            assert!(is_dotted_identifier(good), "{good}");
        }
        for bad in [
            "",
            "os.system('x')",
            "a;b",
            "__import__('os')",
            "a b",
            "a.",
            ".a",
            "a..b",
            "1abc",
            "a-b",
            "a\nb",
            "Counter()",
        ] {
            assert!(!is_dotted_identifier(bad), "{bad:?}");
        }
    }

    #[test]
    fn invalid_names_are_user_errors() {
        let error = validate_names(&["ok".into(), "a;b".into(), String::new()]).unwrap_err();
        assert_eq!(error.to_string(), "not a dotted Python name: \"a;b\", \"\"");
        assert!(crate::failure::hint_of(&error).is_some());
    }
}
