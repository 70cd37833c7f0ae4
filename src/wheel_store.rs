//! The wheels `dev` installs from, kept in the package's state directory under a path that
//! changes with their sha256: the installed distribution's `direct_url.json` names the file it
//! came from, and that file lives as long as the install it describes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

const WHEELS_DIR: &str = "wheels";

/// Moves the freshly built `wheel` to `<state_dir>/wheels/<sha256 prefix>/<file_name>` and
/// returns that path.
///
/// Moved, not copied: the build's temporary directory is removed right after, and a debug wheel
/// is megabytes to copy on every run. Across filesystems the move fails and it is copied through a
/// temporary file, so the kept wheel is never half written.
pub(crate) fn store(
    state_dir: &Path,
    wheel: &Path,
    file_name: &str,
    sha256: &str,
) -> Result<PathBuf> {
    let dir = state_dir
        .join(WHEELS_DIR)
        .join(&sha256[..sha256.len().min(16)]);
    fs_err::create_dir_all(&dir)?;
    let kept = dir.join(file_name);
    if fs_err::rename(wheel, &kept).is_err() {
        let mut source = fs_err::File::open(wheel)?;
        crate::fs_atomic::replace(&kept, None, |out| std::io::copy(&mut source, out).map(drop))
            .with_context(|| format!("failed to keep the wheel at `{}`", kept.display()))?;
    }
    Ok(kept)
}

/// Removes every kept wheel but those in `keep` (the one just installed, and the one the last
/// receipt names while a new install is not proven yet). Wheels of the layout before this one
/// (directly in the state directory) go too.
pub(crate) fn prune(state_dir: &Path, keep: &[&Path]) -> Result<()> {
    let is_kept = |path: &Path| {
        keep.iter()
            .any(|kept| kept.starts_with(path) || *kept == path)
    };
    let wheels = state_dir.join(WHEELS_DIR);
    if let Ok(entries) = fs_err::read_dir(&wheels) {
        for entry in entries.filter_map(|entry| entry.ok()) {
            let path = entry.path();
            if !is_kept(&path) {
                fs_err::remove_dir_all(&path)?;
            }
        }
    }
    if let Ok(entries) = fs_err::read_dir(state_dir) {
        for entry in entries.filter_map(|entry| entry.ok()) {
            let path = entry.path();
            if path.extension().is_some_and(|extension| extension == "whl") && !is_kept(&path) {
                fs_err::remove_file(&path)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_wheel_lives_under_its_hash_and_prune_keeps_what_it_is_told() {
        let state = tempfile::tempdir().unwrap();
        let build = tempfile::tempdir().unwrap();
        let name = "demo-0.1.0-cp311-cp311-linux_x86_64.whl";
        let mut stored = Vec::new();
        for (content, sha256) in [
            ("one", "aaaaaaaaaaaaaaaaffff"),
            ("two", "bbbbbbbbbbbbbbbbffff"),
        ] {
            let built = build.path().join(name);
            fs_err::write(&built, content).unwrap();
            stored.push(store(state.path(), &built, name, sha256).unwrap());
            assert!(!built.exists(), "the built wheel is moved, not copied");
        }
        assert_eq!(
            stored[0],
            state.path().join("wheels/aaaaaaaaaaaaaaaa").join(name)
        );
        let legacy = state.path().join(name);
        fs_err::write(&legacy, "old layout").unwrap();

        prune(state.path(), &[&stored[1]]).unwrap();
        assert!(!stored[0].exists() && !legacy.exists());
        assert_eq!(fs_err::read_to_string(&stored[1]).unwrap(), "two");
    }
}
