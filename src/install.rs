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
use crate::{output, process};

/// uv, started while the wheel is built and blocked reading its one requirement, the wheel's
/// path, from stdin (`-r -`): its own start, about half of a small wheel's install when it
/// runs after the build (measured 15 against 31 ms, docs/performance.md), runs beside the build.
/// It has taken no lock on the venv while it waits (uv takes it after reading its requirements),
/// so the runtime dependencies can still be installed first. Dropped unused, it is killed
/// before it has read anything.
pub(crate) struct Started(process::Awaiting);

/// Starts the install of the wheel this run will keep under `state_dir`, when the installer is
/// uv and such a path can be written as a requirements line as it is.
pub(crate) fn start(venv: &Venv, installer: &Installer, state_dir: &Path) -> Option<Started> {
    let Installer::Uv { .. } = installer else {
        return None;
    };
    requirement_line(state_dir)?;
    let command = installer
        .install_command(venv)
        .args(["--no-deps", "-r", "-"]);
    match command.start_awaiting_input() {
        Ok(awaiting) => Some(Started(awaiting)),
        Err(error) => {
            output::verbose(format_args!("uv not started before the build: {error}"));
            None
        }
    }
}

/// `path` as a line of a requirements file that reads back as this very path: absolute, and
/// without the characters that file format gives a meaning (`#` a comment, `;` markers, `%` and
/// quotes, a line break, a leading `-` an option). Else the wheel is given as an argument.
fn requirement_line(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    let plain = text.starts_with('/')
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || "/._-+@~=, ".contains(c));
    plain.then(|| format!("{text}\n"))
}

/// Installs `wheel`, kept at a path named by its hash (see [`crate::wheel_store`]), through the
/// uv [`start`] started when there is one.
///
/// uv gets `--reinstall` only when the venv's `distribution` already came from this very file:
/// a wheel URL that differs from the installed distribution's always makes uv uninstall it and
/// install the wheel (measured with uv 0.13.8, docs/dev.md), while `--reinstall` also makes uv
/// query the interpreter again, about 40 ms a run (docs/performance.md). The same URL comes back
/// when a rebuild produced a byte-identical wheel; then the files on disk are put back anyway, so
/// a hand-edited install never survives (and a started uv, which has no `--reinstall`, is not
/// used). The proof hashes what Python loads, so an install that kept old files would fail the
/// proof, never pass it.
pub(crate) fn install(
    wheel: &Path,
    venv: &Venv,
    installer: &Installer,
    distribution: &str,
    started: Option<Started>,
) -> Result<()> {
    let reinstall =
        matches!(installer, Installer::Uv { .. }) && installed_from(venv, distribution, wheel);
    let command = installer.install_command(venv).arg("--no-deps");
    let command = match installer {
        Installer::Uv { .. } if reinstall => command.arg("--reinstall"),
        Installer::Uv { .. } => command,
        Installer::Pip { .. } => command.args(["--force-reinstall", "--no-cache-dir"]),
    }
    .arg(wheel);
    // Unused, it is killed here, before another uv starts.
    let started = started.filter(|_| !reinstall).zip(requirement_line(wheel));
    let captured = match started {
        Some((Started(awaiting), line)) => awaiting.finish(line.as_bytes()),
        None => command.run_captured(),
    }
    .map_err(|error| {
        user_error(
            format!(
                "failed to install the wheel into `{}`: {error}",
                venv.root.display()
            ),
            format!(
                "run `cargo pyo3 dev` again; if it fails the same way, run `{command}` by hand"
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_absolute_path_is_a_requirements_line_as_it_is() {
        let path = "/home/me/My Projects/target/cargo-pyo3/hello-8c1e66bd/wheels/29b2358c7a96817c/\
                    hello-0.1.0+local-cp311-cp311-linux_x86_64.whl";
        assert_eq!(requirement_line(Path::new(path)), Some(format!("{path}\n")));
    }

    #[test]
    fn a_path_the_requirements_format_reads_otherwise_is_given_as_an_argument() {
        for path in [
            "target/wheels/x.whl",
            "/a#b/x.whl",
            "/a #b/x.whl",
            "/a;b/x.whl",
            "/a%20b/x.whl",
            "/a'b/x.whl",
            "/a\"b/x.whl",
            "/a\nb/x.whl",
            "/a\\b/x.whl",
        ] {
            assert_eq!(requirement_line(Path::new(path)), None, "{path:?}");
        }
    }
}
