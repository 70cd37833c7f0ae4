//! Installing into the venv, with the installer the toolchain chose (uv when on PATH, else the
//! venv's pip): the wheel just built, always with `--no-deps` and as a real reinstall, so the
//! files on disk are the wheel's, never a cached copy; and the requirements the project declares
//! (or pytest for `test`), with their dependencies. Never by writing into site-packages
//! ourselves (uv hardlinks installed files into its cache: an installed `.so` measured with link
//! count 2, the same inode as the cache's).

use std::path::Path;

use anyhow::Result;

use crate::failure::user_error;
use crate::toolchain::Installer;
use crate::venv::Venv;

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
    installer: &Installer,
    distribution: &str,
) -> Result<()> {
    let mut command = installer.install_command(venv).arg("--no-deps");
    command = match installer {
        Installer::Uv { .. } if installed_from(venv, distribution, wheel) => {
            command.arg("--reinstall")
        }
        Installer::Uv { .. } => command,
        Installer::Pip { .. } => command.args(["--force-reinstall", "--no-cache-dir"]),
    };
    let captured = command.arg(wheel).run_captured().map_err(|error| {
        user_error(
            format!(
                "failed to install the wheel into `{}`: {error}",
                venv.root.display()
            ),
            "run `cargo pyo3 dev` again; if it fails the same way, run the command above by hand",
        )
    })?;
    verbose_output(&captured.stderr);
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

/// Installs requirements (the project's runtime dependencies, or pytest for `test`), with their
/// own dependencies, into the venv with the installer that installs the wheel. `what` names them
/// in the error, and `hint` says what to do about a failure.
pub(crate) fn install_requirements(
    requirements: &[String],
    venv: &Venv,
    installer: &Installer,
    what: &str,
    hint: &str,
) -> Result<()> {
    install_with(requirements, &[], venv, installer, what, hint)
}

/// Installs requirements pinned by a lockfile, each exactly as pinned and none of their
/// dependencies beyond the lock's (`--no-deps`: the lock lists them all).
pub(crate) fn install_pinned(
    requirements: &[String],
    venv: &Venv,
    installer: &Installer,
    what: &str,
    hint: &str,
) -> Result<()> {
    install_with(requirements, &["--no-deps"], venv, installer, what, hint)
}

fn install_with(
    requirements: &[String],
    flags: &[&str],
    venv: &Venv,
    installer: &Installer,
    what: &str,
    hint: &str,
) -> Result<()> {
    let command = installer
        .install_command(venv)
        .args(flags)
        .args(requirements);
    let captured = command.run_captured().map_err(|error| {
        user_error(
            format!(
                "failed to install {what} into `{}`: {error}",
                venv.root.display()
            ),
            hint,
        )
    })?;
    verbose_output(&captured.stderr);
    Ok(())
}

/// What the installer said, under `-v`.
fn verbose_output(stderr: &str) {
    let said = stderr.trim_end();
    if !said.is_empty() {
        crate::output::verbose(said);
    }
}
