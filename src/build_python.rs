//! The interpreter maturin builds with: a venv of this tool's own, made from the user's venv's
//! base interpreter, with nothing installed.
//!
//! maturin starts the interpreter it is given three times a build (its platform, whether it is
//! cross-compiling, its metadata) and hands its path to pyo3's build script as `PYO3_PYTHON`.
//! The base interpreter runs every `.pth` file of its own site-packages on each start (on this
//! machine one that imports `certifi`: 40–55 ms a start); a venv's python runs only the venv's.
//! The user's venv cannot be the one: pyo3 recompiles whenever `PYO3_PYTHON` changes, and that
//! venv is moved, recreated and swapped with `--venv`. This one lives at a path named by the base
//! interpreter's, under the target directory whose builds it configures, so it stays put as long
//! as the builds do.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::venv::{Venv, VenvOrigin};

/// The python of the build venv for `base` under `target_dir`, made now if it is missing or no
/// longer stands for `base`; `base` itself when no venv can be made there (the build is the same,
/// its start only slower).
pub(crate) fn for_build(target_dir: &Path, base: &Path, uv: Option<&Path>) -> PathBuf {
    let root = root(target_dir, base);
    if let Some(python) = usable(&root, base) {
        return python;
    }
    match create(&root, base, uv) {
        Ok(python) => python,
        Err(error) => {
            crate::output::verbose(format_args!(
                "maturin builds with `{}` itself: no venv for it could be made at `{}`: {error:#}",
                base.display(),
                root.display()
            ));
            base.to_path_buf()
        }
    }
}

/// `<target_dir>/cargo-pyo3/build-python/<the first 16 hex digits of sha256(base)>`.
fn root(target_dir: &Path, base: &Path) -> PathBuf {
    let digest = format!("{:x}", Sha256::digest(base.as_os_str().as_encoded_bytes()));
    target_dir
        .join("cargo-pyo3")
        .join("build-python")
        .join(&digest[..16])
}

/// The venv's python, when the venv at `root` is whole and stands for `base`.
fn usable(root: &Path, base: &Path) -> Option<PathBuf> {
    let venv = Venv::open(root, VenvOrigin::Created).ok()?;
    // Both canonical: on Windows `pyvenv.cfg` names the base as written, not as resolved.
    let stands_for = fs_err::canonicalize(venv.base_interpreter()).ok()?;
    (venv.python.is_file() && stands_for == fs_err::canonicalize(base).ok()?).then_some(venv.python)
}

/// Makes the venv at `root`. One there that no longer stands for `base` (the interpreter moved or
/// was removed) is ours to replace; one that does was put there meanwhile by another run sharing
/// the target directory, whose build may be using it.
fn create(root: &Path, base: &Path, uv: Option<&Path>) -> Result<PathBuf> {
    if root.symlink_metadata().is_ok() {
        if let Some(python) = usable(root, base) {
            return Ok(python);
        }
        fs_err::remove_dir_all(root)?;
    }
    crate::venv::make_own(root, base, uv, false, |_| Ok(()))?;
    crate::output::verbose(format_args!(
        "made `{}` from `{}` for maturin to build with",
        root.display(),
        base.display()
    ));
    usable(root, base).context("the venv made for the build does not run its interpreter")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real interpreter on this machine, resolved past pyenv's shims.
    fn base() -> PathBuf {
        let python = which::which("python3").expect("python3 on PATH");
        let found = crate::interpreter::probe(&python, "PATH").expect("python3 answers");
        fs_err::canonicalize(found.executable).unwrap()
    }

    #[test]
    fn the_build_venv_is_made_once_and_kept_and_replaced_when_it_stands_for_another_python() {
        let target = tempfile::tempdir().unwrap();
        let base = base();
        let python = for_build(target.path(), &base, None);
        assert_ne!(python, base, "a venv's python, not the base itself");
        assert!(python.starts_with(target.path().join("cargo-pyo3/build-python")));
        assert_eq!(fs_err::canonicalize(&python).unwrap(), base);
        // It runs, and as a venv's python: its executable is its own path, not the base's.
        let found = crate::interpreter::probe(&python, "the build venv").unwrap();
        assert_eq!(found.executable, python);

        // Kept: the same path, not made again.
        let cfg = python
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("pyvenv.cfg");
        let made = fs_err::metadata(&cfg).unwrap().modified().unwrap();
        assert_eq!(for_build(target.path(), &base, None), python);
        assert_eq!(fs_err::metadata(&cfg).unwrap().modified().unwrap(), made);

        // A venv at that path whose python stands for something else is replaced.
        let root = python.parent().unwrap().parent().unwrap().to_path_buf();
        fs_err::remove_file(&python).unwrap();
        assert_eq!(for_build(target.path(), &base, None), python);
        assert_eq!(fs_err::canonicalize(&python).unwrap(), base);
        assert!(root.join("pyvenv.cfg").is_file());
        let leftovers: Vec<_> = fs_err::read_dir(root.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no staging directory left: {leftovers:?}"
        );
    }

    #[test]
    fn without_a_venv_maturin_gets_the_base_interpreter() {
        let target = tempfile::tempdir().unwrap();
        // A file where the venvs' directory should be: nothing can be made there.
        fs_err::create_dir_all(target.path().join("cargo-pyo3")).unwrap();
        fs_err::write(target.path().join("cargo-pyo3/build-python"), "").unwrap();
        let base = base();
        assert_eq!(for_build(target.path(), &base, None), base);
    }
}
