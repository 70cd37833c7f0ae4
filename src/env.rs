//! Names of every environment variable the tool reads or sets, in one place.

pub(crate) const CARGO: &str = "CARGO";
pub(crate) const CARGO_TARGET_DIR: &str = "CARGO_TARGET_DIR";
pub(crate) const VIRTUAL_ENV: &str = "VIRTUAL_ENV";
pub(crate) const NO_COLOR: &str = "NO_COLOR";
/// maturin reads it to pick an interpreter; we always pass `-i` instead.
pub(crate) const CONDA_PREFIX: &str = "CONDA_PREFIX";
/// Set by git hooks and some shells; they would point `git rev-parse` and `git init` at another
/// repository than the one a new project directory belongs to.
pub(crate) const GIT_DIR: &str = "GIT_DIR";
pub(crate) const GIT_WORK_TREE: &str = "GIT_WORK_TREE";
/// Makes `uv run` skip its sync, so it keeps the build `dev` installed: with uv 0.13.8 only this
/// and `--no-sync` did; `--frozen`, `--locked` and `--inexact` still reinstall (docs/uv.md).
pub(crate) const UV_NO_SYNC: &str = "UV_NO_SYNC";
