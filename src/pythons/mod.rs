//! Several Pythons, one proof each (issue 24; docs/dev.md, "Several interpreters"): `--python`
//! repeated, as a range or as `all` is resolved to local interpreters and judged against the
//! project's `requires-python` and abi3 floor before anything is built (`interpreter/`);
//! then the pipeline runs once per interpreter, each in its own venv `.venv-3.X` beside the
//! project, its own target dir and so its own receipt, and a table reports what each loaded
//! (`table.rs`). The commands give the step that follows a proven build (pytest, a command).

mod table;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::failure::{ExitStatus, Failure, user_error};
use crate::pipeline::{self, Developed};
use crate::settings::DevSettings;
use crate::venv::{CreatedWith, InterpreterVenv};
use crate::{outcome, output, process, project};

pub(crate) use crate::interpreter::several;
pub(crate) use table::{Extra, Row, Tests, Verdict};

use crate::interpreter::{self, Admission, Interpreter, Minor, Places, Request};

/// One interpreter of the run, with the settings its pipeline runs with.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub(crate) interpreter: Interpreter,
    pub(crate) settings: DevSettings,
    /// The venv, as the table shows it.
    venv_shown: String,
}

/// Every interpreter of the run, in order, each found and admitted.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) runs: Vec<Planned>,
    project_dir: PathBuf,
    /// The module's name, for the result line.
    module: String,
}

/// The name of the venv of Python `minor`, beside the project: `.venv-3.12`.
pub(crate) fn venv_name(minor: Minor) -> String {
    format!(".venv-{minor}")
}

/// Resolves `settings.pythons` to interpreters and checks each against the project, before
/// anything is built: a missing interpreter names where it was looked for, an excluded one the
/// rule that excludes it; both are exit 2.
pub(crate) fn plan(settings: &DevSettings) -> Result<Plan> {
    if let Some(venv) = &settings.project.venv {
        return Err(user_error(
            format!(
                "`--venv {}` names one venv, but several `--python` interpreters each get their \
                 own",
                venv.display()
            ),
            "leave out `--venv`: each interpreter's venv is `.venv-3.X` beside the project; or \
             pass one `--python` to use that venv",
        ));
    }
    let project = project::discover(&settings.project)?;
    let admission = Admission::of(&project, &settings.build)?;
    let places = Places::of_this_machine();

    let mut chosen: Vec<(Interpreter, Request)> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    // The version to name in the hint, when the one missing is a version.
    let mut missing_minor: Option<Minor> = None;
    let mut refused: Vec<String> = Vec::new();
    let want = |interpreter: Interpreter,
                request: &Request,
                chosen: &mut Vec<(Interpreter, Request)>,
                refused: &mut Vec<String>| {
        match admission.refusal(&interpreter.version, interpreter.minor) {
            Some(reason) => refused.push(format!(
                "Python {} ({}, `{}`): {reason}",
                interpreter.version,
                request.describe(),
                interpreter.executable.display()
            )),
            None => chosen.push((interpreter, request.clone())),
        }
    };
    for value in &settings.pythons {
        let request = Request::parse(value)?;
        match &request {
            Request::Version(minor) => match places.find(*minor) {
                Some(interpreter) => want(interpreter, &request, &mut chosen, &mut refused),
                None => missing.push({
                    missing_minor.get_or_insert(*minor);
                    format!(
                        "Python {minor} ({}): looked for {}",
                        request.describe(),
                        places.looked_for(*minor)
                    )
                }),
            },
            Request::Range(low, high) => {
                for minor in low.minor..=high.minor {
                    let minor = Minor {
                        major: low.major,
                        minor,
                    };
                    match places.find(minor) {
                        Some(interpreter) => want(interpreter, &request, &mut chosen, &mut refused),
                        None => missing.push({
                            missing_minor.get_or_insert(minor);
                            format!(
                                "Python {minor} ({}): looked for {}",
                                request.describe(),
                                places.looked_for(minor)
                            )
                        }),
                    }
                }
            }
            Request::All => {
                for interpreter in places.find_all() {
                    match admission.refusal(&interpreter.version, interpreter.minor) {
                        Some(reason) => output::status(
                            "Skipping",
                            format_args!("Python {}: {reason}", interpreter.version),
                        ),
                        None => chosen.push((interpreter, request.clone())),
                    }
                }
            }
            Request::Named(name) => {
                let path = Path::new(name);
                let candidate = if path.components().count() > 1 {
                    Some(std::path::absolute(path)?)
                } else {
                    which::which(name).ok()
                };
                match candidate.and_then(|candidate| interpreter::probe(&candidate, name)) {
                    Some(interpreter) => want(interpreter, &request, &mut chosen, &mut refused),
                    None => missing.push(format!(
                        "{}: no interpreter answers at that path or as that command on PATH",
                        request.describe()
                    )),
                }
            }
        }
    }
    if !missing.is_empty() {
        return Err(user_error(
            format!(
                "{} not found on this machine:\n  {}",
                if missing.len() == 1 {
                    "an interpreter was"
                } else {
                    "interpreters were"
                },
                missing.join("\n  ")
            ),
            format!(
                "install it (`pyenv install {0}`, `uv python install {0}`, or your system's \
                 package), or leave it out of `--python`; `cargo pyo3` never downloads an \
                 interpreter",
                missing_minor
                    .map(|minor| minor.to_string())
                    .unwrap_or_else(|| "3.X".to_owned())
            ),
        ));
    }
    if !refused.is_empty() {
        return Err(user_error(
            format!(
                "the project cannot be built for {}:\n  {}",
                if refused.len() == 1 {
                    "this interpreter"
                } else {
                    "these interpreters"
                },
                refused.join("\n  ")
            ),
            "leave it out of `--python`, or change the rule that excludes it; nothing was built",
        ));
    }
    if chosen.is_empty() {
        return Err(user_error(
            "`--python all` found no local CPython the project admits",
            "install one (`pyenv install 3.X`, `uv python install 3.X`), or name an interpreter \
             with `--python PATH`",
        ));
    }

    // One venv per version: the same interpreter asked twice is one run, two others are a
    // conflict the user resolves.
    let mut runs: Vec<Planned> = Vec::new();
    for (interpreter, request) in chosen {
        if let Some(earlier) = runs
            .iter()
            .find(|run| run.interpreter.minor == interpreter.minor)
        {
            if earlier.interpreter.executable == interpreter.executable {
                continue;
            }
            return Err(user_error(
                format!(
                    "two interpreters of Python {} were asked for: `{}` and `{}`",
                    interpreter.minor,
                    earlier.interpreter.executable.display(),
                    interpreter.executable.display()
                ),
                format!(
                    "each version gets one venv, `{}`: pass one of them",
                    venv_name(interpreter.minor)
                ),
            ));
        }
        let name = venv_name(interpreter.minor);
        let mut settings = settings.clone();
        settings.python = None;
        settings.pythons = Vec::new();
        settings.json = false;
        // pyo3 is configured for the interpreter it builds against: in one target dir every
        // switch recompiles pyo3-ffi and pyo3 (2.3–2.9 s measured on 2 cores, even for an abi3
        // build whose wheel came out byte-identical), so each interpreter keeps its own.
        settings.project.target_dir = Some(
            project
                .target_dir
                .join(format!("python-{}", interpreter.minor)),
        );
        settings.venv_of = Some(InterpreterVenv {
            first: runs.is_empty(),
            root: project.project_dir.join(&name),
            minor: interpreter.minor.to_string(),
            created_with: CreatedWith {
                interpreter: interpreter.executable.clone(),
                reason: format!(
                    "{}: Python {} ({})",
                    request.describe(),
                    interpreter.version,
                    interpreter.found
                ),
            },
        });
        runs.push(Planned {
            interpreter,
            settings,
            venv_shown: name,
        });
    }
    Ok(Plan {
        runs,
        project_dir: project.project_dir,
        module: project.module_name,
    })
}

/// What a command did after the pipeline proved an interpreter's build.
#[derive(Debug, Default)]
pub(crate) struct StepOutcome {
    pub(crate) status: Option<ExitStatus>,
    /// `test`: whether the test process loaded the proven build.
    pub(crate) loaded_in_tests: Option<bool>,
    pub(crate) tests: Option<Tests>,
    /// `run`: the command's exit code.
    pub(crate) command_exit_code: Option<u8>,
    /// What `--json` shows for this interpreter (the receipt, or `test`'s report).
    pub(crate) report: Option<serde_json::Value>,
}

/// Runs the pipeline, then `step`, for each interpreter in turn, and returns one row each. An
/// interpreter that fails does not stop the others (its error is printed as it happens); an
/// interrupt, or the uv guard's refusal (which is the project's, the same for every interpreter),
/// stops the run. With `restore`, a failure after an interpreter's install began puts that
/// venv's last proven build back, as `--watch` does for one venv.
pub(crate) fn run_each(
    plan: &Plan,
    restore: bool,
    mut step: impl FnMut(&Developed) -> Result<StepOutcome>,
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for planned in &plan.runs {
        let interpreter = &planned.interpreter;
        output::status(
            "Python",
            format_args!(
                "{} in `{}` (from `{}`)",
                interpreter.version,
                planned.venv_shown,
                interpreter.executable.display()
            ),
        );
        let ran = pipeline::develop(planned.settings.clone()).and_then(|(status, developed)| {
            match developed {
                Some(developed) => {
                    let stepped = step(&developed)?;
                    Ok((status, Some(developed), stepped))
                }
                None => Ok((status, None, StepOutcome::default())),
            }
        });
        let row = match ran {
            Ok((status, developed, stepped)) => planned.row(status, developed.as_ref(), stepped),
            Err(error) => {
                if process::interrupted() || outcome::classify(&error) == Failure::Refused {
                    return Err(error);
                }
                let status = outcome::report(&error);
                planned.row(status, None, StepOutcome::default())
            }
        };
        if row.proof == Verdict::Proven {
            // This venv holds a proven build: the next interpreter's install starts afresh.
            outcome::install_settled();
        } else if restore && outcome::install_unsettled() {
            match crate::restore::restore(&planned.settings) {
                Ok(Some(sha256)) => output::status(
                    "Restored",
                    format_args!(
                        "the proven build `{}` in `{}`",
                        output::short_hash(&sha256),
                        planned.venv_shown
                    ),
                ),
                Ok(None) => {}
                Err(error) if process::interrupted() => return Err(error),
                Err(error) => output::report_error(&error),
            }
            outcome::install_settled();
        }
        rows.push(row);
    }
    Ok(rows)
}

impl Planned {
    fn row(&self, status: ExitStatus, developed: Option<&Developed>, stepped: StepOutcome) -> Row {
        let receipt = developed.map(|developed| &developed.receipt);
        let status = stepped.status.unwrap_or(status);
        let venv = self
            .settings
            .venv_of
            .as_ref()
            .map(|venv| venv.root.clone())
            .unwrap_or_default();
        let proof = match (developed, status, stepped.loaded_in_tests) {
            (Some(_), _, Some(false)) => Verdict::NotLoadedInTests,
            (Some(_), _, _) => Verdict::Proven,
            (None, ExitStatus::CheckFailed, _) => Verdict::Failed,
            (None, _, _) => Verdict::Error,
        };
        Row {
            python: self.interpreter.version.clone(),
            interpreter: self.interpreter.executable.clone(),
            venv,
            venv_shown: self.venv_shown.clone(),
            wheel_tag: receipt.and_then(|receipt| table::wheel_tag(&receipt.wheel.file_name)),
            sha256: receipt
                .and_then(|receipt| receipt.extensions.first())
                .and_then(|extension| extension.loaded_sha256.clone()),
            proof,
            reused: receipt.is_some_and(|receipt| receipt.reused),
            tests: stepped.tests,
            command_exit_code: stepped.command_exit_code,
            exit_code: status.code(),
            receipt: developed
                .map(|developed| crate::receipt::path(&developed.project.state_dir())),
            report: stepped
                .report
                .or_else(|| receipt.and_then(|receipt| serde_json::to_value(receipt).ok())),
        }
    }
}

/// Prints the table and the verdict under it, and returns the run's exit status: the table is
/// the result, so `--quiet` shows it too. With `json`, the rows go to stdout as well.
pub(crate) fn report(plan: &Plan, rows: &[Row], extra: Extra, json: bool) -> Result<ExitStatus> {
    let status = table::overall(rows);
    let mut text = Vec::new();
    table::render(rows, extra, &mut text)?;
    output::line("");
    output::block(&String::from_utf8_lossy(&text));
    let failed: Vec<&Row> = rows.iter().filter(|row| !row.succeeded()).collect();
    if failed.is_empty() {
        let (verb, what) = match extra {
            Extra::None => ("Proven", "each in its own venv"),
            Extra::Tests => (
                "Tested",
                "each proven in its own venv and in its test process, every test passed",
            ),
            Extra::Command => (
                "Ran",
                "each against its proven build, and the command succeeded",
            ),
        };
        output::result(
            verb,
            format_args!("`{}` on {} interpreters: {what}", plan.module, rows.len()),
        );
    } else {
        for row in &failed {
            let why = match (extra, row.proof, &row.tests, row.command_exit_code) {
                (_, Verdict::Error, ..) => {
                    format!("failed before its proof (exit {})", row.exit_code)
                }
                (_, Verdict::Failed, ..) => "the proof failed".to_owned(),
                (_, Verdict::NotLoadedInTests, ..) => {
                    "the test process did not load the proven build".to_owned()
                }
                (Extra::Tests, _, Some(tests), _) if tests.failed + tests.errors > 0 => {
                    format!("tests failed ({})", tests.describe())
                }
                (Extra::Command, _, _, Some(code)) => format!("the command exited with {code}"),
                _ => format!("exit {}", row.exit_code),
            };
            output::error(format_args!(
                "Python {} (`{}`): {why}",
                row.python, row.venv_shown
            ));
        }
        output::line("");
        output::hint(format_args!(
            "each interpreter's own output is above its `Python` line; to run one alone, name it \
             as a range of one, which keeps its venv: `--python {0}-{0}`",
            Minor::of_version(&failed[0].python)
                .map(|minor| minor.to_string())
                .unwrap_or_else(|| failed[0].python.clone())
        ));
    }
    if json {
        output::json(&serde_json::json!({
            "project_root": plan.project_dir,
            "exit_code": status.code(),
            "pythons": rows,
        }))?;
    }
    Ok(status)
}

/// How a `--watch` cycle over several interpreters ended, for its line: proven when every
/// interpreter is (the hash shown is the first's; the table above has each).
pub(crate) fn cycle_of(rows: &[Row]) -> crate::watch::Cycle {
    let failed: Vec<&str> = rows
        .iter()
        .filter(|row| !row.succeeded())
        .map(|row| row.python.as_str())
        .collect();
    let all: Vec<&str> = rows.iter().map(|row| row.python.as_str()).collect();
    if failed.is_empty() {
        crate::watch::Cycle {
            result: format!(
                "proven on Python {} (the table above), the first",
                all.join(", ")
            ),
            proven: rows.first().and_then(|row| row.sha256.clone()),
        }
    } else {
        crate::watch::Cycle {
            result: format!("failed on Python {} (the table above)", failed.join(", ")),
            proven: None,
        }
    }
}
