//! `cargo pyo3 run -- COMMAND`: `dev`, then the command in the activated venv, attached to the
//! terminal, its exit code passed through. The safe replacement for `uv run`, which syncs the venv
//! and can put a stale cached build back (docs/uv.md).

use anyhow::Result;

use crate::cli::RunArgs;
use crate::commands::dev;
use crate::output::{ExitStatus, user_error};
use crate::process::{self, Cmd, ProcessError, Stdout};
use crate::settings::DevSettings;
use crate::venv::Venv;

pub(crate) fn run(args: RunArgs) -> Result<ExitStatus> {
    let RunArgs { dev, command } = args;
    if dev.json {
        return Err(user_error(
            "`--json` is not available with `run`: stdout belongs to the command",
            "print the receipt with `cargo pyo3 dev --json`, then run the command with \
             `cargo pyo3 run --no-clean -- …` (the build is proven again, not rebuilt)",
        ));
    }
    if dev.watch {
        return Err(user_error(
            "`--watch` is not available with `run`: the command owns the terminal",
            "watch with `cargo pyo3 dev --watch` or `cargo pyo3 test --watch`, and run the \
             command in another terminal with `cargo pyo3 run --no-clean -- …`",
        ));
    }
    let (program, arguments) = command
        .split_first()
        .expect("clap requires at least one word after `--`");
    let (status, developed) = dev::develop(DevSettings::resolve(dev))?;
    let Some(developed) = developed else {
        return Ok(status);
    };
    let command = activated(Cmd::new(program), &developed.venv)?.args(arguments);
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

/// `command` with the venv activated as `bin/activate` does it: `VIRTUAL_ENV` set, the venv's
/// `bin/` first on `PATH`, `PYTHONHOME` unset. A bare program name is then looked up on that
/// `PATH` (std's `Command` searches the child's `PATH` when it is set), so `python` is the venv's.
pub(crate) fn activated(command: Cmd, venv: &Venv) -> Result<Cmd> {
    let bin = venv.scripts_dir();
    let inherited = std::env::var_os(crate::env::PATH).unwrap_or_default();
    let path =
        std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(&inherited)))
            .map_err(|error| {
                user_error(
                    format!("cannot put `{}` on `PATH`: {error}", bin.display()),
                    "move the venv to a path without `:` in it",
                )
            })?;
    Ok(command
        .env(crate::env::VIRTUAL_ENV, &venv.root)
        .env(crate::env::PATH, path)
        .env_remove(crate::env::PYTHONHOME))
}
