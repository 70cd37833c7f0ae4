//! Fixtures shared by the guard's unit tests: captured uv outputs and synthetic project trees.

use std::path::Path;

pub(super) use super::cache_keys::*;
pub(super) use super::check::*;
pub(super) use super::dry_run::*;
pub(super) use super::edit::*;
use crate::project::Project;

/// Real `uv sync --dry-run --frozen` outputs, captured with uv 0.13.8 on a copy of
/// `examples/hello` (tests/data/uv/README.md says how each one was made).
pub(super) const SHAPES: &[(&str, &str, &str, &str, SyncAction)] = &[
    (
        "in-sync",
        include_str!("../../tests/data/uv/in-sync.json"),
        include_str!("../../tests/data/uv/in-sync.txt"),
        include_str!("../../tests/data/uv/in-sync.json-stderr.txt"),
        SyncAction::None,
    ),
    (
        "reinstall-same-url",
        include_str!("../../tests/data/uv/reinstall-same-url.json"),
        include_str!("../../tests/data/uv/reinstall-same-url.txt"),
        include_str!("../../tests/data/uv/reinstall-same-url.json-stderr.txt"),
        SyncAction::ReinstallFromCache,
    ),
    (
        "reinstall-after-wheel-install",
        include_str!("../../tests/data/uv/reinstall-after-wheel-install.json"),
        include_str!("../../tests/data/uv/reinstall-after-wheel-install.txt"),
        include_str!("../../tests/data/uv/reinstall-after-wheel-install.json-stderr.txt"),
        SyncAction::ReinstallFromCache,
    ),
    (
        "rebuild",
        include_str!("../../tests/data/uv/rebuild.json"),
        include_str!("../../tests/data/uv/rebuild.txt"),
        include_str!("../../tests/data/uv/rebuild.json-stderr.txt"),
        SyncAction::Rebuild,
    ),
    (
        "rebuild-after-wheel-install",
        include_str!("../../tests/data/uv/rebuild-after-wheel-install.json"),
        include_str!("../../tests/data/uv/rebuild-after-wheel-install.txt"),
        include_str!("../../tests/data/uv/rebuild-after-wheel-install.json-stderr.txt"),
        SyncAction::Rebuild,
    ),
    (
        "pip-drift",
        include_str!("../../tests/data/uv/pip-drift.json"),
        include_str!("../../tests/data/uv/pip-drift.txt"),
        include_str!("../../tests/data/uv/pip-drift.json-stderr.txt"),
        SyncAction::ReinstallFromCache,
    ),
];

pub(super) const PLAIN_PYPROJECT: &str = "[build-system]\nrequires = [\"maturin>=1.9,<2\"]\n\
    build-backend = \"maturin\"\n\n[project]\nname = \"demo\"\ndynamic = [\"version\"]\n";

pub(super) fn write(path: &Path, text: &str) {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, text).unwrap();
}

/// A PyO3-shaped tree: pyproject, manifest, lock, `src/lib.rs`, `src/sub/m.rs`, `uv.lock`.
pub(super) fn scaffold(root: &Path, pyproject: &str) -> Project {
    write(&root.join("pyproject.toml"), pyproject);
    write(&root.join("Cargo.toml"), "[package]\nname = \"demo\"\n");
    write(&root.join("Cargo.lock"), "version = 4\n");
    write(&root.join("uv.lock"), "version = 1\n");
    write(&root.join("src/lib.rs"), "mod sub;\n");
    write(&root.join("src/sub/m.rs"), "\n");
    write(&root.join("README.md"), "\n");
    Project::for_tests(root.to_path_buf())
}

pub(super) fn with_keys(keys: &str) -> String {
    format!("{PLAIN_PYPROJECT}\n[tool.uv]\ncache-keys = {keys}\n")
}

pub(super) fn static_report(project: &Project) -> GuardReport {
    check_in_play(project, Some(Path::new("/nonexistent/uv"))).unwrap()
}
