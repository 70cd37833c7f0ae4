//! The verdict of `cargo pyo3 test`: the in-process proof of each extension module, and how the
//! run ends, from pytest's exit code and the proof (the table in docs/test.md).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::plugin::{AddedBy, Counts, Loaded, MissingModule, PLUGIN_MODULE, PluginReport};
use crate::failure::ExitStatus;
use crate::output::{self, short_hash};
use crate::process;
use crate::project::Project;
use crate::receipt::Receipt;

/// pytest's exit codes (`pytest.ExitCode`).
const PYTEST_OK: i32 = 0;
const PYTEST_TESTS_FAILED: i32 = 1;
const PYTEST_INTERRUPTED: i32 = 2;
const PYTEST_INTERNAL_ERROR: i32 = 3;
const PYTEST_USAGE_ERROR: i32 = 4;
const PYTEST_NO_TESTS_COLLECTED: i32 = 5;

/// The in-process proof of one extension: what the receipt proved against what the tests loaded.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ModuleProof {
    pub(super) module: String,
    /// The pytest-xdist worker the proof is about, `null` for pytest's own process.
    pub(super) process: Option<String>,
    pub(super) proven_path: Option<PathBuf>,
    proven_sha256: String,
    #[serde(flatten)]
    pub(super) loaded: Option<Loaded>,
    pub(super) holds: bool,
    pub(super) problem: Option<String>,
}

pub(super) fn judge(
    extension: &crate::proof::LoadedExtension,
    report: Option<&PluginReport>,
) -> ModuleProof {
    let loaded = report.and_then(|report| {
        report
            .modules
            .iter()
            .find(|loaded| loaded.module == extension.module)
            .cloned()
    });
    let proven_path = extension
        .loaded_path
        .as_deref()
        .map(|path| fs_err::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
    let problem = match &loaded {
        None => Some("the test process reported nothing about it".to_owned()),
        Some(Loaded {
            error: Some(error), ..
        }) => Some(format!(
            "it could not be imported in the test process: {error}"
        )),
        Some(loaded) => {
            let same_path = loaded.file.as_deref().is_some_and(|file| {
                proven_path
                    .as_deref()
                    .is_some_and(|proven| crate::project::same_file(file, proven))
            });
            let same_hash = loaded.sha256.as_deref() == Some(extension.wheel_sha256.as_str());
            match (same_path, same_hash) {
                (true, true) => None,
                (true, false) => Some("the proven file has changed since it was proven".into()),
                (false, _) => Some("the tests loaded another file".into()),
            }
        }
    };
    ModuleProof {
        module: extension.module.clone(),
        process: report.and_then(|report| report.worker.clone()),
        proven_path,
        proven_sha256: extension.wheel_sha256.clone(),
        loaded,
        holds: problem.is_none(),
        problem,
    }
}

/// Reports how the run ended and picks the exit code (docs/test.md).
pub(super) fn conclude(
    project: &Project,
    receipt: &Receipt,
    status: std::process::ExitStatus,
    report: Option<&PluginReport>,
    proofs: &[ModuleProof],
    arguments_given: bool,
) -> ExitStatus {
    let counts = report.map(|report| summarize_counts(&report.counts));
    let counts_text = counts.clone().unwrap_or_else(|| "no counts".into());
    let Some(code) = status.code() else {
        if process::interrupted() {
            output::error("interrupted while pytest ran");
            return ExitStatus::Error;
        }
        output::error(format_args!(
            "the test process crashed ({})",
            process::describe_status(status)
        ));
        output::line("");
        output::hint(
            "a crash in a test is a failing test: pytest's faulthandler output above names the \
             test that was running; run it alone with `cargo pyo3 test -- -x -k NAME`",
        );
        return ExitStatus::CheckFailed;
    };
    let collection_errors = report.is_some_and(|report| report.counts.errors > 0);
    match code {
        PYTEST_OK | PYTEST_TESTS_FAILED => {}
        PYTEST_INTERRUPTED if collection_errors && !process::interrupted() => {}
        PYTEST_INTERRUPTED => {
            output::error("pytest was interrupted");
            output::line("");
            output::hint("nothing was changed by the interrupted run; run `cargo pyo3 test` again");
            return ExitStatus::Error;
        }
        PYTEST_NO_TESTS_COLLECTED => {
            output::error(format_args!(
                "pytest collected no tests in `{}`",
                project.pyproject_dir().display()
            ));
            output::line("");
            output::hint(
                "pytest collects `test_*.py` and `*_test.py` files and `test_*` functions in \
                 them: add one (for example `tests/test_module.py`), or check the path and the \
                 `-k`/`-m` you passed after `--`",
            );
            return ExitStatus::Error;
        }
        PYTEST_USAGE_ERROR => {
            output::error("pytest rejected its command line (usage error, above)");
            output::line("");
            if arguments_given {
                output::hint(
                    "check the arguments after `--`: they are pytest's own, as `pytest --help` \
                     lists them",
                );
            } else {
                // No argument was given: the options came from the project's configuration.
                output::hint(
                    "no arguments were given after `--`, so the options pytest rejected come from \
                     the project's pytest configuration (`addopts`); an option pytest does not \
                     know usually belongs to a plugin the venv lacks: declare the plugin with \
                     pytest in a `test` or `dev` dependency group or extra, and install it",
                );
            }
            return ExitStatus::Error;
        }
        PYTEST_INTERNAL_ERROR => {
            output::error("pytest stopped with an internal error (above)");
            output::line("");
            output::hint(
                "the traceback above names the plugin or `conftest.py` that raised; fix it and \
                 run again",
            );
            return ExitStatus::Error;
        }
        other => {
            output::error(format_args!("pytest exited with status {other}"));
            output::line("");
            output::hint("a plugin chose that status: its output above says why");
            return ExitStatus::Error;
        }
    }
    if report.is_none() {
        output::error("the proof plugin wrote no report, so the test process is unproven");
        output::line("");
        output::hint(format_args!(
            "do not disable the plugin `{PLUGIN_MODULE}` (`-p no:…`) and do not end the session \
             with `os._exit`"
        ));
        return ExitStatus::Error;
    }
    let failures: Vec<&ModuleProof> = proofs.iter().filter(|proof| !proof.holds).collect();
    if !failures.is_empty() {
        let outcome = if code == PYTEST_OK {
            format!("{counts_text}, but not against the proven build")
        } else {
            format!("{counts_text}, and not against the proven build")
        };
        for failure in &failures {
            output::error(failed_proof_message(project, failure, &outcome));
        }
        output::line("");
        output::hint(failed_proof_hint(project, failures[0]));
        return ExitStatus::CheckFailed;
    }
    let first = receipt.extensions.first();
    let hash = first.map_or("", |extension| short_hash(&extension.wheel_sha256));
    let missing = report.map_or_else(Vec::new, |report| missing_packages(project, report));
    if code != PYTEST_OK && !missing.is_empty() {
        for module in &missing {
            output::error(format_args!(
                "`{}` could not import `{}` while pytest collected it: no module of that name is \
                 installed in the venv",
                module.nodeid, module.module
            ));
        }
        output::line("");
        output::hint(format_args!(
            "declare the package that provides `{}` where the project keeps what its tests need \
             (a `test` dependency group in `pyproject.toml`, or a `test`, `tests` or `dev` extra): \
             `cargo pyo3 test` installs that into a venv without pytest; into this venv, install \
             it yourself",
            missing[0].module
        ));
        return ExitStatus::CheckFailed;
    }
    if code == PYTEST_OK {
        output::result(
            "Tested",
            format_args!(
                "`{}` (sha256 {hash}): {counts_text}, proven in the test process",
                project.module_name
            ),
        );
        return ExitStatus::Success;
    }
    output::error(format_args!(
        "tests failed: {counts_text} (against `{}`, sha256 {hash}, proven in the test process)",
        project.module_name
    ));
    output::line("");
    output::hint(
        "the failures above ran against the build just made; rerun only them with \
         `cargo pyo3 test -- --lf`",
    );
    ExitStatus::CheckFailed
}

/// The modules the tests lacked at collection, without the project's own (its absence is the
/// proof's concern, not a dependency to declare).
fn missing_packages<'a>(project: &Project, report: &'a PluginReport) -> Vec<&'a MissingModule> {
    let own = project.module_name.split('.').next().unwrap_or_default();
    report
        .missing_modules
        .iter()
        .filter(|missing| missing.module.split('.').next() != Some(own))
        .collect()
}

/// The error for one failed proof: the file the tests loaded and why it won, in one message so
/// that `--quiet` keeps all of it.
fn failed_proof_message(project: &Project, failure: &ModuleProof, tests: &str) -> String {
    let shown = |path: &Path| project.relative(path).display().to_string();
    let proven = failure
        .proven_path
        .as_deref()
        .map_or_else(|| "?".into(), shown);
    let Some(loaded) = &failure.loaded else {
        return format!("the test process did not report `{}`", failure.module);
    };
    let Some(file) = loaded.file.as_deref() else {
        return format!(
            "the tests did not load `{}`: {}",
            failure.module,
            failure.problem.as_deref().unwrap_or_default()
        );
    };
    let worker = failure
        .process
        .as_deref()
        .map(|worker| format!(" (in xdist worker `{worker}`)"))
        .unwrap_or_default();
    let mut message = format!(
        "the tests{worker} loaded another build of `{}`: `{}` (sha256 {}), not the proven `{proven}` \
         (sha256 {})",
        failure.module,
        shown(file),
        loaded.sha256.as_deref().map_or("?", short_hash),
        short_hash(&failure.proven_sha256)
    );
    if let (Some(index), Some(entry)) = (loaded.sys_path_index, loaded.sys_path_entry.as_deref()) {
        let entry_shown = if entry.is_empty() {
            "the current directory".to_owned()
        } else {
            format!("`{}`", shown(Path::new(entry)))
        };
        message.push_str(&format!(
            "\n  it won because sys.path[{index}] is {entry_shown}, {}",
            describe_origin(project, loaded.added_by.as_ref())
        ));
    }
    message.push_str(&format!("\n  tests: {tests}"));
    message
}

fn describe_origin(project: &Project, added_by: Option<&AddedBy>) -> String {
    let shown = |path: &Option<PathBuf>| {
        path.as_deref().map_or_else(
            || "?".into(),
            |path| project.relative(path).display().to_string(),
        )
    };
    match added_by.map(|added| (added.kind.as_str(), &added.file)) {
        Some(("conftest", file)) => format!("put there by `{}`", shown(file)),
        Some(("pth", file)) => format!("listed in the `.pth` file `{}`", shown(file)),
        Some(("pythonpath", _)) => "from `PYTHONPATH`".into(),
        Some(("ini_pythonpath", file)) => {
            format!(
                "listed in pytest's `pythonpath` setting in `{}`",
                shown(file)
            )
        }
        Some(("cwd", _)) => "the current directory, which `python -m pytest` puts first".into(),
        Some(("collection", _)) => {
            "put there while pytest collected the tests (its `prepend` import mode inserts each \
             test file's root directory) or by a test"
                .into()
        }
        _ => "on the interpreter's own path".into(),
    }
}

fn failed_proof_hint(project: &Project, failure: &ModuleProof) -> String {
    let loaded = failure.loaded.as_ref();
    let file = loaded
        .and_then(|loaded| loaded.file.as_deref())
        .map(|file| format!("`{}`", project.relative(file).display()));
    let entry = loaded
        .and_then(|loaded| loaded.sys_path_entry.as_deref())
        .map(|entry| format!("`{}`", project.relative(Path::new(entry)).display()));
    let (Some(file), Some(entry)) = (file, entry) else {
        return "run `cargo pyo3 doctor` to list every copy of the extension and which one wins"
            .into();
    };
    match loaded.and_then(|loaded| loaded.added_by.as_ref()) {
        Some(added) if added.kind == "conftest" => format!(
            "take the `sys.path` change for {entry} out of `{}`, or remove the old build {file}",
            added
                .file
                .as_deref()
                .map(|conftest| project.relative(conftest).display().to_string())
                .unwrap_or_default()
        ),
        Some(added) if added.kind == "pth" => format!(
            "remove the old build {file}, or the `.pth` file that adds {entry} when nothing needs \
             it; `cargo pyo3 doctor` lists every copy"
        ),
        Some(added) if added.kind == "pythonpath" => {
            format!("unset `PYTHONPATH`, or remove the old build {file} from {entry}")
        }
        Some(added) if added.kind == "ini_pythonpath" => format!(
            "take {entry} out of the `pythonpath` setting in `{}`, or remove the old build {file}",
            added
                .file
                .as_deref()
                .map(|config| project.relative(config).display().to_string())
                .unwrap_or_default()
        ),
        Some(added) if added.kind == "collection" => format!(
            "remove the old build {file}, or run pytest with `-- --import-mode=importlib` so \
             test directories do not go first on `sys.path`"
        ),
        _ => format!(
            "remove the old build {file} (an in-tree copy left by `maturin develop`?); \
             `cargo pyo3 doctor` lists every copy and which one wins"
        ),
    }
}

/// `2 failed, 10 passed, 1 skipped`, in the order pytest's summary line uses.
fn summarize_counts(counts: &Counts) -> String {
    let parts: Vec<String> = [
        (counts.failed, "failed", "failed"),
        (counts.passed, "passed", "passed"),
        (counts.skipped, "skipped", "skipped"),
        (counts.deselected, "deselected", "deselected"),
        (counts.xfailed, "xfailed", "xfailed"),
        (counts.xpassed, "xpassed", "xpassed"),
        (counts.errors, "error", "errors"),
    ]
    .into_iter()
    .filter(|(count, _, _)| *count > 0)
    .map(|(count, one, many)| format!("{count} {}", if count == 1 { one } else { many }))
    .collect();
    if parts.is_empty() {
        "no tests ran".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_like_pytest() {
        let counts = Counts {
            passed: 10,
            failed: 2,
            errors: 1,
            skipped: 1,
            ..Counts::default()
        };
        assert_eq!(
            summarize_counts(&counts),
            "2 failed, 10 passed, 1 skipped, 1 error"
        );
        assert_eq!(summarize_counts(&Counts::default()), "no tests ran");
    }
}
