//! The build inputs the keys must cover, and the keys a fix adds to cover them.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::cache_keys::{CacheKey, UvKeys};
use super::coverage::Coverage;
use super::paths::{normalize, relative_display};
use crate::project::Project;

/// A file whose edit changes the extension, and the key the fix would add to cover it.
#[derive(Debug, Clone)]
pub(super) struct BuildInput {
    /// Absolute and normalised.
    pub(super) path: PathBuf,
    /// A `file` key path relative to the project directory.
    pub(super) remedy: String,
}

/// The project's build inputs, each with the `file` key that would cover it: the glob of its
/// source directory for `.rs` files (`src/**/*.rs`, `../dep/src/**/*.rs`), else the file itself.
pub(super) fn build_inputs(project: &Project) -> Result<Vec<BuildInput>> {
    let project_dir = normalize(&project.project_dir);
    let source_globs: Vec<(PathBuf, String)> = project
        .source_dirs()
        .iter()
        // Sources at the project's root or a package's root get no glob: one there would make
        // uv walk `target/` and `.venv` on every command. The walker lists those files one
        // level deep, and so do the keys.
        .filter(|source| source.recursive)
        .map(|source| normalize(&source.dir))
        .map(|dir| {
            let glob = format!("{}/**/*.rs", relative_display(&dir, &project_dir));
            (dir, glob)
        })
        .collect();
    Ok(project
        .build_inputs()
        .iter()
        .map(|path| {
            let path = normalize(path);
            let is_rust = path.extension().is_some_and(|extension| extension == "rs");
            let remedy = source_globs
                .iter()
                .find(|(dir, _)| is_rust && path.starts_with(dir))
                .map(|(_, glob)| glob.clone())
                .unwrap_or_else(|| relative_display(&path, &project_dir));
            BuildInput { path, remedy }
        })
        .collect())
}

/// The keys to add so that every input is covered, keeping every key the user has.
pub(super) fn plan_missing_keys(
    project_dir: &Path,
    inputs: &[BuildInput],
    keys: &UvKeys,
) -> Result<Vec<String>> {
    let explicit = keys.explicit();
    let coverage = Coverage::new(project_dir, &explicit)?;
    let mut planned: Vec<String> = Vec::new();
    for input in inputs {
        if !coverage.covers(&input.path) && !planned.contains(&input.remedy) {
            planned.push(input.remedy.clone());
        }
    }
    // New globs can regroup the user's globs (see `GlobGroup`); whatever is still missed is
    // listed file by file, which no grouping changes.
    let mut all = explicit;
    all.extend(planned.iter().cloned().map(CacheKey::File));
    let coverage = Coverage::new(project_dir, &all)?;
    let still_missed: Vec<String> = inputs
        .iter()
        .filter(|input| !coverage.covers(&input.path))
        .map(|input| relative_display(&input.path, project_dir))
        .collect();
    for path in still_missed {
        if !planned.contains(&path) {
            planned.push(path);
        }
    }
    Ok(planned)
}
