//! The versions the project locked: when it has a `uv.lock` (beside `pyproject.toml` or at its uv
//! workspace root) and uv is on PATH, the runtime dependencies, extras and groups `dev` installs
//! are the lock's pins, exported with `uv export --locked` for the same selection and installed
//! with `--no-deps`. The project itself is never among them: it is the wheel just built.
//!
//! Nothing here writes to `uv.lock`. `uv export --locked` fails when the lock is out of date with
//! `pyproject.toml` (measured with uv 0.13.8: exit 1, "The lockfile at `uv.lock` needs to be
//! updated, but `--locked` was provided", the file byte-identical after); that earns one warning
//! naming `uv lock`, and the requirements are resolved as without a lock. `--frozen` is not used:
//! it exports a stale lock without a word.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml_edit::DocumentMut;

use crate::failure::user_error;
use crate::output;
use crate::process::{Cmd, ProcessError};
use crate::project::Project;
use crate::receipt::Receipt;
use crate::settings::Selection;
use crate::site_packages::normalize_name;

/// Where the versions of the installed requirements came from, as the receipt records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum VersionSource {
    /// Pinned by the project's lockfile, installed with `--no-deps`.
    Locked,
    /// Resolved by the installer from the requirements' ranges.
    Resolved,
}

/// A lockfile that applies to the run, and uv to read it with when there is one on PATH.
#[derive(Debug, Clone)]
pub(crate) struct Lock {
    pub(crate) lockfile: PathBuf,
    pub(crate) uv: Option<PathBuf>,
}

impl Lock {
    pub(crate) fn of(lockfile: Option<PathBuf>, uv: Option<&Path>) -> Option<Lock> {
        Some(Lock {
            lockfile: lockfile?,
            uv: uv.map(Path::to_path_buf),
        })
    }
}

/// The lock's pins for a selection: requirement lines (`name==version ; marker`), sorted.
#[derive(Debug, Clone)]
pub(crate) struct Pinned {
    /// The lockfile they came from.
    pub(crate) lockfile: PathBuf,
    pub(crate) requirements: Vec<String>,
    /// The hash of what the pins depend on, recorded in the receipt as `lock_digest`.
    pub(crate) digest: String,
}

/// The lock's pins for `selection`, or `None` when the versions are to be resolved: no
/// `uv.lock`, `--no-lock`, no uv on PATH, or a stale lock (the last two with a warning).
///
/// Exporting costs a uv run (about 100 ms), so the pins the last proven run exported are taken
/// again when nothing they depend on changed: the same lock, the same `pyproject.toml` files of
/// the project and of every workspace member or path source the lock names, and the same
/// selection ([`Pinned::digest`]).
pub(crate) fn pinned(
    project: &Project,
    selection: &Selection,
    lockfile: Option<&Path>,
    uv: Option<&Path>,
    previous: Option<&Receipt>,
) -> Result<Option<Pinned>> {
    let Some(lockfile) = lockfile else {
        return Ok(None);
    };
    let args = export_args(project, selection);
    let digest = inputs_digest(lockfile, project, &args);
    if let Some(previous) = previous.filter(|previous| {
        previous.dependency_versions == VersionSource::Locked
            && previous.lock_digest.as_deref() == Some(digest.as_str())
    }) {
        return Ok(Some(Pinned {
            lockfile: lockfile.to_path_buf(),
            requirements: previous.dependencies.clone(),
            digest,
        }));
    }
    let shown = project.relative(lockfile).display().to_string();
    let Some(uv) = uv else {
        output::warning(format_args!(
            "`{shown}` is not read because uv is not on PATH: the dependencies are resolved \
             afresh, not installed at the locked versions (install uv to use the lock, or pass \
             `--no-lock` to say you mean it)"
        ));
        return Ok(None);
    };
    let command = Cmd::new(uv).args(&args).dir(&project.project_dir);
    match command.run_captured() {
        Ok(captured) => {
            let mut requirements: Vec<String> = captured
                .stdout
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_owned)
                .collect();
            requirements.sort();
            requirements.dedup();
            Ok(Some(Pinned {
                lockfile: lockfile.to_path_buf(),
                requirements,
                digest,
            }))
        }
        Err(ProcessError::Failed { stderr, .. }) if stale(&stderr) => {
            output::warning(format_args!(
                "`{shown}` is out of date with `pyproject.toml`, so the dependencies are resolved \
                 afresh instead of installed at the locked versions; `cargo pyo3` never writes \
                 the lock: run `uv lock` to update it"
            ));
            Ok(None)
        }
        Err(error) => Err(user_error(
            format!("could not read the versions locked in `{shown}`: {error}"),
            "fix what uv names above, or pass `--no-lock` to resolve the dependencies afresh",
        )),
    }
}

/// The arguments of the `uv export` of exactly what `dev` would install: the selected extras,
/// and the selected groups (the `dev` group by default when the project has one), never the
/// project.
fn export_args(project: &Project, selection: &Selection) -> Vec<String> {
    let mut args: Vec<String> = [
        "export",
        "--locked",
        "--no-emit-project",
        "--no-hashes",
        "--no-header",
        "--no-annotate",
        "--format",
        "requirements-txt",
        "--no-default-groups",
    ]
    .map(String::from)
    .into();
    for extra in &selection.extras {
        args.extend(["--extra".into(), extra.clone()]);
    }
    let groups: Vec<&String> = if selection.groups.is_empty() {
        project
            .requirements
            .groups
            .keys()
            .filter(|name| normalize_name(name) == "dev")
            .collect()
    } else {
        selection.groups.iter().collect()
    };
    for group in groups {
        args.extend(["--group".into(), group.clone()]);
    }
    args
}

/// A hash of everything an export's answer depends on: the export's arguments, the lock, and
/// the `pyproject.toml` (and `uv.toml`) of the project, of the lock's directory and of every
/// package the lock takes from a local directory (workspace members, path sources), since an
/// edit to any of them can make the lock stale. A file that is missing hashes as missing.
fn inputs_digest(lockfile: &Path, project: &Project, args: &[String]) -> String {
    let mut hasher = Sha256::new();
    let mut feed = |label: &str, bytes: Option<&[u8]>| {
        hasher.update((label.len() as u64).to_le_bytes());
        hasher.update(label.as_bytes());
        match bytes {
            Some(bytes) => {
                hasher.update([1]);
                hasher.update((bytes.len() as u64).to_le_bytes());
                hasher.update(bytes);
            }
            None => hasher.update([0]),
        }
    };
    for arg in args {
        feed("arg", Some(arg.as_bytes()));
    }
    let lock = fs_err::read(lockfile).ok();
    feed("uv.lock", lock.as_deref());
    let lock_dir = lockfile.parent().unwrap_or(Path::new("."));
    let mut dirs = vec![project.project_dir.clone(), lock_dir.to_path_buf()];
    if let Some(document) = lock
        .as_deref()
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| text.parse::<DocumentMut>().ok())
    {
        dirs.extend(local_sources(&document).map(|path| lock_dir.join(path)));
    }
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        for name in ["pyproject.toml", "uv.toml"] {
            let path = dir.join(name);
            feed(&path.to_string_lossy(), fs_err::read(&path).ok().as_deref());
        }
    }
    format!("{:x}", hasher.finalize())
}

/// The directories (relative to the lock) of the packages a `uv.lock` takes from the local
/// disk: `source = { editable = … }`, `{ virtual = … }` or `{ directory = … }`.
fn local_sources(document: &DocumentMut) -> impl Iterator<Item = &str> {
    document
        .get("package")
        .and_then(|packages| packages.as_array_of_tables())
        .into_iter()
        .flat_map(|packages| packages.iter())
        .filter_map(|package| package.get("source")?.as_inline_table())
        .filter_map(|source| {
            ["editable", "virtual", "directory"]
                .iter()
                .find_map(|kind| source.get(kind)?.as_str())
        })
}

/// Whether uv refused because the lock is out of date with the project.
fn stale(stderr: &str) -> bool {
    stderr.contains("needs to be updated")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pins are exported again when the lock, the project's `pyproject.toml`, a workspace
    /// member's or the selection changes, and only then.
    #[test]
    fn the_inputs_digest_follows_the_lock_its_members_and_the_selection() {
        let root = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = root.path().join(path);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(path, text).unwrap();
        };
        write(
            "pyproject.toml",
            "[tool.uv.workspace]\nmembers = [\"ext\", \"helper\"]\n",
        );
        write("ext/pyproject.toml", "[project]\nname = \"ext\"\n");
        write("helper/pyproject.toml", "[project]\nname = \"helper\"\n");
        write(
            "unrelated/pyproject.toml",
            "[project]\nname = \"unrelated\"\n",
        );
        write(
            "uv.lock",
            "version = 1\n\n[[package]]\nname = \"ext\"\nsource = { editable = \"ext\" }\n\n\
             [[package]]\nname = \"helper\"\nsource = { virtual = \"helper\" }\n\n\
             [[package]]\nname = \"pytest\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
        );
        let project = Project::for_tests(root.path().join("ext"));
        let lock = root.path().join("uv.lock");
        let args = export_args(&project, &Selection::default());
        let digest = || inputs_digest(&lock, &project, &args);
        let first = digest();
        assert_eq!(digest(), first);

        write(
            "unrelated/pyproject.toml",
            "[project]\nname = \"renamed\"\n",
        );
        assert_eq!(digest(), first, "a directory the lock does not name");

        let mut seen = vec![first];
        for (path, text) in [
            (
                "helper/pyproject.toml",
                "[project]\nname = \"helper\"\ndependencies = [\"a\"]\n",
            ),
            (
                "ext/pyproject.toml",
                "[project]\nname = \"ext\"\ndependencies = [\"b\"]\n",
            ),
            (
                "pyproject.toml",
                "[tool.uv.workspace]\nmembers = [\"ext\"]\n",
            ),
            (
                "uv.toml",
                "index-url = \"https://example.invalid/simple\"\n",
            ),
        ] {
            write(path, text);
            let now = digest();
            assert!(!seen.contains(&now), "{path}");
            seen.push(now);
        }
        let extra = Selection {
            extras: vec!["fast".into()],
            groups: Vec::new(),
        };
        let with_extra = inputs_digest(&lock, &project, &export_args(&project, &extra));
        assert!(!seen.contains(&with_extra), "the selection");
    }

    #[test]
    fn only_an_out_of_date_lock_is_stale() {
        assert!(stale(
            "error: The lockfile at `uv.lock` needs to be updated, but `--locked` was provided."
        ));
        assert!(!stale(
            "error: Failed to fetch: `https://pypi.org/simple/pytest/`"
        ));
    }
}
