//! Coverage: which files a set of cache keys makes uv notice, matched the way uv walks them.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use globset::{GlobBuilder, GlobMatcher};

use super::cache_keys::CacheKey;
use super::paths::{normalize, path_to_slashes};

/// The files a set of keys watches, matched the way uv walks them.
pub(super) struct Coverage {
    /// Plain file keys, resolved against the project directory.
    files: Vec<PathBuf>,
    globs: Vec<GlobGroup>,
}

/// uv walks each glob from the longest glob-free prefix of its key, and merges keys whose
/// prefixes nest (`glob.rs`, `cluster_globs`). Within a group, patterns use gitignore syntax
/// (uv walks with `globwalk`, which builds `ignore` overrides): a pattern without `/` matches at
/// any depth below the group's directory, one with `/` is anchored there.
///
/// That makes `src/*.rs` alone reach `src/a/b.rs`, but not when another key like `*.toml` pulls
/// it into a group based at the project directory (measured with uv 0.13.8: docs/uv.md).
pub(super) struct GlobGroup {
    directory: PathBuf,
    patterns: Vec<IgnorePattern>,
}

pub(super) struct IgnorePattern {
    matcher: GlobMatcher,
    /// `!pattern`: excludes what earlier patterns included.
    negated: bool,
    /// `pattern/`: matches directories only.
    only_directories: bool,
}

impl Coverage {
    pub(super) fn new(project_dir: &Path, keys: &[CacheKey]) -> Result<Coverage> {
        let mut files = Vec::new();
        let mut globs: Vec<(PathBuf, String)> = Vec::new();
        for key in keys {
            // `dir`, `git` and `env` keys never change when a source file is edited.
            let CacheKey::File(path) = key else { continue };
            if path.contains(['*', '?', '[', '{']) {
                globs.push(split_glob(path));
            } else {
                files.push(normalize(&project_dir.join(path)));
            }
        }

        let bases: Vec<PathBuf> = globs.iter().map(|(base, _)| base.clone()).collect();
        let mut groups: Vec<(PathBuf, Vec<String>)> = Vec::new();
        for (base, pattern) in &globs {
            let group_base = group_base(base, &bases);
            let remainder = base.strip_prefix(&group_base).unwrap_or(Path::new(""));
            let mut full = path_to_slashes(remainder);
            if !full.is_empty() {
                full.push('/');
            }
            full.push_str(pattern);
            match groups
                .iter_mut()
                .find(|(existing, _)| *existing == group_base)
            {
                Some((_, patterns)) => patterns.push(full),
                None => groups.push((group_base, vec![full])),
            }
        }
        let globs = groups
            .into_iter()
            .map(|(base, patterns)| {
                let patterns = patterns
                    .iter()
                    .filter_map(|pattern| IgnorePattern::new(pattern).transpose())
                    .collect::<Result<Vec<_>>>()?;
                Ok(GlobGroup {
                    directory: normalize(&project_dir.join(base)),
                    patterns,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Coverage { files, globs })
    }

    /// Whether an edit to `path` (absolute) changes the cache key.
    pub(super) fn covers(&self, path: &Path) -> bool {
        let path = normalize(path);
        self.files.contains(&path) || self.globs.iter().any(|group| group.covers(&path))
    }
}

impl GlobGroup {
    fn covers(&self, path: &Path) -> bool {
        let Ok(relative) = path.strip_prefix(&self.directory) else {
            return false;
        };
        let relative = path_to_slashes(relative);
        // The walk skips a directory that a negated pattern matches, with all that is inside.
        let mut prefix = String::new();
        let components: Vec<&str> = relative.split('/').collect();
        for component in &components[..components.len().saturating_sub(1)] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(component);
            if self.decide(&prefix, true) == Some(false) {
                return false;
            }
        }
        self.decide(&relative, false) == Some(true)
    }

    /// The last matching pattern wins: `Some(true)` included, `Some(false)` excluded. A file
    /// that no pattern matches is excluded (the patterns are a whitelist).
    fn decide(&self, path: &str, is_directory: bool) -> Option<bool> {
        let last = self.patterns.iter().rev().find(|pattern| {
            (is_directory || !pattern.only_directories) && pattern.matcher.is_match(path)
        });
        match last {
            Some(pattern) => Some(!pattern.negated),
            None if is_directory => None,
            None => Some(false),
        }
    }
}

impl IgnorePattern {
    /// Compiles one pattern with gitignore rules; `None` for a comment or an empty pattern.
    fn new(pattern: &str) -> Result<Option<IgnorePattern>> {
        let mut text = pattern.trim_end();
        if text.is_empty() || text.starts_with('#') {
            return Ok(None);
        }
        let negated = text.starts_with('!');
        if negated {
            text = &text[1..];
        }
        let anchored = text.starts_with('/');
        if anchored {
            text = &text[1..];
        }
        let only_directories = text.ends_with('/');
        if only_directories {
            text = &text[..text.len() - 1];
        }
        let mut glob = text.to_owned();
        if !anchored && !glob.contains('/') && !glob.starts_with("**/") {
            glob = format!("**/{glob}");
        }
        // `dir/**` matches what is inside `dir`, never `dir` itself.
        if glob.ends_with("/**") {
            glob.push_str("/*");
        }
        let matcher = GlobBuilder::new(&glob)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .with_context(|| format!("uv cannot read the cache key glob `{pattern}`"))?
            .compile_matcher();
        Ok(Some(IgnorePattern {
            matcher,
            negated,
            only_directories,
        }))
    }
}

/// Splits a glob key into the directory uv walks from and the pattern below it: every leading
/// component free of glob characters, but never the last one (`src/**/*.rs` → `src` + `**/*.rs`,
/// `../dep/src/*.rs` → `../dep/src` + `*.rs`, `*.toml` → `` + `*.toml`).
pub(super) fn split_glob(key: &str) -> (PathBuf, String) {
    let components: Vec<Component> = Path::new(key)
        .components()
        .filter(|component| *component != Component::CurDir)
        .collect();
    let is_glob_like = |component: &Component| {
        matches!(component, Component::Normal(_))
            && component
                .as_os_str()
                .to_str()
                .is_some_and(|text| text.contains(['*', '{', '}', '?', '[', ']']))
    };
    let first_glob = components.iter().position(is_glob_like);
    let split = match first_glob {
        Some(index) => index,
        None => match components.last() {
            Some(Component::Normal(_)) => components.len() - 1,
            _ => components.len(),
        },
    };
    let base: PathBuf = components[..split].iter().collect();
    let pattern = components[split..]
        .iter()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    (base, pattern)
}

/// The group a glob's base falls into: the shortest base among all glob keys that is a prefix of
/// it through plain directory names only (`..` or `/` start a group of their own).
pub(super) fn group_base(base: &Path, bases: &[PathBuf]) -> PathBuf {
    bases
        .iter()
        .filter(|candidate| {
            base.strip_prefix(candidate).is_ok_and(|rest| {
                rest.components()
                    .all(|component| matches!(component, Component::Normal(_)))
            })
        })
        .min_by_key(|candidate| candidate.components().count())
        .cloned()
        .unwrap_or_else(|| base.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mirrors probes run against uv 0.13.8 with `uv sync --dry-run -v` ("Most recently
    /// modified: …"): docs/uv.md, "What counts as covered".
    #[test]
    fn globs_match_the_way_uv_walks_them() {
        let root = Path::new("/p/hello");
        let covers = |keys: &[&str], path: &str| {
            let keys: Vec<CacheKey> = keys
                .iter()
                .map(|key| CacheKey::File((*key).to_owned()))
                .collect();
            Coverage::new(root, &keys).unwrap().covers(&root.join(path))
        };
        assert!(covers(&["src/*.rs"], "src/sub/x.rs"));
        assert!(!covers(&["*.toml", "src/*.rs"], "src/sub/x.rs"));
        assert!(covers(&["*.toml", "src/*.rs"], "src/lib.rs"));
        assert!(covers(&["*.rs"], "src/sub/x.rs"));
        assert!(covers(&["../dep/src/**/*.rs"], "../dep/src/inner/m.rs"));
        assert!(covers(&["../dep/Cargo.toml"], "../dep/Cargo.toml"));
        assert!(covers(&["Cargo.*"], "Cargo.lock"));
        assert!(covers(&["./src/**/*.rs"], "src/sub/x.rs"));
        assert!(covers(&["/p/hello/src/**/*.rs"], "src/sub/x.rs"));
        assert!(covers(&["src/**"], "src/sub/x.rs"));
        assert!(covers(
            &["src/**/*.rs", "../dep/src/**/*.rs"],
            "../dep/src/lib.rs"
        ));
        assert!(!covers(&["src/**/*.rs"], "../dep/src/lib.rs"));
        assert!(!covers(&["src/**/*.rs"], "Cargo.toml"));
        assert!(!covers(&["src/lib.rs"], "src/sub/x.rs"));
        assert!(!covers(&["src"], "src/lib.rs"));
        assert!(!covers(&["src/**/*.rs", "src/**/!x.rs"], "x.rs"));
    }

    #[test]
    fn globs_split_like_uv() {
        let split = |key: &str| {
            let (base, pattern) = split_glob(key);
            (path_to_slashes(&base), pattern)
        };
        assert_eq!(
            split("src/**/*.rs"),
            ("src".to_owned(), "**/*.rs".to_owned())
        );
        assert_eq!(split("../x/*"), ("../x".to_owned(), "*".to_owned()));
        assert_eq!(split("./a/b/c"), ("a/b".to_owned(), "c".to_owned()));
        assert_eq!(split("c/d/*/../*"), ("c/d".to_owned(), "*/../*".to_owned()));
        assert_eq!(split("*"), (String::new(), "*".to_owned()));
        assert_eq!(split("a/{b,c}/d"), ("a".to_owned(), "{b,c}/d".to_owned()));
    }
}
