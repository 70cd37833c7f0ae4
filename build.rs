//! Names the commit this binary was built from, for `cargo pyo3 --version`.
//!
//! From a git checkout of this repository: `git rev-parse` of HEAD and the commit's date. From a
//! crate package (`cargo install cargo-pyo3`): the commit `cargo package` recorded in
//! `.cargo_vcs_info.json`. Neither (a tarball, a checkout without git): no commit, and
//! `--version` says so. Uncommitted changes are not marked: the script reruns when HEAD moves,
//! not on every edit, so that an edit rebuilds only what it touches.

#![expect(
    clippy::disallowed_methods,
    reason = "a build script cannot use the tool's `process::Cmd`; a missing file is an answer here, not an error to name"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let described = from_git(&manifest_dir)
        .or_else(|| from_package(&manifest_dir))
        .unwrap_or_else(|| "commit unknown".to_owned());
    println!("cargo:rustc-env=CARGO_PYO3_BUILT_FROM={described}");
}

/// `abcdef123456 2026-12-06` when this crate is the top of a git work tree, and the files that
/// move with HEAD as the script's triggers.
fn from_git(manifest_dir: &Path) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git")
            .args(args)
            .current_dir(manifest_dir)
            .output()
            .ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        output.status.success().then(|| text.trim().to_owned())
    };
    // A crate unpacked inside someone else's repository (a vendor directory) is not that
    // repository's commit.
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != manifest_dir.canonicalize().ok()? {
        return None;
    }
    let mut triggers = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        triggers.push(branch);
    }
    for trigger in triggers {
        if let Some(path) = git(&["rev-parse", "--git-path", &trigger]) {
            println!(
                "cargo:rerun-if-changed={}",
                manifest_dir.join(path).display()
            );
        }
    }
    let described = git(&["log", "-1", "--format=%h %cs", "--abbrev=12"])?;
    (!described.is_empty()).then_some(described)
}

/// The commit `cargo package` wrote into the package it made.
fn from_package(manifest_dir: &Path) -> Option<String> {
    let path = manifest_dir.join(".cargo_vcs_info.json");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(path).ok()?;
    let info: serde_json::Value = serde_json::from_str(&text).ok()?;
    let sha1 = info.pointer("/git/sha1")?.as_str()?;
    Some(sha1.chars().take(12).collect())
}
