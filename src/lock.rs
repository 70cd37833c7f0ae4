//! One `dev` at a time per package: an advisory file lock in the package's state directory, so
//! two runs in one project cannot interleave a clean, a build and an install. Waiting for it
//! polls, so that Ctrl-C ends the wait (see [`process::INTERRUPT_POLL`]).

use std::fs::TryLockError;
use std::path::Path;

use anyhow::{Context, Result};
use fs_err::File;

use crate::output;

use crate::failure::user_error;
use crate::process;

/// Held for the lifetime of the value; the OS releases it when the process ends, however it ends.
pub(crate) struct ProjectLock {
    _file: File,
}

pub(crate) fn acquire(path: &Path, wait: bool) -> Result<ProjectLock> {
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir).map_err(|error| {
            user_error(
                format!(
                    "cannot use the target directory `{}`: {error}",
                    dir.parent().unwrap_or(dir).display()
                ),
                "point `--target-dir` (or `CARGO_TARGET_DIR`) at a writable directory",
            )
        })?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("failed to open the lock file `{}`", path.display()))?;
    match file.try_lock() {
        Ok(()) => return Ok(ProjectLock { _file: file }),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("failed to lock `{}`", path.display()));
        }
    }
    if !wait {
        return Err(user_error(
            format!(
                "another `cargo pyo3 dev` is running for this package (lock `{}`)",
                path.display()
            ),
            "wait for it to finish, or run without `--no-wait` to wait for it",
        ));
    }
    let waiting = format!(
        "for another `cargo pyo3 dev` to finish (lock `{}`)",
        path.display()
    );
    output::status("Waiting", &waiting);
    loop {
        if process::interrupted() {
            return Err(process::interrupted_while(&format!("waiting {waiting}")));
        }
        match file.try_lock() {
            Ok(()) => return Ok(ProjectLock { _file: file }),
            Err(TryLockError::WouldBlock) => std::thread::sleep(process::INTERRUPT_POLL),
            Err(TryLockError::Error(error)) => {
                return Err(error).with_context(|| format!("failed to lock `{}`", path.display()));
            }
        }
    }
}
