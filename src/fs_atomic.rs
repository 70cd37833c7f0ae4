//! The one way this tool replaces a file: write a temporary file in the target's directory, then
//! rename it over the target. A reader, or a crash, sees the old file or the new one, never half
//! of one; a process that has the old file open or mapped (an imported extension) keeps a valid
//! file, because a rename never truncates what it replaces (PyO3/maturin#758).

use std::fs::Permissions;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Replaces (or creates) `target` with what `write` writes, with `permissions` when given (a
/// temporary file is private to its owner otherwise).
pub(crate) fn replace(
    target: &Path,
    permissions: Option<Permissions>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = target
        .parent()
        .with_context(|| format!("`{}` has no parent directory", target.display()))?;
    let mut staged = tempfile::Builder::new()
        .prefix(".cargo-pyo3-")
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
    // Buffered: a serializer writes a receipt a few bytes at a time.
    let written = {
        let mut buffered = std::io::BufWriter::new(staged.as_file_mut());
        write(&mut buffered).and_then(|()| buffered.flush())
    };
    written
        .and_then(|()| staged.as_file().sync_all())
        .with_context(|| format!("failed to write `{}`", staged.path().display()))?;
    if let Some(permissions) = permissions {
        fs_err::set_permissions(staged.path(), permissions)?;
    }
    // On Windows a file a running process has loaded cannot be replaced: the seam says so.
    staged
        .persist(target)
        .map_err(|error| crate::platform::replace_error(target, error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("file.txt");
        fs_err::write(&target, "old").unwrap();
        let kept_open = fs_err::File::open(&target).unwrap();
        replace(&target, None, |out| out.write_all(b"new")).unwrap();
        assert_eq!(fs_err::read_to_string(&target).unwrap(), "new");
        // The old file lives on for whoever had it open: it was renamed over, not truncated.
        let mut old = String::new();
        std::io::Read::read_to_string(&mut &kept_open, &mut old).unwrap();
        assert_eq!(old, "old");
        let names: Vec<_> = fs_err::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
