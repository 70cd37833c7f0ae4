//! Whether a new project lands inside another Cargo workspace, and whether that workspace counts
//! it as a member. Cargo refuses to build a package that lies below a workspace root without being
//! one of its members ("current package believes it's in a workspace when it's not"), so such a
//! project gets an empty `[workspace]` table of its own. A project the workspace's `members`
//! already cover must not get one: Cargo would then find two roots for it.

use std::path::{Path, PathBuf};

use globset::GlobBuilder;
use toml_edit::DocumentMut;

use crate::output;

/// The Cargo workspace a new project would belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Enclosing {
    /// No workspace root above the project.
    Nothing,
    /// The workspace at `root` lists the project in `members`: the project joins it.
    Member { root: PathBuf },
    /// The workspace at `root` does not list the project: it needs a workspace of its own.
    Outsider { root: PathBuf },
}

/// Finds the workspace root Cargo would pick for a package at `project` (absolute, symlinks
/// resolved, may not exist yet): the nearest ancestor whose Cargo.toml has a `[workspace]` table
/// and does not `exclude` the project. The decision is made once, before anything is written;
/// Cargo.toml files that cannot be read are skipped with a warning.
pub(crate) fn enclosing_workspace(project: &Path) -> Enclosing {
    for root in project.ancestors().skip(1) {
        let manifest = root.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let document = match fs_err::read_to_string(&manifest)
            .map_err(anyhow::Error::from)
            .and_then(|text| text.parse::<DocumentMut>().map_err(anyhow::Error::from))
        {
            Ok(document) => document,
            Err(error) => {
                output::warning(format!(
                    "could not read `{}` to see whether it is a workspace: {error:#}",
                    manifest.display()
                ));
                continue;
            }
        };
        let Some(workspace) = document
            .get("workspace")
            .and_then(|item| item.as_table_like())
        else {
            continue;
        };
        let Ok(relative) = project.strip_prefix(root) else {
            continue;
        };
        let relative = relative_string(relative);
        let entries = |key: &str| -> Vec<String> {
            workspace
                .get(key)
                .and_then(|item| item.as_array())
                .map(|array| {
                    array
                        .iter()
                        .filter_map(|value| value.as_str())
                        .map(normalize_entry)
                        .collect()
                })
                .unwrap_or_default()
        };
        // Cargo compares `exclude` entries as path prefixes and keeps looking further up.
        let excluded = entries("exclude")
            .iter()
            .any(|entry| Path::new(&relative).starts_with(entry));
        if excluded {
            continue;
        }
        let root = root.to_owned();
        let member = entries("members")
            .iter()
            .any(|pattern| member_pattern_matches(pattern, &relative));
        return if member {
            Enclosing::Member { root }
        } else {
            Enclosing::Outsider { root }
        };
    }
    Enclosing::Nothing
}

/// `./crates/*/` → `crates/*`: the spellings Cargo accepts for the same entry.
fn normalize_entry(entry: &str) -> String {
    let mut entry = entry.trim_end_matches('/');
    while let Some(rest) = entry.strip_prefix("./") {
        entry = rest;
    }
    entry.to_owned()
}

/// A `members` entry is a glob over paths relative to the root in which `*` stays inside one
/// path component, as Cargo expands it.
fn member_pattern_matches(pattern: &str, relative: &str) -> bool {
    match GlobBuilder::new(pattern).literal_separator(true).build() {
        Ok(glob) => glob.compile_matcher().is_match(relative),
        Err(_) => pattern == relative,
    }
}

fn relative_string(relative: &Path) -> String {
    relative
        .components()
        .map(|component| component.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_with(manifest: &str) -> tempfile::TempDir {
        let directory = tempfile::tempdir().unwrap();
        fs_err::write(directory.path().join("Cargo.toml"), manifest).unwrap();
        directory
    }

    fn enclosing(directory: &tempfile::TempDir, relative: &str) -> Enclosing {
        let root = fs_err::canonicalize(directory.path()).unwrap();
        enclosing_workspace(&root.join(relative))
    }

    fn root_of(directory: &tempfile::TempDir) -> PathBuf {
        fs_err::canonicalize(directory.path()).unwrap()
    }

    #[test]
    fn no_workspace_above() {
        let directory = tempfile::tempdir().unwrap();
        let project = fs_err::canonicalize(directory.path()).unwrap().join("p");
        // The temporary directory could in theory lie in a workspace; only assert when it doesn't.
        if enclosing_workspace(directory.path()) == Enclosing::Nothing {
            assert_eq!(enclosing_workspace(&project), Enclosing::Nothing);
        }
    }

    #[test]
    fn package_manifest_without_workspace_is_not_a_root() {
        let directory = workspace_with("[package]\nname = \"outer\"\n");
        let result = enclosing(&directory, "inner");
        assert!(!matches!(result, Enclosing::Member { .. }));
        assert_ne!(
            result,
            Enclosing::Outsider {
                root: root_of(&directory)
            }
        );
    }

    #[test]
    fn unlisted_project_is_an_outsider() {
        let directory = workspace_with("[workspace]\nmembers = [\"crates/*\"]\n");
        assert_eq!(
            enclosing(&directory, "tools/p"),
            Enclosing::Outsider {
                root: root_of(&directory)
            }
        );
        // `*` does not cross a `/`.
        assert_eq!(
            enclosing(&directory, "crates/a/b"),
            Enclosing::Outsider {
                root: root_of(&directory)
            }
        );
    }

    #[test]
    fn listed_project_is_a_member() {
        let directory = workspace_with("[workspace]\nmembers = [\"./crates/*/\", \"tools/p\"]\n");
        let member = Enclosing::Member {
            root: root_of(&directory),
        };
        assert_eq!(enclosing(&directory, "crates/p"), member);
        assert_eq!(enclosing(&directory, "tools/p"), member);
    }

    #[test]
    fn excluded_project_looks_further_up() {
        let directory = workspace_with("[workspace]\nmembers = [\"*\"]\nexclude = [\"p\"]\n");
        let result = enclosing(&directory, "p");
        assert_ne!(
            result,
            Enclosing::Member {
                root: root_of(&directory)
            }
        );
        assert_ne!(
            result,
            Enclosing::Outsider {
                root: root_of(&directory)
            }
        );
    }
}
