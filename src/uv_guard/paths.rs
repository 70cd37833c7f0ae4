//! Lexical path helpers for cache keys: uv resolves keys against the project directory without
//! touching the file system, and so does the guard.

use std::path::{Component, Path, PathBuf};

/// Resolves `.` and `..` without touching the file system.
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !normalized.pop() {
                    normalized.push("..");
                }
            }
            other => normalized.push(other),
        }
    }
    normalized
}

/// `path` relative to `base` with `/` separators, climbing with `..` when it lies outside.
pub(super) fn relative_display(path: &Path, base: &Path) -> String {
    let path = normalize(path);
    let base = normalize(base);
    let path_components: Vec<Component> = path.components().collect();
    let base_components: Vec<Component> = base.components().collect();
    let common = path_components
        .iter()
        .zip(&base_components)
        .take_while(|(left, right)| left == right)
        .count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..base_components.len() {
        parts.push("..".to_owned());
    }
    for component in &path_components[common..] {
        parts.push(component.as_os_str().to_string_lossy().into_owned());
    }
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

pub(super) fn path_to_slashes(path: &Path) -> String {
    path.components()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
