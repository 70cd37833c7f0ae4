//! Installing one wheel into the venv: `uv pip install` when uv is available, else the venv's
//! pip. Always a real reinstall with `--no-deps`, so the files on disk are the wheel's, never a
//! cached copy; never by writing into site-packages ourselves (uv hardlinks installed files
//! into its cache: ground-truth.md §2).

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::output::user_error;
use crate::process::Cmd;
use crate::venv::Venv;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Installer {
    Uv,
    Pip,
}

/// Picks the installer: uv when on PATH, else the venv's pip, else a clear error.
pub(crate) fn choose(venv: &Venv, uv: Option<&Path>) -> Result<Installer> {
    if uv.is_some() {
        return Ok(Installer::Uv);
    }
    if venv.has_pip() {
        return Ok(Installer::Pip);
    }
    Err(user_error(
        format!(
            "cannot install into `{}`: the venv has no pip and uv is not on PATH",
            venv.root.display()
        ),
        format!(
            "install uv (`pip install uv`), or add pip to the venv: `{} -m ensurepip`",
            venv.python.display()
        ),
    ))
}

/// Installs `wheel`, kept at a path named by its hash (see [`crate::wheel_store`]).
///
/// uv gets `--reinstall` only when the venv's `distribution` already came from this very file:
/// a wheel URL that differs from the installed distribution's always makes uv uninstall it and
/// install the wheel (measured with uv 0.13.8, docs/dev.md), while `--reinstall` also makes uv
/// query the interpreter again, about 40 ms a run (docs/performance.md). The same URL comes back
/// when a rebuild produced a byte-identical wheel; then the files on disk are put back anyway, so
/// a hand-edited install never survives. The proof hashes what Python loads, so an install that
/// kept old files would fail the proof, never pass it.
pub(crate) fn install(
    wheel: &Path,
    venv: &Venv,
    installer: Installer,
    uv: Option<&Path>,
    distribution: &str,
) -> Result<()> {
    let command = match (installer, uv) {
        (Installer::Uv, Some(uv)) => {
            let mut command = Cmd::new(uv)
                .args(["pip", "install", "--python"])
                .arg(&venv.python)
                .arg("--no-deps");
            if installed_from(venv, distribution, wheel) {
                command = command.arg("--reinstall");
            }
            command.arg(wheel)
        }
        _ => Cmd::new(&venv.python)
            .args([
                "-m",
                "pip",
                "install",
                "--force-reinstall",
                "--no-deps",
                "--no-cache-dir",
            ])
            .args(["--disable-pip-version-check", "--no-input"])
            .arg(wheel),
    };
    let captured = command.run_captured().map_err(|error| {
        user_error(
            format!(
                "failed to install the wheel into `{}`: {error}",
                venv.root.display()
            ),
            "run `cargo pyo3 dev` again; if it fails the same way, run the command above by hand",
        )
    })?;
    let said = captured.stderr.trim_end();
    if !said.is_empty() {
        crate::output::verbose(said);
    }
    Ok(())
}

/// Whether an installed `distribution` names `wheel` in its `direct_url.json`.
fn installed_from(venv: &Venv, distribution: &str, wheel: &Path) -> bool {
    let Ok(wheel) = fs_err::canonicalize(wheel) else {
        return false;
    };
    venv.installed_distributions(distribution)
        .iter()
        .filter_map(|installed| url::Url::parse(installed.url.as_deref()?).ok())
        .filter_map(|url| url.to_file_path().ok())
        .any(|path| fs_err::canonicalize(path).is_ok_and(|path| path == wheel))
}

/// Installs requirements (`pytest`, a dependency group's entries) into the venv with the
/// installer `dev` chose, resolving their dependencies as usual.
pub(crate) fn install_requirements(
    requirements: &[String],
    venv: &Venv,
    installer: Installer,
    uv: Option<&Path>,
) -> Result<()> {
    let command = match (installer, uv) {
        (Installer::Uv, Some(uv)) => Cmd::new(uv)
            .args(["pip", "install", "--python"])
            .arg(&venv.python),
        _ => Cmd::new(&venv.python).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
        ]),
    };
    let command = command.args(requirements);
    let captured = command.run_captured().map_err(|error| {
        user_error(
            format!(
                "failed to install {} into `{}`: {error}",
                requirements.join(" "),
                venv.root.display()
            ),
            "install them into the venv yourself with the command above, then run again",
        )
    })?;
    let said = captured.stderr.trim_end();
    if !said.is_empty() {
        crate::output::verbose(said);
    }
    Ok(())
}
