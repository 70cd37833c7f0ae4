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
pub(crate) const PATH: &str = "PATH";
/// Unset in an activated venv, as `bin/activate` does: it would point python at another prefix.
pub(crate) const PYTHONHOME: &str = "PYTHONHOME";
/// How the `test` plugin's directory reaches the test process's `sys.path`.
pub(crate) const PYTHONPATH: &str = "PYTHONPATH";
/// Names the request file the `test` plugin reads inside the test process (docs/test.md).
pub(crate) const PYTEST_PROOF_REQUEST: &str = "CARGO_PYO3_PYTEST_PROOF";
/// Names the FIFO a pytest started ahead of the proof waits on (src/commands/test/plugin.rs).
pub(crate) const PYTEST_PROOF_WAIT: &str = "CARGO_PYO3_PYTEST_PROOF_WAIT";
/// Where pyenv keeps its interpreters (`versions/<version>/bin/python3.X`); `~/.pyenv` when unset.
pub(crate) const PYENV_ROOT: &str = "PYENV_ROOT";
/// Where uv keeps the interpreters `uv python install` put there; else `$XDG_DATA_HOME/uv/python`.
pub(crate) const UV_PYTHON_INSTALL_DIR: &str = "UV_PYTHON_INSTALL_DIR";
pub(crate) const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
pub(crate) const HOME: &str = "HOME";

/// `variable`'s inherited value with `dir` in front, every inherited entry kept as it was.
pub(crate) fn with_first(
    variable: &str,
    dir: &std::path::Path,
) -> Result<std::ffi::OsString, std::env::JoinPathsError> {
    let inherited = std::env::var_os(variable).unwrap_or_default();
    std::env::join_paths(
        std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&inherited)),
    )
}
