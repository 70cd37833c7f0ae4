//! `cargo pyo3 test`: `dev`, then pytest with the venv's python from the Python project root,
//! proven inside the test process: a plugin shipped in this binary records which file each
//! extension module was loaded from, and the run fails when it is not the proven build, even if
//! every test passed. Exit codes and the `--json` schema are in docs/test.md.

mod plugin;
mod requirements;
mod verdict;

use std::ffi::OsString;

use anyhow::Result;
use serde::Serialize;

use crate::cli::TestArgs;
use crate::failure::{ExitStatus, user_error};
use crate::output;
use crate::pipeline::{self, Developed};
use crate::process::{Cmd, Stdout};
use crate::project;
use crate::project::Project;
use crate::pythons::{self, Extra, StepOutcome};
use crate::receipt::Receipt;
use crate::settings::DevSettings;
use crate::venv::Venv;
use plugin::{Ahead, Counts, PLUGIN_MODULE, Plugin, PluginReport};
use verdict::ModuleProof;

/// The `--json` report (docs/test.md).
#[derive(Debug, Serialize)]
struct TestReport<'a> {
    receipt: &'a Receipt,
    pytest: PytestOutcome,
    proof: InProcessProof,
}

#[derive(Debug, Serialize)]
struct PytestOutcome {
    /// pytest's exit code; `null` when it was killed by a signal.
    exit_code: Option<i32>,
    signal: Option<i32>,
    counts: Option<Counts>,
    sys_path: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
struct InProcessProof {
    holds: bool,
    modules: Vec<ModuleProof>,
}

pub(crate) fn run(args: TestArgs) -> Result<ExitStatus> {
    let TestArgs {
        mut dev,
        pytest_args,
    } = args;
    // Ours replaces the receipt `dev` would print: the receipt is part of it.
    let json = std::mem::take(&mut dev.json);
    let watch = std::mem::take(&mut dev.watch);
    let settings = DevSettings::resolve(dev);
    if pythons::several(&settings.pythons) {
        return several(&settings, &pytest_args, json, watch);
    }
    if !watch {
        // pytest gets through its start while `dev` runs, for the run that rebuilds nothing.
        let (status, developed, ahead) = pipeline::develop_with(settings, |project, venv| {
            start_ahead(project, venv, &pytest_args, json)
        })?;
        return match developed {
            Some(developed) => {
                let tested = run_tests(&developed, &pytest_args, json, ahead)?;
                if json {
                    output::json(&tested.report)?;
                }
                Ok(tested.status)
            }
            None => Ok(status),
        };
    }
    let scope = || pipeline::watch_scope(&project::discover(&settings.project)?, true);
    // The last proven build: while the Rust inputs are as it was built from, a change to the
    // Python sources of an editable install or to the tests only needs the tests run again.
    let mut proven: Option<Developed> = None;
    crate::watch::run(
        scope()?,
        scope,
        |changed| {
            let tests_only = proven
                .as_ref()
                .is_some_and(|developed| !changed.is_empty() && tests_only(developed, changed));
            if !tests_only {
                let (status, developed) = pipeline::develop(settings.clone())?;
                match developed {
                    Some(developed) => {
                        // Proven and receipted: a failure of the tests from here on leaves this
                        // build installed, with nothing to restore.
                        crate::outcome::install_settled();
                        proven = Some(developed);
                    }
                    None => {
                        // The next change builds again, whatever it is.
                        proven = None;
                        return Ok(pipeline::cycle_of((status, None)));
                    }
                }
            }
            let developed = proven
                .as_ref()
                .expect("proven by this cycle or an earlier one");
            let proven_sha256 = developed
                .receipt
                .extensions
                .first()
                .map(|extension| extension.wheel_sha256.clone());
            let tested = run_tests(developed, &pytest_args, json, None)?;
            if json {
                output::json(&tested.report)?;
            }
            let status = tested.status;
            Ok(crate::watch::Cycle {
                result: match status {
                    ExitStatus::Success if tests_only => "tests passed (not rebuilt)".to_owned(),
                    ExitStatus::Success => "proven, tests passed".to_owned(),
                    other => format!("tests failed (exit {})", other.code()),
                },
                proven: proven_sha256,
            })
        },
        || crate::restore::restore(&settings),
    )
}

/// `test --python A --python B …`: each interpreter's build proven in its own venv, then its
/// tests run and proven there, one table for all.
fn several(
    settings: &DevSettings,
    pytest_args: &[OsString],
    json: bool,
    watch: bool,
) -> Result<ExitStatus> {
    let plan = pythons::plan(settings)?;
    let once = |restore: bool| -> Result<(ExitStatus, Vec<pythons::Row>)> {
        let rows = pythons::run_each(&plan, restore, |developed| {
            let tested = run_tests(developed, pytest_args, json, None)?;
            Ok(StepOutcome {
                status: Some(tested.status),
                loaded_in_tests: Some(tested.holds),
                tests: tested.counts.map(|counts| pythons::Tests {
                    passed: counts.passed,
                    failed: counts.failed,
                    errors: counts.errors,
                    skipped: counts.skipped,
                }),
                command_exit_code: None,
                report: Some(tested.report),
            })
        })?;
        let status = pythons::report(&plan, &rows, Extra::Tests, json)?;
        Ok((status, rows))
    };
    if !watch {
        return once(false).map(|(status, _)| status);
    }
    let scope = || pipeline::watch_scope(&project::discover(&settings.project)?, true);
    crate::watch::run(
        scope()?,
        scope,
        |_changed| Ok(pythons::cycle_of(&once(true)?.1)),
        // Each interpreter's venv was put back by `run_each` as its run failed.
        || Ok(None),
    )
}

/// What one pytest run found: the exit status `test` ends with, pytest's counts, whether the
/// test process loaded the proven build, and the `--json` report.
struct Tested {
    status: ExitStatus,
    counts: Option<Counts>,
    holds: bool,
    report: serde_json::Value,
}

/// Whether `changed` leaves `developed` the build it is: no Rust input among them, and Python
/// sources of the package only when they are installed editable (live).
fn tests_only(developed: &Developed, changed: &[std::path::PathBuf]) -> bool {
    let rust = developed.project.build_inputs();
    let package = developed.project.python_package();
    let editable = developed.receipt.editable.is_some();
    changed.iter().all(|path| {
        let in_package = package
            .as_ref()
            .is_some_and(|package| path.starts_with(package));
        !rust.contains(path) && (editable || !in_package)
    })
}

/// pytest with the plugin, run from the Python project root with the venv activated.
fn pytest(
    project: &Project,
    venv: &Venv,
    plugin: &Plugin,
    pytest_args: &[OsString],
) -> Result<Cmd> {
    let command = Cmd::new(&venv.python)
        .args(["-m", "pytest", "-p", PLUGIN_MODULE])
        .args(pytest_args)
        .dir(project.pyproject_dir());
    plugin.load_into(venv.activated(command)?)
}

fn stdout(json: bool) -> Stdout {
    if json {
        Stdout::ToStderr
    } else {
        Stdout::Inherit
    }
}

/// pytest started while `dev` runs, waiting for the proof ([`Ahead`]), when the venv has pytest.
fn start_ahead(
    project: &Project,
    venv: &Venv,
    pytest_args: &[OsString],
    json: bool,
) -> Option<Ahead> {
    if venv.installed_distributions("pytest").is_empty() {
        return None;
    }
    let plugin = Plugin::prepare().ok()?;
    let command = pytest(project, venv, &plugin, pytest_args).ok()?;
    Ahead::start(plugin, command, stdout(json))
}

/// pytest with the in-process proof, against a proven `dev` (through the pytest started ahead of
/// it, when there is one); with `json`, pytest's output goes to stderr, leaving stdout to the
/// report the caller prints.
fn run_tests(
    developed: &Developed,
    pytest_args: &[OsString],
    json: bool,
    ahead: Option<Ahead>,
) -> Result<Tested> {
    let Developed {
        project,
        venv,
        installer,
        receipt,
        lock,
    } = developed;
    let modules: Vec<&str> = receipt
        .extensions
        .iter()
        .map(|extension| extension.module.as_str())
        .collect();
    let root = project.pyproject_dir();
    let running = |command: &dyn std::fmt::Display| {
        output::status("Running", format!("`{command}` in `{}`", root.display()))
    };
    let could_not_run = |error: crate::process::ProcessError| {
        user_error(
            error.to_string(),
            format!("check that `{}` runs", venv.python.display()),
        )
    };
    let (plugin, pytest_status) = match ahead {
        Some(ahead) => {
            running(&ahead.command());
            ahead.run(&modules).map_err(could_not_run)?
        }
        None => {
            requirements::ensure_pytest(project, venv, installer, lock.as_ref())?;
            let plugin = Plugin::prepare()?;
            plugin.request(&modules)?;
            let command = pytest(project, venv, &plugin, pytest_args)?;
            running(&command);
            let status = command.run_attached(stdout(json)).map_err(could_not_run)?;
            (plugin, status)
        }
    };

    let (report, workers) = plugin.reports()?;
    // Where the tests ran: the xdist workers when there are any, else pytest's own process.
    let ran_tests: Vec<&PluginReport> = if workers.is_empty() {
        report.iter().collect()
    } else {
        workers.iter().collect()
    };
    let proofs: Vec<ModuleProof> = match ran_tests.as_slice() {
        [] => receipt
            .extensions
            .iter()
            .map(|extension| verdict::judge(extension, None))
            .collect(),
        reports => reports
            .iter()
            .flat_map(|report| {
                receipt
                    .extensions
                    .iter()
                    .map(|extension| verdict::judge(extension, Some(report)))
            })
            .collect(),
    };
    let holds = report.is_some() && proofs.iter().all(|proof| proof.holds);
    let status = verdict::conclude(
        project,
        receipt,
        pytest_status,
        report.as_ref(),
        &proofs,
        !pytest_args.is_empty(),
    );
    let counts = report.as_ref().map(|report| report.counts.clone());
    let test_report = TestReport {
        receipt,
        pytest: PytestOutcome {
            exit_code: pytest_status.code(),
            signal: crate::platform::signal(pytest_status),
            counts: counts.clone(),
            sys_path: report.as_ref().map(|report| report.sys_path.clone()),
        },
        proof: InProcessProof {
            holds,
            modules: proofs,
        },
    };
    Ok(Tested {
        status,
        counts,
        holds,
        report: serde_json::to_value(&test_report)?,
    })
}
