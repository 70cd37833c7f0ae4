//! Names of every environment variable the tool reads or sets, in one place.

pub(crate) const CARGO: &str = "CARGO";
pub(crate) const CARGO_TARGET_DIR: &str = "CARGO_TARGET_DIR";
pub(crate) const VIRTUAL_ENV: &str = "VIRTUAL_ENV";
pub(crate) const NO_COLOR: &str = "NO_COLOR";
pub(crate) const PATH: &str = "PATH";
/// Set by uv-created shells; a stale value must not leak into the venv python we start.
pub(crate) const PYTHONPATH: &str = "PYTHONPATH";
pub(crate) const PYTHONHOME: &str = "PYTHONHOME";
/// maturin reads it to pick an interpreter; we always pass `-i` instead.
pub(crate) const CONDA_PREFIX: &str = "CONDA_PREFIX";
/// Makes `uv run` skip its sync, so it keeps the build `dev` installed (ground-truth.md §5).
pub(crate) const UV_NO_SYNC: &str = "UV_NO_SYNC";
