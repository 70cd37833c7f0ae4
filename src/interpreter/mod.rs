//! Local interpreters for `--python`: what a value asks for (`request.rs`: `3.12`, `3.9-3.12`,
//! `all`, a path), where each is found, never downloaded (`discover.rs`), and whether the
//! project can be built for it (`admit.rs`: `requires-python`, the abi3 floor). Below the
//! pipeline, which uses it for one `--python 3.X`, and `pythons/`, which runs several.

mod admit;
mod discover;
mod request;

pub(crate) use admit::Admission;
pub(crate) use discover::{Interpreter, Places, probe};
pub(crate) use request::{Minor, Request, several};

use anyhow::Result;

use crate::failure::user_error;
use crate::venv::CreatedWith;

/// The interpreter of a new `.venv` for `--python 3.X` alone, found as several are: a pyenv
/// shim on PATH answers only for the versions pyenv has selected, so the version is looked up,
/// not the command.
pub(crate) fn for_new_venv(minor: Minor) -> Result<CreatedWith> {
    let places = Places::of_this_machine();
    let interpreter = places.find(minor).ok_or_else(|| {
        user_error(
            format!(
                "`--python {minor}`: no Python {minor} on this machine: looked for {}",
                places.looked_for(minor)
            ),
            format!(
                "install it (`pyenv install {minor}`, `uv python install {minor}`, or your \
                 system's package), or pass another interpreter with `--python`; `cargo pyo3` \
                 never downloads an interpreter"
            ),
        )
    })?;
    Ok(CreatedWith {
        reason: format!(
            "`--python {minor}` (Python {}, {})",
            interpreter.version, interpreter.found
        ),
        interpreter: interpreter.executable,
    })
}
