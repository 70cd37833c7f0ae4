//! `cargo pyo3 verify` (not written yet).

use crate::cli::VerifyArgs;
use crate::output::ExitStatus;

pub(crate) fn run(_args: VerifyArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("`cargo pyo3 verify` is not implemented yet")
}
