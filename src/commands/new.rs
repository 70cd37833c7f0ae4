//! `cargo pyo3 new` and `init` (not written yet).

use crate::cli::{InitArgs, NewArgs};
use crate::output::ExitStatus;

pub(crate) fn run_new(_args: NewArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("`cargo pyo3 new` is not implemented yet")
}

pub(crate) fn run_init(_args: InitArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("`cargo pyo3 init` is not implemented yet")
}
