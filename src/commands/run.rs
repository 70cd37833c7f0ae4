//! `cargo pyo3 run -- COMMAND`: `dev`, then the command in the activated venv, attached to the
//! terminal, its exit code passed through. The safe replacement for `uv run`, which syncs the venv
//! and can put a stale cached build back (docs/uv.md).

use std::ffi::OsString;

use anyhow::Result;

use crate::cli::RunArgs;
use crate::failure::{ExitStatus, user_error};
use crate::pipeline;
use crate::process::{self, Cmd, ProcessError, Stdout};
use crate::pythons::{self, Extra, StepOutcome};
use crate::settings::DevSettings;

pub(crate) fn run(args: RunArgs) -> Result<ExitStatus> {
    let RunArgs { dev, command } = args;
    if dev.json {
        return Err(user_error(
            "`--json` is not available with `run`: stdout belongs to the command",
            "print the receipt with `cargo pyo3 dev --json`, then run the command with \
             `cargo pyo3 run -- …` (with nothing changed, the build is proven again, not rebuilt)",
        ));
    }
    if dev.watch {
        return Err(user_error(
            "`--watch` is not available with `run`: the command owns the terminal",
            "watch with `cargo pyo3 dev --watch` or `cargo pyo3 test --watch`, and run the \
             command in another terminal with `cargo pyo3 run -- …`",
        ));
    }
    let (program, arguments) = command
        .split_first()
        .expect("clap requires at least one word after `--`");
    let settings = DevSettings::resolve(dev);
    if pythons::several(&settings.pythons) {
        // The command once in each interpreter's venv, in turn; the table says how each ended.
        let plan = pythons::plan(&settings)?;
        let rows = pythons::run_each(&plan, false, |developed| {
            let status = run_in(developed, program, arguments)?;
            Ok(StepOutcome {
                status: Some(status),
                command_exit_code: Some(status.code()),
                ..StepOutcome::default()
            })
        })?;
        return pythons::report(&plan, &rows, Extra::Command, false);
    }
    let (status, developed) = pipeline::develop(settings)?;
    let Some(developed) = developed else {
        return Ok(status);
    };
    run_in(&developed, program, arguments)
}

/// The command in the proven build's venv, attached to the terminal; its exit code passed through.
fn run_in(
    developed: &pipeline::Developed,
    program: &OsString,
    arguments: &[OsString],
) -> Result<ExitStatus> {
    let command = developed.venv.activated(Cmd::new(program))?.args(arguments);
    match command.run_attached(Stdout::Inherit) {
        Ok(status) => Ok(ExitStatus::External(process::shell_code(status))),
        Err(error @ ProcessError::CouldNotExecute { .. }) => Err(user_error(
            error.to_string(),
            format!(
                "check the spelling; programs installed into the venv are in `{}`",
                developed.venv.scripts_dir().display()
            ),
        )),
        Err(error) => Err(error.into()),
    }
}
