//! The versions the project locked. When it has a `uv.lock` (beside `pyproject.toml` or at its uv
//! workspace root) and uv is on PATH, the runtime dependencies, extras and groups `dev` installs
//! are the lock's pins, exported with `uv export --locked` for the same selection and installed
//! with `--no-deps`. Without a `uv.lock`, a `pylock.toml` (PEP 751) beside `pyproject.toml` is
//! installed by uv from a copy without the project's own entries. The project itself is never
//! among what is installed from a lock: it is the wheel just built.
//!
//! Nothing here writes to a lockfile. `uv export --locked` fails when the lock is out of date
//! with `pyproject.toml` (measured with uv 0.13.8: exit 1, "The lockfile at `uv.lock` needs to be
//! updated, but `--locked` was provided", the file byte-identical after); that earns one warning
//! naming `uv lock`, and the requirements are resolved as without a lock. `--frozen` is not used:
//! it exports a stale lock without a word. A `pylock.toml` records nothing to check it against.

use std::path::{Path, PathBuf};

use anyhow::Result;
use sha2::{Digest, Sha256};
use toml_edit::DocumentMut;

use crate::failure::user_error;
use crate::output;
use crate::process::{Cmd, ProcessError};
use crate::project::Project;
use crate::receipt::{Receipt, VersionSource};
use crate::settings::Selection;
use crate::site_packages::normalize_name;
use crate::toolchain::{Installer, InstallerKind};

/// Which kind of lockfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    /// uv's project lock, `uv.lock`.
    Uv,
    /// A PEP 751 lock, `pylock.toml`.
    Pylock,
}

/// A lockfile that applies to the run, and uv to read it with when there is one on PATH.
#[derive(Debug, Clone)]
pub(crate) struct Lock {
    pub(crate) lockfile: PathBuf,
    pub(crate) kind: LockKind,
    pub(crate) uv: Option<PathBuf>,
}

impl Lock {
    /// The project's `uv.lock` (its own or its uv workspace's), else its `pylock.toml`.
    pub(crate) fn find(project: &Project, uv: Option<&Path>) -> Option<Lock> {
        let (lockfile, kind) = match crate::uv_guard::find_uv_lock(project) {
            Some(lockfile) => (lockfile, LockKind::Uv),
            None => {
                let lockfile = project.project_dir.join("pylock.toml");
                if !lockfile.is_file() {
                    return None;
                }
                (lockfile, LockKind::Pylock)
            }
        };
        Some(Lock {
            lockfile,
            kind,
            uv: uv.map(Path::to_path_buf),
        })
    }
}

/// The lock's pins for a selection: requirement lines (`name==version ; marker`), sorted.
#[derive(Debug)]
pub(crate) struct Pinned {
    /// The lockfile they came from.
    pub(crate) lockfile: PathBuf,
    pub(crate) requirements: Vec<String>,
    /// For a `uv.lock`: the hash of what the pins depend on, recorded in the receipt as
    /// `lock_digest`.
    pub(crate) digest: Option<String>,
    /// For a `pylock.toml`: the copy uv installs from, and its `--extra`/`--group` arguments.
    copy: Option<PylockCopy>,
}

#[derive(Debug)]
struct PylockCopy {
    /// Holds the copy, `<dir>/pylock.toml` (uv accepts no other name).
    dir: tempfile::TempDir,
    args: Vec<String>,
}

impl Pinned {
    /// Installs the pins into the venv, none of their dependencies beyond the lock's.
    pub(crate) fn install(
        &self,
        venv: &crate::venv::Venv,
        installer: &Installer,
        what: &str,
        hint: &str,
    ) -> Result<()> {
        match &self.copy {
            None => crate::install::install_pinned(&self.requirements, venv, installer, what, hint),
            Some(copy) => {
                let mut args: Vec<String> = ["--preview-features", "pylock", "-r"]
                    .map(String::from)
                    .into();
                args.push(copy.dir.path().join("pylock.toml").display().to_string());
                args.extend(copy.args.iter().cloned());
                crate::install::install_pinned(&args, venv, installer, what, hint)
            }
        }
    }
}

/// The lock's pins for `selection`, or `None` when the versions are to be resolved: no lock,
/// `--no-lock`, no uv on PATH, or a stale `uv.lock` (the last two with a warning).
///
/// Exporting costs a uv run (about 100 ms), so the pins the last proven run exported are taken
/// again when nothing they depend on changed: the same lock, the same `pyproject.toml` files of
/// the project and of every workspace member or path source the lock names, and the same
/// selection ([`Pinned::digest`]).
pub(crate) fn pinned(
    project: &Project,
    selection: &Selection,
    lock: Option<&Lock>,
    installer: InstallerKind,
    previous: Option<&Receipt>,
) -> Result<Option<Pinned>> {
    let Some(lock) = lock else {
        return Ok(None);
    };
    match lock.kind {
        LockKind::Uv => uv_lock_pins(project, selection, lock, previous),
        LockKind::Pylock => pylock_pins(project, selection, lock, installer),
    }
}

fn uv_lock_pins(
    project: &Project,
    selection: &Selection,
    lock: &Lock,
    previous: Option<&Receipt>,
) -> Result<Option<Pinned>> {
    let lockfile = lock.lockfile.as_path();
    let uv = lock.uv.as_deref();
    let args = export_args(project, selection);
    let digest = inputs_digest(lockfile, project, &args);
    if let Some(previous) = previous.filter(|previous| {
        previous.dependency_versions == VersionSource::Locked
            && previous.lock_digest.as_deref() == Some(digest.as_str())
    }) {
        return Ok(Some(Pinned {
            lockfile: lockfile.to_path_buf(),
            requirements: previous.dependencies.clone(),
            digest: Some(digest),
            copy: None,
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
                digest: Some(digest),
                copy: None,
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

/// A `pylock.toml`'s pins: a copy of it without the project's own entries (uv would build the
/// project from its sources), its relative paths made absolute so they still name what they
/// named, installed by uv with the selected extras and groups the lock offers. Only uv installs
/// from a `pylock.toml`, so with pip the ranges are resolved, with a warning.
fn pylock_pins(
    project: &Project,
    selection: &Selection,
    lock: &Lock,
    installer: InstallerKind,
) -> Result<Option<Pinned>> {
    let shown = project.relative(&lock.lockfile).display().to_string();
    if installer != InstallerKind::Uv {
        output::warning(format_args!(
            "`{shown}` is not read because only uv installs from a `pylock.toml` and uv is not \
             on PATH: the dependencies are resolved afresh, not installed at the locked versions \
             (install uv to use the lock, or pass `--no-lock` to say you mean it)"
        ));
        return Ok(None);
    }
    let unreadable = |reason: String| {
        user_error(
            format!("could not read the versions locked in `{shown}`: {reason}"),
            "fix the file (or write it again with the tool that made it), or pass `--no-lock` to \
             resolve the dependencies afresh",
        )
    };
    let text =
        fs_err::read_to_string(&lock.lockfile).map_err(|error| unreadable(error.to_string()))?;
    let mut document: DocumentMut = text
        .parse()
        .map_err(|error: toml_edit::TomlError| unreadable(error.to_string()))?;
    let lock_dir = lock.lockfile.parent().unwrap_or(Path::new("."));
    let own = normalize_name(&project.dist_name);
    let Some(packages) = document
        .get_mut("packages")
        .and_then(|packages| packages.as_array_of_tables_mut())
    else {
        return Err(unreadable("it has no `[[packages]]`".into()));
    };
    packages.retain(|package| {
        package
            .get("name")
            .and_then(|name| name.as_str())
            .map(normalize_name)
            .as_ref()
            != Some(&own)
    });
    let mut requirements = Vec::new();
    for package in packages.iter_mut() {
        absolutize_paths(package, lock_dir);
        let name = package.get("name").and_then(|name| name.as_str());
        let Some(name) = name else {
            return Err(unreadable("a package has no `name`".into()));
        };
        let mut requirement = match package.get("version").and_then(|version| version.as_str()) {
            Some(version) => format!("{name}=={version}"),
            None => name.to_owned(),
        };
        if let Some(marker) = package.get("marker").and_then(|marker| marker.as_str()) {
            requirement.push_str(" ; ");
            requirement.push_str(marker);
        }
        requirements.push(requirement);
    }
    requirements.sort();
    requirements.dedup();

    // A lock made for several selections lists the extras and groups it holds; one made for one
    // selection lists none, and is installed whole.
    let offered = |key: &str| -> Vec<String> {
        document
            .get(key)
            .and_then(|list| list.as_array())
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_str().map(normalize_name))
            .collect()
    };
    let (extras, groups) = (offered("extras"), offered("dependency-groups"));
    let mut args = Vec::new();
    for extra in &selection.extras {
        if extras.contains(&normalize_name(extra)) {
            args.extend(["--extra".into(), extra.clone()]);
        }
    }
    let selected: Vec<String> = if selection.groups.is_empty() {
        vec!["dev".into()]
    } else {
        selection.groups.clone()
    };
    for group in selected {
        if groups.contains(&normalize_name(&group)) {
            args.extend(["--group".into(), group]);
        }
    }

    let dir = tempfile::Builder::new()
        .prefix("cargo-pyo3-pylock-")
        .tempdir()?;
    fs_err::write(dir.path().join("pylock.toml"), document.to_string())?;
    Ok(Some(Pinned {
        lockfile: lock.lockfile.clone(),
        requirements,
        digest: None,
        copy: Some(PylockCopy { dir, args }),
    }))
}

/// Makes the relative paths of a `[[packages]]` entry (`directory`, `archive`, `sdist` and
/// `wheels` sources) absolute against the lock's directory, as PEP 751 reads them.
fn absolutize_paths(package: &mut toml_edit::Table, lock_dir: &Path) {
    fn fix(source: &mut dyn toml_edit::TableLike, lock_dir: &Path) {
        if let Some(path) = source.get_mut("path")
            && let Some(relative) = path.as_str().filter(|path| Path::new(path).is_relative())
        {
            *path = toml_edit::value(lock_dir.join(relative).display().to_string());
        }
    }
    for key in ["directory", "archive", "sdist"] {
        if let Some(source) = package
            .get_mut(key)
            .and_then(|item| item.as_table_like_mut())
        {
            fix(source, lock_dir);
        }
    }
    if let Some(wheels) = package.get_mut("wheels") {
        if let Some(array) = wheels.as_array_mut() {
            for wheel in array.iter_mut() {
                if let Some(table) = wheel.as_inline_table_mut() {
                    fix(table, lock_dir);
                }
            }
        } else if let Some(tables) = wheels.as_array_of_tables_mut() {
            for table in tables.iter_mut() {
                fix(table, lock_dir);
            }
        }
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

    /// The copy uv installs from has every entry but the project's, with paths that still name
    /// what they named, and the selection's groups only where the lock offers them.
    #[test]
    fn a_pylock_copy_leaves_out_the_project_and_keeps_its_paths() {
        let root = tempfile::tempdir().unwrap();
        let lockfile = root.path().join("pylock.toml");
        let written = "lock-version = \"1.0\"\ncreated-by = \"hand\"\ndependency-groups = [\"dev\"]\n\n\
             [[packages]]\nname = \"My_Ext\"\ndirectory = { path = \".\", editable = true }\n\n\
             [[packages]]\nname = \"helper\"\ndirectory = { path = \"../helper\" }\n\n\
             [[packages]]\nname = \"pytest\"\nversion = \"8.0.0\"\nmarker = \"'dev' in dependency_groups\"\n\
             wheels = [{ name = \"pytest-8.0.0-py3-none-any.whl\", path = \"wheels/pytest-8.0.0-py3-none-any.whl\" }]\n";
        fs_err::write(&lockfile, written).unwrap();
        let mut project = Project::for_tests(root.path().to_path_buf());
        project.dist_name = "my-ext".into();
        let lock = Lock {
            lockfile: lockfile.clone(),
            kind: LockKind::Pylock,
            uv: None,
        };
        let selection = Selection {
            extras: vec!["fast".into()],
            groups: Vec::new(),
        };
        let pinned = pylock_pins(&project, &selection, &lock, InstallerKind::Uv)
            .unwrap()
            .unwrap();
        assert_eq!(
            pinned.requirements,
            ["helper", "pytest==8.0.0 ; 'dev' in dependency_groups"]
        );
        let copy = pinned.copy.as_ref().unwrap();
        assert_eq!(copy.args, ["--group", "dev"], "no `fast` extra is offered");
        let text = fs_err::read_to_string(copy.dir.path().join("pylock.toml")).unwrap();
        assert!(!text.contains("My_Ext"), "{text}");
        let helper = root.path().join("../helper").display().to_string();
        let wheel = root
            .path()
            .join("wheels/pytest-8.0.0-py3-none-any.whl")
            .display()
            .to_string();
        assert!(text.contains(&format!("path = \"{helper}\"")), "{text}");
        assert!(text.contains(&format!("path = \"{wheel}\"")), "{text}");
        assert!(
            text.contains("created-by = \"hand\""),
            "the rest is kept: {text}"
        );

        assert!(
            pylock_pins(&project, &selection, &lock, InstallerKind::Pip)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            fs_err::read_to_string(&lockfile).unwrap(),
            written,
            "the lock itself is not written"
        );
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
