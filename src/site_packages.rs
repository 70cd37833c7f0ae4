//! What is installed in a venv's site-packages: the `*.dist-info` of a distribution and what it
//! says about its install (installer, `direct_url.json`, the paths its `.pth` files add), pip's
//! leftovers, and the PEP 503 names they are matched by.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::venv::Venv;

/// One `*.dist-info` of a distribution in site-packages, and what it says about its install.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InstalledDistribution {
    pub(crate) dist_info: PathBuf,
    pub(crate) version: String,
    /// `INSTALLER`: `uv`, `pip`, …
    pub(crate) installer: Option<String>,
    /// `direct_url.json`'s `url`: the wheel or project it came from.
    pub(crate) url: Option<String>,
    pub(crate) editable: bool,
    /// `.pth` files the install put in site-packages, with the paths they add to `sys.path`.
    pub(crate) pth_paths: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct DirectUrl {
    url: Option<String>,
    dir_info: Option<DirInfo>,
}

#[derive(Debug, Deserialize)]
struct DirInfo {
    #[serde(default)]
    editable: bool,
}

impl Venv {
    /// Every dist-info in site-packages for `distribution` (normalised as PEP 503 says).
    pub(crate) fn installed_distributions(&self, distribution: &str) -> Vec<InstalledDistribution> {
        let Some(site) = self.site_packages() else {
            return Vec::new();
        };
        let wanted = normalize_name(distribution);
        let Ok(entries) = fs_err::read_dir(&site) else {
            return Vec::new();
        };
        let mut found: Vec<InstalledDistribution> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                let (name, version) = dist_info_name(&file_name)?;
                (normalize_name(name) == wanted)
                    .then(|| read_dist_info(&site, &entry.path(), version))
            })
            .collect();
        found.sort_by(|a, b| a.dist_info.cmp(&b.dist_info));
        found
    }

    /// The PEP 503 names of every distribution with a `*.dist-info` in site-packages: one
    /// directory listing, no file read.
    pub(crate) fn installed_names(&self) -> std::collections::BTreeSet<String> {
        let Some(entries) = self
            .site_packages()
            .and_then(|site| fs_err::read_dir(site).ok())
        else {
            return Default::default();
        };
        entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                dist_info_name(&file_name).map(|(name, _)| normalize_name(name))
            })
            .collect()
    }

    /// Whether `distribution` is installed exactly once, at `version`, and every file its
    /// `RECORD` lists with a hash still has that content: what a reinstall of the same wheel
    /// would put back. A `pip uninstall`, another install over it or an edit inside site-packages
    /// makes it `false`. The files in `hashed_by_caller` (`RECORD` paths) must exist but are not
    /// read: the caller hashes them itself (the proof hashes the extension Python loaded).
    pub(crate) fn installed_intact(
        &self,
        distribution: &str,
        version: &str,
        hashed_by_caller: &[&str],
    ) -> bool {
        let found = self.installed_distributions(distribution);
        let (Some(site), [installed]) = (self.site_packages(), found.as_slice()) else {
            return false;
        };
        if installed.version != version {
            return false;
        }
        let Ok(record) = fs_err::read_to_string(installed.dist_info.join("RECORD")) else {
            return false;
        };
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(record.as_bytes())
            .records()
            .all(|row| {
                let Ok(row) = row else {
                    return false;
                };
                let (Some(path), Some(hash)) = (row.get(0), row.get(1)) else {
                    return false;
                };
                let Some(expected) = hash.strip_prefix("sha256=") else {
                    // RECORD itself, and what installers add unhashed (`INSTALLER`, `REQUESTED`).
                    return true;
                };
                if hashed_by_caller.contains(&path) {
                    return site.join(path).is_file();
                }
                crate::wheel::sha256_file(&site.join(path))
                    .and_then(|hex| crate::wheel::record_digest(&hex))
                    .is_ok_and(|actual| actual == expected)
            })
    }

    /// What pip leaves behind when an uninstall is interrupted: `~`-prefixed entries.
    pub(crate) fn pip_leftovers(&self) -> Vec<PathBuf> {
        let Some(site) = self.site_packages() else {
            return Vec::new();
        };
        let Ok(entries) = fs_err::read_dir(&site) else {
            return Vec::new();
        };
        let mut leftovers: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().starts_with('~'))
            .map(|entry| entry.path())
            .collect();
        leftovers.sort();
        leftovers
    }
}

/// `demo_pkg-1.0.dist-info` → (`demo_pkg`, `1.0`).
fn dist_info_name(file_name: &str) -> Option<(&str, &str)> {
    file_name.strip_suffix(".dist-info")?.rsplit_once('-')
}

fn read_dist_info(site: &Path, dist_info: &Path, version: &str) -> InstalledDistribution {
    let read = |name: &str| fs_err::read_to_string(dist_info.join(name)).ok();
    let direct_url: Option<DirectUrl> =
        read("direct_url.json").and_then(|text| serde_json::from_str(&text).ok());
    let pth_paths = read("RECORD")
        .map(|record| {
            csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(record.as_bytes())
                .records()
                .filter_map(|row| row.ok()?.get(0).map(str::to_owned))
                .filter(|entry| entry.ends_with(".pth") && !entry.contains('/'))
                .filter_map(|entry| fs_err::read_to_string(site.join(entry)).ok())
                .flat_map(|text| {
                    text.lines()
                        .map(str::trim)
                        .filter(|line| {
                            !line.is_empty()
                                && !line.starts_with('#')
                                && !line.starts_with("import ")
                        })
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default();
    InstalledDistribution {
        dist_info: dist_info.to_path_buf(),
        version: version.to_owned(),
        installer: read("INSTALLER").map(|text| text.trim().to_owned()),
        url: direct_url.as_ref().and_then(|direct| direct.url.clone()),
        editable: direct_url
            .and_then(|direct| direct.dir_info)
            .is_some_and(|dir_info| dir_info.editable),
        pth_paths,
    }
}

/// PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become one `-`.
pub(crate) fn normalize_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    let mut in_separator = false;
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            if !in_separator {
                normalized.push('-');
            }
            in_separator = true;
        } else {
            normalized.extend(character.to_lowercase());
            in_separator = false;
        }
    }
    normalized
}

#[cfg(test)]
mod distribution_tests {
    use super::*;

    #[test]
    fn names_normalise_like_pep_503() {
        assert_eq!(normalize_name("My_Pkg.Name"), "my-pkg-name");
        assert_eq!(normalize_name("a--_b"), "a-b");
    }
}
