//! The versions the project locked: when it has a `uv.lock` (beside `pyproject.toml` or at its uv
//! workspace root) and uv is on PATH, the runtime dependencies, extras and groups `dev` installs
//! are the lock's pins, exported with `uv export --locked` for the same selection and installed
//! with `--no-deps`. The project itself is never among them: it is the wheel just built.
//!
//! Nothing here writes to `uv.lock`. `uv export --locked` fails when the lock is out of date with
//! `pyproject.toml` (measured with uv 0.13.8: exit 1, "The lockfile at `uv.lock` needs to be
//! updated, but `--locked` was provided", the file byte-identical after); that earns one warning
//! naming `uv lock`, and the requirements are resolved as without a lock. `--frozen` is not used:
//! it exports a stale lock without a word.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::failure::user_error;
use crate::output;
use crate::process::{Cmd, ProcessError};
use crate::project::Project;
use crate::settings::Selection;
use crate::site_packages::normalize_name;

/// Where the versions of the installed requirements came from, as the receipt records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum VersionSource {
    /// Pinned by the project's lockfile, installed with `--no-deps`.
    Locked,
    /// Resolved by the installer from the requirements' ranges.
    Resolved,
}

/// The lock's pins for a selection: requirement lines (`name==version ; marker`), sorted.
#[derive(Debug, Clone)]
pub(crate) struct Pinned {
    /// The lockfile they came from.
    pub(crate) lockfile: PathBuf,
    pub(crate) requirements: Vec<String>,
}

/// The lock's pins for `selection`, or `None` when the versions are to be resolved: no
/// `uv.lock`, `--no-lock`, no uv on PATH, or a stale lock (the last two with a warning).
pub(crate) fn pinned(
    project: &Project,
    selection: &Selection,
    lockfile: Option<&Path>,
    uv: Option<&Path>,
) -> Result<Option<Pinned>> {
    let Some(lockfile) = lockfile else {
        return Ok(None);
    };
    let shown = project.relative(lockfile).display().to_string();
    let Some(uv) = uv else {
        output::warning(format_args!(
            "`{shown}` is not read because uv is not on PATH: the dependencies are resolved \
             afresh, not installed at the locked versions (install uv to use the lock, or pass \
             `--no-lock` to say you mean it)"
        ));
        return Ok(None);
    };
    let command = export_command(project, selection, uv);
    match command.run_captured() {
        Ok(captured) => {
            let mut requirements: Vec<String> = captured
                .stdout
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_owned)
                .collect();
            requirements.sort();
            requirements.dedup();
            Ok(Some(Pinned {
                lockfile: lockfile.to_path_buf(),
                requirements,
            }))
        }
        Err(ProcessError::Failed { stderr, .. }) if stale(&stderr) => {
            output::warning(format_args!(
                "`{shown}` is out of date with `pyproject.toml`, so the dependencies are resolved \
                 afresh instead of installed at the locked versions; `cargo pyo3` never writes \
                 the lock: run `uv lock` to update it"
            ));
            Ok(None)
        }
        Err(error) => Err(user_error(
            format!("could not read the versions locked in `{shown}`: {error}"),
            "fix what uv names above, or pass `--no-lock` to resolve the dependencies afresh",
        )),
    }
}

/// `uv export` of exactly what `dev` would install: the selected extras, and the selected groups
/// (the `dev` group by default when the project has one), never the project.
fn export_command(project: &Project, selection: &Selection, uv: &Path) -> Cmd {
    let mut command = Cmd::new(uv)
        .args([
            "export",
            "--locked",
            "--no-emit-project",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
            "--format",
            "requirements-txt",
            "--no-default-groups",
        ])
        .dir(&project.project_dir);
    for extra in &selection.extras {
        command = command.args(["--extra", extra]);
    }
    let groups: Vec<&String> = if selection.groups.is_empty() {
        project
            .requirements
            .groups
            .keys()
            .filter(|name| normalize_name(name) == "dev")
            .collect()
    } else {
        selection.groups.iter().collect()
    };
    for group in groups {
        command = command.args(["--group", group]);
    }
    command
}

/// Whether uv refused because the lock is out of date with the project.
fn stale(stderr: &str) -> bool {
    stderr.contains("needs to be updated")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_out_of_date_lock_is_stale() {
        assert!(stale(
            "error: The lockfile at `uv.lock` needs to be updated, but `--locked` was provided."
        ));
        assert!(!stale(
            "error: Failed to fetch: `https://pypi.org/simple/pytest/`"
        ));
    }
}
