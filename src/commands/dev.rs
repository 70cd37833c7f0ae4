//! `cargo pyo3 dev` (not written yet).

use crate::cli::DevArgs;
use crate::output::ExitStatus;

pub(crate) fn run(_args: DevArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("`cargo pyo3 dev` is not implemented yet")
}
