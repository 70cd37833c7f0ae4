//! `cargo pyo3 doctor` (not written yet).

use crate::cli::DoctorArgs;
use crate::output::ExitStatus;

pub(crate) fn run(_args: DoctorArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("`cargo pyo3 doctor` is not implemented yet")
}
