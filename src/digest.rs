//! A content digest of the build inputs: sha256 per file, taken before and after each `dev`
//! build and kept in the receipt, so that "the sources changed since the proven build" is decided
//! by content, not by modification times (issue 13). `touch` alone changes nothing here; an edit
//! whose mtime was set back (`cp -p`, `tar x`, a restore, some editors' atomic saves) is a change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::project::Project;

/// The build inputs' content as `dev` hashed them right before the build.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct InputsDigest {
    /// sha256 over every file's path and sha256, in path order: one value to compare.
    pub(crate) sha256: String,
    /// What made cargo rebuild the package before this build: `package` (its fingerprint
    /// removed), `full` (`cargo clean -p`) or `none` (`--no-clean` before it meant the default: cargo's mtime check alone, so
    /// the build may be older than these sources).
    #[serde(default)]
    pub(crate) clean: String,
    pub(crate) files: Vec<InputFile>,
    /// Inputs whose content changed while the build ran: the wheel may hold either version.
    #[serde(default)]
    pub(crate) changed_during_build: Vec<PathBuf>,
    /// When the inputs were checked again after the build, in milliseconds since the Unix epoch.
    /// A build input the digest does not cover (a module file created since) counts as changed
    /// when it was modified after this instant.
    #[serde(default)]
    pub(crate) checked_at_unix_ms: u64,
    /// cargo's fingerprint and library files of the package as this build left them
    /// (`clean::cargo_state`): while they and the inputs are unchanged, the next `dev`
    /// has nothing to invalidate.
    #[serde(default)]
    pub(crate) cargo_state: Vec<StatedFile>,
}

/// A file and what `stat` said about it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StatedFile {
    pub(crate) path: PathBuf,
    #[serde(flatten)]
    pub(crate) stat: Stat,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct InputFile {
    pub(crate) path: PathBuf,
    pub(crate) sha256: String,
    /// What `stat` said when the file was hashed: the fast pre-check. Content cannot change
    /// without changing the ctime (no system call sets it), so when size, inode, mtime and ctime
    /// are all as recorded the file is not read again; any difference means "hash it and see".
    #[serde(flatten)]
    pub(crate) stat: Stat,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) size: u64,
    pub(crate) inode: u64,
    /// Nanoseconds since the Unix epoch (an i64 holds them until 2262).
    pub(crate) modified_ns: i64,
    pub(crate) changed_ns: i64,
}

impl Stat {
    pub(crate) fn of(path: &Path) -> Option<Stat> {
        let metadata = fs_err::metadata(path).ok()?;
        let identity = crate::platform::file_identity(&metadata);
        Some(Stat {
            size: metadata.len(),
            inode: identity.inode,
            modified_ns: identity.modified_ns,
            changed_ns: identity.changed_ns,
        })
    }
}

/// The files the digest covers: [`Project::build_inputs`] and, for a mixed project, the Python
/// package maturin puts into the wheel. The one place `dev`, `verify` and `doctor` get them from.
pub(crate) fn inputs(project: &Project) -> Vec<PathBuf> {
    let mut inputs = project.build_inputs();
    // maturin packs the Python package beside the crate (`python-source`, `src/`, or the
    // project root) into the wheel with the extension.
    if let Some(package) = project.python_package() {
        python_files(&package, &mut inputs);
    }
    inputs.sort();
    inputs.dedup();
    inputs
}

/// `.py` and `.pyi` files under `dir`, without entering `__pycache__` or symlinked directories.
/// Compiled extensions beside them are outputs (`maturin develop` leaves one there), not inputs.
fn python_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|entry| entry.ok()) {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() && entry.file_name() != "__pycache__" => {
                python_files(&path, files)
            }
            Ok(kind)
                if kind.is_file()
                    && path
                        .extension()
                        .is_some_and(|extension| extension == "py" || extension == "pyi") =>
            {
                files.push(path)
            }
            _ => {}
        }
    }
}

/// Hashes every input. A file that vanished between the walk and the read is left out: the
/// build cannot have read it either.
pub(crate) fn take(paths: &[PathBuf]) -> InputsDigest {
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        // The stat before the read: a write between the two then shows as a changed stat later.
        let Some(stat) = Stat::of(path) else {
            continue;
        };
        let Ok(sha256) = crate::wheel::sha256_file(path) else {
            continue;
        };
        files.push(InputFile {
            path: path.clone(),
            sha256,
            stat,
        });
    }
    let mut digest = InputsDigest {
        sha256: String::new(),
        clean: String::new(),
        files,
        changed_during_build: Vec::new(),
        checked_at_unix_ms: 0,
        cargo_state: Vec::new(),
    };
    digest.seal();
    digest
}

impl InputsDigest {
    /// Hashes and adds the files among `paths` the digest does not hold yet: those the build
    /// read that no walker finds (`include_str!`, a `#[path]` module outside `src/`), known only
    /// once cargo has listed them. Recorded, the next `dev` hashes them before its build too.
    pub(crate) fn add_read_by_build(&mut self, paths: &[PathBuf]) {
        let held: std::collections::BTreeSet<PathBuf> =
            self.files.iter().map(|file| file.path.clone()).collect();
        let new: Vec<PathBuf> = paths
            .iter()
            .filter(|path| !held.contains(*path))
            .cloned()
            .collect();
        if new.is_empty() {
            return;
        }
        self.files.extend(take(&new).files);
        self.seal();
    }

    /// The paths this digest holds.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|file| file.path.as_path())
    }

    /// Sorts the files and computes the one value over them.
    fn seal(&mut self) {
        self.files.sort_by(|left, right| left.path.cmp(&right.path));
        let mut whole = Sha256::new();
        for file in &self.files {
            whole.update(file.path.as_os_str().as_encoded_bytes());
            whole.update([0]);
            whole.update(file.sha256.as_bytes());
            whole.update([b'\n']);
        }
        self.sha256 = format!("{:x}", whole.finalize());
    }
}

/// Whether `file`'s content differs from what was recorded; a file that is gone has changed.
fn differs(file: &InputFile) -> bool {
    match Stat::of(&file.path) {
        None => true,
        Some(stat) if stat == file.stat => false,
        Some(_) => crate::wheel::sha256_file(&file.path).map_or(true, |sha| sha != file.sha256),
    }
}

/// The recorded inputs whose content is no longer what `digest` holds, in path order.
pub(crate) fn changed_files(digest: &InputsDigest) -> Vec<PathBuf> {
    digest
        .files
        .iter()
        .filter(|file| differs(file))
        .map(|file| file.path.clone())
        .collect()
}

/// Hashes again, after the build, what changed since `before` was taken, warns about each file
/// (cargo and maturin read the sources at moments of their own, so the wheel may hold either
/// version) and records them and the moment in `before`, for the receipt.
pub(crate) fn check_after_build(project: &Project, before: &mut InputsDigest) {
    before.checked_at_unix_ms = crate::clock::now_unix_ms();
    let changed = changed_files(before);
    if !changed.is_empty() {
        let names: Vec<String> = changed
            .iter()
            .map(|path| format!("`{}`", project.relative(path).display()))
            .collect();
        crate::output::warning(format_args!(
            "{} changed while the build ran, so the installed build may hold either version; \
             the receipt records it, and `verify` and `doctor` will call this install stale \
             until the next `cargo pyo3 dev`",
            names.join(", ")
        ));
    }
    before.changed_during_build = changed;
}

/// The files among `paths` whose content differs from `previous` (files `previous` does not
/// know are new, so changed). `None` when there is no previous digest to compare with.
pub(crate) fn changed_between(
    previous: Option<&InputsDigest>,
    current: &InputsDigest,
) -> Option<Vec<PathBuf>> {
    let previous = previous?;
    let before: BTreeMap<&Path, &str> = previous
        .files
        .iter()
        .map(|file| (file.path.as_path(), file.sha256.as_str()))
        .collect();
    let now: BTreeMap<&Path, &str> = current
        .files
        .iter()
        .map(|file| (file.path.as_path(), file.sha256.as_str()))
        .collect();
    let mut changed: Vec<PathBuf> = now
        .iter()
        .filter(|(path, sha)| before.get(*path) != Some(*sha))
        .map(|(path, _)| path.to_path_buf())
        .collect();
    changed.extend(
        before
            .keys()
            .filter(|path| !now.contains_key(*path))
            .map(|path| path.to_path_buf()),
    );
    Some(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs_err::write(path, text).unwrap();
    }

    #[test]
    fn touch_is_not_a_change_and_an_old_mtime_edit_is() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("lib.rs");
        write(&source, "fn a() {}\n");
        let digest = take(std::slice::from_ref(&source));
        assert!(changed_files(&digest).is_empty());

        // `touch`: new times, same content.
        crate::clock::set_modified(&source, std::time::SystemTime::now());
        assert!(changed_files(&digest).is_empty(), "touch alone");

        // Same size, old mtime restored: only the content tells.
        let old = fs_err::metadata(&source).unwrap().modified().unwrap()
            - std::time::Duration::from_secs(3600);
        write(&source, "fn b() {}\n");
        crate::clock::set_modified(&source, old);
        assert_eq!(changed_files(&digest), std::slice::from_ref(&source));

        fs_err::remove_file(&source).unwrap();
        assert_eq!(changed_files(&digest), [source], "a deleted input changed");
    }

    #[test]
    fn the_whole_digest_follows_content_only() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("lib.rs");
        write(&source, "fn a() {}\n");
        let first = take(std::slice::from_ref(&source));
        write(&source, "fn a() {}\n");
        assert_eq!(take(std::slice::from_ref(&source)).sha256, first.sha256);
        write(&source, "fn c() {}\n");
        let second = take(std::slice::from_ref(&source));
        assert_ne!(second.sha256, first.sha256);
        assert_eq!(
            changed_between(Some(&first), &second),
            Some(vec![source.clone()])
        );
        assert_eq!(changed_between(Some(&second), &second), Some(vec![]));
        assert_eq!(changed_between(None, &second), None);
    }

    #[test]
    fn a_digest_reads_back_from_its_json() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("lib.rs");
        write(&source, "fn a() {}\n");
        let mut digest = take(std::slice::from_ref(&source));
        digest.clean = "package".into();
        digest.changed_during_build = vec![source];
        let text = serde_json::to_string(&digest).unwrap();
        assert!(text.contains("\"modified_ns\":"), "{text}");
        assert_eq!(serde_json::from_str::<InputsDigest>(&text).unwrap(), digest);
    }

    #[test]
    fn python_sources_skip_caches_and_extensions() {
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join("pkg");
        fs_err::create_dir_all(package.join("__pycache__")).unwrap();
        fs_err::create_dir_all(package.join("sub")).unwrap();
        write(&package.join("__init__.py"), "");
        write(&package.join("sub/mod.pyi"), "");
        write(&package.join("__pycache__/x.cpython-311.pyc"), "");
        write(&package.join("_core.cpython-311-x86_64-linux-gnu.so"), "");
        let mut files = Vec::new();
        python_files(&package, &mut files);
        files.sort();
        assert_eq!(
            files,
            [package.join("__init__.py"), package.join("sub/mod.pyi")]
        );
    }
}
