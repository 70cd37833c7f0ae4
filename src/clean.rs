//! The step before `dev`'s build that makes cargo rebuild the package from its sources
//! (issue 13): by default by invalidating its fingerprint, keeping the incremental cache;
//! `--clean full` by `cargo clean -p`. (`--no-clean`, which skipped it, now means the default.)
//!
//! Why a clean at all: cargo decides freshness by mtime, so an edit whose mtime lies in the past
//! (`cp -p`, `tar x`, a restore, some editors' atomic saves) is never rebuilt, and the proof cannot
//! see it (it proves the install matches the wheel, not that the wheel matches the sources).
//! `cargo clean -p` also deletes the incremental cache, so every edit compiled the crate from
//! scratch: 3.66 s against 1.17 s per edit on the 40-class fixture (`docs/performance.md`).

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;

use crate::digest::{InputsDigest, Stat, StatedFile};
use crate::failure::user_error;
use crate::output;
use crate::process::{self, Cmd};
use crate::project::{self, Project};
use crate::receipt::Receipt;
use crate::settings::{BuildSettings, CleanMode};

/// Runs the clean `mode` asks for (`None`: none, which no flag asks for any more) and returns what it did, for the receipt:
/// `package`, `full` (asked for, or the fallback) or `none`. `previous` is the last receipt and
/// `current` the digest just taken: together they say which path dependencies changed.
pub(crate) fn before_build(
    project: &Project,
    build: &BuildSettings,
    mode: Option<CleanMode>,
    previous: Option<&Receipt>,
    current: &InputsDigest,
) -> Result<&'static str> {
    match mode {
        None => Ok(NONE),
        Some(CleanMode::Full) => {
            cargo_clean(project, build, &[&project.package_name])?;
            Ok(FULL)
        }
        Some(CleanMode::Package) => {
            let baseline = baseline(build, previous);
            if let Some(previous) = baseline
                && untouched_since(project, build, previous, current)
            {
                output::verbose(
                    "the build inputs and cargo's files for the package are as the last proven \
                     build left them: nothing to invalidate",
                );
                return Ok(PACKAGE);
            }
            let mut packages = vec![project.package_name.clone()];
            packages.extend(changed_path_dependencies(project, baseline, current));
            invalidate(project, build, &packages)
        }
    }
}

const NONE: &str = "none";
const FULL: &str = "full";
const PACKAGE: &str = "package";

/// The last receipt's digest, when it can vouch that its build was made from the content it
/// recorded: written with a clean (a `--no-clean` build may be older than its sources, since
/// cargo's mtime check may have kept it), for the same profile and features (other fingerprints).
fn baseline<'a>(build: &BuildSettings, previous: Option<&'a Receipt>) -> Option<&'a InputsDigest> {
    previous
        .filter(|receipt| receipt.profile == build.profile_name())
        .filter(|receipt| receipt.features == build.feature_args())
        .and_then(|receipt| receipt.inputs.as_ref())
        .filter(|digest| digest.clean == PACKAGE || digest.clean == FULL)
}

/// Whether nothing can have changed since the baseline's build: the same input content, nothing
/// edited during that build, and cargo's fingerprint and library files of the package exactly as
/// that build left them (same files, sizes, inodes, mtimes and ctimes). Then cargo's own no-op
/// is right, and invalidating would only cost a rebuild (about 0.2 s on the small fixture,
/// `docs/performance.md`). Any other build of the package in this target dir (`cargo build`,
/// `maturin develop`, another checkout of the same package name) rewrites those files, and then
/// the package is invalidated as usual.
fn untouched_since(
    project: &Project,
    build: &BuildSettings,
    previous: &InputsDigest,
    current: &InputsDigest,
) -> bool {
    previous.sha256 == current.sha256
        && previous.changed_during_build.is_empty()
        && !previous.cargo_state.is_empty()
        && cargo_state(project, build) == previous.cargo_state
}

/// cargo's files for the package's library in the build's profile: every file of its
/// fingerprint directories, and `lib<name>.so` in `deps/` and where cargo uplifts it. Recorded
/// after each build, compared before the next one.
pub(crate) fn cargo_state(project: &Project, build: &BuildSettings) -> Vec<StatedFile> {
    let profile = profile_dir(build.profile_name());
    let library = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        project.lib_name,
        std::env::consts::DLL_SUFFIX
    );
    let mut paths = Vec::new();
    for dir in build_dirs(project)
        .iter()
        .flat_map(|dir| profile_dirs(dir, profile))
    {
        for fingerprint in library_fingerprints(&dir.join(".fingerprint"), &project.package_name) {
            if let Ok(entries) = fs_err::read_dir(&fingerprint) {
                paths.extend(
                    entries
                        .filter_map(|entry| entry.ok())
                        .map(|entry| entry.path()),
                );
            }
        }
        paths.push(dir.join("deps").join(&library));
        paths.push(dir.join(&library));
    }
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| {
            let stat = Stat::of(&path)?;
            Some(StatedFile { path, stat })
        })
        .collect()
}

/// The files of the project that rustc read for the package's last build in the build's profile,
/// as cargo lists them in the dep-info file it writes beside the library
/// (`<target-dir>[/<triple>]/<profile-dir>/lib<name>.d`): every module, path dependency source
/// and `include_str!`/`include_bytes!` file. Only files inside the project (its Python root,
/// the package and its path dependencies) are kept: the target dir may be shared, and another
/// package of the same name may have written that file since. Empty when there is none.
pub(crate) fn files_rustc_read(project: &Project, build: &BuildSettings) -> Vec<PathBuf> {
    let profile = profile_dir(build.profile_name());
    let name = format!("{}{}.d", std::env::consts::DLL_PREFIX, project.lib_name);
    let mut candidates = vec![project.target_dir.join(profile).join(&name)];
    if let Ok(entries) = fs_err::read_dir(&project.target_dir) {
        candidates.extend(
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.path().join(profile).join(&name)),
        );
    }
    let newest = candidates
        .into_iter()
        .filter_map(|path| {
            let modified = fs_err::metadata(&path).ok()?.modified().ok()?;
            Some((modified, path))
        })
        .max();
    let Some(text) = newest.and_then(|(_, path)| fs_err::read_to_string(path).ok()) else {
        return Vec::new();
    };
    let mut roots = vec![project.project_dir.as_path(), project.package_dir.as_path()];
    roots.extend(
        project
            .path_dependencies
            .iter()
            .map(|dependency| dependency.dir.as_path()),
    );
    let outputs = [project.target_dir.as_path(), project.build_dir.as_path()];
    dep_info_inputs(&text)
        .into_iter()
        .filter(|path| roots.iter().any(|root| path.starts_with(root)))
        .filter(|path| !outputs.iter().any(|output| path.starts_with(output)))
        .filter(|path| path.is_file())
        .collect()
}

/// The inputs of the first rule of a dep-info file as cargo writes it: `<output>: <input> …`,
/// with a space inside a path written `\ ` and nothing else escaped. Only that one line of
/// Makefile syntax is read, the way cargo writes it.
fn dep_info_inputs(text: &str) -> Vec<PathBuf> {
    let Some(rule) = text.lines().next() else {
        return Vec::new();
    };
    let Some((_, inputs)) = rule.split_once(": ") else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    let mut current = String::new();
    let mut chars = inputs.chars().peekable();
    while let Some(character) = chars.next() {
        match character {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => paths
                .extend((!current.is_empty()).then(|| PathBuf::from(std::mem::take(&mut current)))),
            other => current.push(other),
        }
    }
    paths.extend((!current.is_empty()).then(|| PathBuf::from(current)));
    paths
}

/// The build dir, and the target dir when it is another directory.
fn build_dirs(project: &Project) -> Vec<PathBuf> {
    let mut dirs = vec![project.build_dir.clone()];
    if !project::same_file(&project.build_dir, &project.target_dir) {
        dirs.push(project.target_dir.clone());
    }
    dirs
}

/// The package names of the path dependencies with an input whose content differs from the
/// baseline's; all of them when there is no baseline.
fn changed_path_dependencies(
    project: &Project,
    baseline: Option<&InputsDigest>,
    current: &InputsDigest,
) -> Vec<String> {
    let changed = crate::digest::changed_between(baseline, current);
    project
        .path_dependencies
        .iter()
        .filter(|dependency| match &changed {
            Some(changed) => changed.iter().any(|path| path.starts_with(&dependency.dir)),
            None => true,
        })
        .filter_map(|dependency| package_name(&dependency.dir.join("Cargo.toml")))
        .collect()
}

/// `[package] name` of a manifest (no workspace inheritance: cargo does not allow it for names).
fn package_name(manifest: &Path) -> Option<String> {
    #[derive(Deserialize)]
    struct Manifest {
        package: Option<Package>,
    }
    #[derive(Deserialize)]
    struct Package {
        name: String,
    }
    let text = fs_err::read_to_string(manifest).ok()?;
    let manifest: Manifest = toml_edit::de::from_str(&text).ok()?;
    Some(manifest.package?.name)
}

/// Removes the library fingerprints of `packages` for the build's profile, so cargo runs rustc
/// on them again.
///
/// Why this is enough, and safe (measured with cargo 1.95 on `examples/hello`): cargo keeps one
/// fingerprint directory per unit in `<build-dir>[/<triple>]/<profile-dir>/.fingerprint/`, named
/// `<package>-<16 hex>`; a library's holds `lib-<target>` and `lib-<target>.json` (a build
/// script's holds `build-script-…` and `run-build-script-…` instead). With the directory gone,
/// `cargo build -v` prints `Compiling hello` instead of `Fresh hello` for an edit whose mtime was
/// set an hour back, and rustc gets `-C incremental=<profile-dir>/incremental`, which is left in
/// place: the rebuild took 0.21 s, an ordinary incremental one. rustc reads every source file on
/// every run and only reuses hashed later work, so the build reflects the sources' content. Only
/// directories that cargo made, inside the dirs `cargo metadata` reports, are removed; no user
/// file and no mtime is touched. Every fingerprint of a package of that name in the profile is
/// removed (another checkout of the same package in this target dir rebuilds once too; it
/// already shares `lib<name>.so` with this one), and every target triple's, since a configured
/// `build.target` moves the profile dir under `<triple>/`.
///
/// What it depends on: that layout. It is checked on the package itself: when its library was
/// built (`deps/<lib>.d` exists) but no fingerprint matches, the layout is not what this code
/// knows, and it falls back to `cargo clean -p`, saying so under `-v`. A package never built in
/// this profile has nothing to invalidate: cargo compiles it anyway.
fn invalidate(
    project: &Project,
    build: &BuildSettings,
    packages: &[String],
) -> Result<&'static str> {
    let profile_dir = profile_dir(build.profile_name());
    let profile_dirs: Vec<PathBuf> = build_dirs(project)
        .iter()
        .flat_map(|dir| profile_dirs(dir, profile_dir))
        .collect();

    let own_built = profile_dirs.iter().any(|dir| {
        dir.join("deps")
            .join(format!("{}.d", project.lib_name))
            .is_file()
    });
    let mut removed = Vec::new();
    for package in packages {
        let found: Vec<PathBuf> = profile_dirs
            .iter()
            .flat_map(|dir| library_fingerprints(&dir.join(".fingerprint"), package))
            .collect();
        if package == &project.package_name && own_built && found.is_empty() {
            output::verbose(format_args!(
                "no fingerprint of `{package}` under `{}` although its library was built there: \
                 cargo's layout is not the one expected, so running `cargo clean -p` instead",
                project.build_dir.display()
            ));
            let names: Vec<&str> = packages.iter().map(String::as_str).collect();
            cargo_clean(project, build, &names)?;
            return Ok(FULL);
        }
        removed.extend(found);
    }
    for dir in &removed {
        fs_err::remove_dir_all(dir).map_err(|error| {
            user_error(
                format!("failed to invalidate cargo's fingerprint: {error}"),
                "check the permissions of the target dir, or use `--clean full`",
            )
        })?;
        output::verbose(format_args!("invalidated `{}`", dir.display()));
    }
    Ok(PACKAGE)
}

/// The directory cargo names after a profile: `dev` and `test` build into `debug`, `release`
/// and `bench` into `release`, a custom profile into its own name.
fn profile_dir(profile: &str) -> &str {
    match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    }
}

/// `<dir>/<profile>` and each `<dir>/<triple>/<profile>` that holds fingerprints.
fn profile_dirs(dir: &Path, profile: &str) -> Vec<PathBuf> {
    let mut dirs = vec![dir.join(profile)];
    if let Ok(entries) = fs_err::read_dir(dir) {
        for entry in entries.filter_map(|entry| entry.ok()) {
            let nested = entry.path().join(profile);
            if entry.file_type().is_ok_and(|kind| kind.is_dir())
                && nested.join(".fingerprint").is_dir()
            {
                dirs.push(nested);
            }
        }
    }
    dirs.retain(|dir| dir.join(".fingerprint").is_dir());
    dirs
}

/// The fingerprint directories of `package`'s library in `fingerprints`: `<package>-<16 hex>`,
/// real directories (never a symlink followed out), holding a `lib-…` file.
fn library_fingerprints(fingerprints: &Path, package: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs_err::read_dir(fingerprints) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .and_then(|name| name.strip_prefix(package)?.strip_prefix('-'))
                .is_some_and(|hash| {
                    hash.len() == 16 && hash.bytes().all(|byte| byte.is_ascii_hexdigit())
                })
        })
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.path())
        .filter(|dir| {
            fs_err::read_dir(dir).is_ok_and(|files| {
                files.filter_map(|file| file.ok()).any(|file| {
                    file.file_name()
                        .to_str()
                        .is_some_and(|name| name.starts_with("lib-"))
                })
            })
        })
        .collect()
}

/// `cargo clean -p` for exactly the profile and target dir the build will use: a bare `-p`
/// only cleans the dev profile (`cargo clean -p demo` left the release build in place, which then
/// finished in 0.01 s: `docs/dev.md`).
fn cargo_clean(project: &Project, build: &BuildSettings, packages: &[&str]) -> Result<()> {
    let mut command = Cmd::new(project::cargo_program()).args(["clean", "--quiet"]);
    for package in packages {
        command = command.args(["-p", package]);
    }
    command
        .arg("--manifest-path")
        .arg(&project.manifest_path)
        .arg("--target-dir")
        .arg(&project.target_dir)
        .args(build.profile_args())
        .run_captured()
        .map_err(|error| match error {
            process::ProcessError::Interrupted { .. } => user_error(
                error.to_string(),
                "nothing was built or installed and the previous install is untouched",
            ),
            // The build runs with the same profile and target dir: skipping the clean rarely
            // gets past what stopped it.
            _ => user_error(
                format!("failed to clean the package before building: {error}"),
                "fix the error above (the build would meet it too), or use the default \
                 `--clean package`, which only removes cargo's fingerprint",
            ),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_lists_every_input_of_its_first_rule() {
        let text = "/t/debug/libdemo.so: /p/src/lib.rs /p/my\\ data/answer.txt /p/src/a.rs\n\n\
                    /p/src/lib.rs:\n";
        assert_eq!(
            dep_info_inputs(text),
            ["/p/src/lib.rs", "/p/my data/answer.txt", "/p/src/a.rs"]
                .map(PathBuf::from)
                .to_vec()
        );
        assert!(dep_info_inputs("").is_empty());
        assert!(dep_info_inputs("/t/debug/libdemo.so:").is_empty());
    }

    #[test]
    fn only_library_fingerprints_of_the_package_match() {
        let dir = tempfile::tempdir().unwrap();
        let fingerprints = dir.path();
        for (name, file) in [
            ("hello-82c2aea5e84b58bf", "lib-hello"),
            (
                "hello-0123456789abcdef",
                "run-build-script-build-script-build",
            ),
            ("hello-world-82c2aea5e84b58bf", "lib-hello_world"),
            ("hello-notahash", "lib-hello"),
        ] {
            fs_err::create_dir_all(fingerprints.join(name)).unwrap();
            fs_err::write(fingerprints.join(name).join(file), "").unwrap();
        }
        assert_eq!(
            library_fingerprints(fingerprints, "hello"),
            [fingerprints.join("hello-82c2aea5e84b58bf")]
        );
    }

    #[test]
    fn profiles_map_to_cargo_directories() {
        assert_eq!(profile_dir("dev"), "debug");
        assert_eq!(profile_dir("release"), "release");
        assert_eq!(profile_dir("bench"), "release");
        assert_eq!(profile_dir("fast"), "fast");
    }
}
