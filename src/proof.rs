//! The proof: import the module with the venv's own python, isolated (`-I`) and from an empty
//! directory so the source tree cannot shadow the install, then hash the file Python actually
//! loaded and compare it with the wheel's extension.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::digest::Stat;
use crate::platform;
pub(crate) use crate::python::Vantage;
use crate::python::{self, COPIES, PROOF};
use crate::venv::Venv;
use crate::wheel::{Wheel, sha256_file};

/// What the venv's python reported.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Report {
    pub(crate) version: String,
    pub(crate) executable: String,
    pub(crate) sys_path: Vec<String>,
    /// The working directory the interpreter ran in.
    #[serde(default)]
    pub(crate) cwd: String,
    /// The entries `PYTHONPATH` put on `sys.path`.
    #[serde(default)]
    pub(crate) pythonpath: Vec<String>,
    pub(crate) modules: Vec<ImportedModule>,
    pub(crate) mapped: Option<Vec<String>>,
    /// Why the mapped files could not be read, when the platform lists them.
    #[serde(default)]
    pub(crate) mapped_error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ImportedModule {
    pub(crate) name: String,
    pub(crate) file: Option<String>,
    pub(crate) error: Option<String>,
    /// The exception's class name, when the import failed.
    #[serde(default)]
    pub(crate) error_type: Option<String>,
    /// `ImportError.name`: the module that could not be imported.
    #[serde(default)]
    pub(crate) missing: Option<String>,
    /// `file:line` of the innermost frame outside the import machinery.
    #[serde(default)]
    pub(crate) origin: Option<String>,
    /// The name a `from <missing> import <name>` did not find in `missing`.
    #[serde(default)]
    pub(crate) name_not_found: Option<String>,
}

/// Why an extension could not be imported, as far as the import's exception tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImportFailure {
    /// "dynamic module does not define module export function": the file has no
    /// `PyInit_<name>` for the name Python imports it as.
    NoInitFunction,
    /// Another module, which the package imports, is not importable.
    MissingModule {
        module: String,
        imported_at: Option<String>,
    },
    /// `from <module> import <name>` found no `name` in `module`: when `module` is the
    /// extension, a Rust item the package re-exports that the build does not define.
    NameNotFound {
        name: String,
        module: String,
        imported_at: Option<String>,
    },
    Other,
}

/// One extension: what the wheel holds against what Python loaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LoadedExtension {
    pub(crate) module: String,
    pub(crate) entry: String,
    pub(crate) wheel_sha256: String,
    pub(crate) loaded_path: Option<PathBuf>,
    pub(crate) loaded_sha256: Option<String>,
    /// Whether `/proc/self/maps` shows the loaded file mapped into the process.
    pub(crate) mapped: Option<bool>,
    /// Why `mapped` is null: the platform lists no mapped files (macOS, Windows), or the list
    /// could not be read. Absent where the check was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mapped_unavailable: Option<String>,
    pub(crate) in_venv: bool,
    /// Why the proof fails for this extension; `None` when it holds.
    pub(crate) problem: Option<String>,
    /// What the import's exception says, when the import failed.
    #[serde(skip)]
    pub(crate) import_failure: Option<ImportFailure>,
}

impl LoadedExtension {
    pub(crate) fn holds(&self) -> bool {
        self.problem.is_none()
    }
}

/// Every file along `sys.path` that could be imported as `module`, and the one that wins.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Copies {
    pub(crate) copies: Vec<Copy>,
    pub(crate) winner: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) cwd: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Copy {
    pub(crate) path: String,
    pub(crate) sys_path_entry: String,
}

/// Lists the importable copies of an extension module from one vantage point, importing nothing.
pub(crate) fn find_copies(venv: &Venv, module: &str, vantage: Vantage<'_>) -> Result<Copies> {
    python::run(
        venv,
        COPIES,
        module,
        &serde_json::json!({ "module": module }),
        vantage,
    )
}

/// What the proof expects: the build, where it was installed, and the project root users start
/// `python` and pytest from.
pub(crate) struct Expected<'a> {
    pub(crate) top_level_module: &'a str,
    pub(crate) wheel: &'a Wheel,
    /// The copies an editable install placed beside the Python sources: they, and not the
    /// venv, are where the extensions must load from.
    pub(crate) placed: &'a [PathBuf],
    pub(crate) project_root: &'a Path,
}

/// The proof's two interpreters, started while the build runs ([`python::StartedProof`]).
pub(crate) struct Started {
    neutral: python::StartedProof,
    from_root: python::StartedProof,
}

/// Starts both vantage points' interpreters ahead of the build they will prove; `None` (said
/// with `-v`) when either cannot start, and [`prove`] starts them then.
pub(crate) fn start(venv: &Venv, top_level_module: &str, project_root: &Path) -> Option<Started> {
    let started = || -> Result<Started> {
        Ok(Started {
            neutral: python::start_proof(venv, top_level_module, Vantage::Neutral)?,
            from_root: python::start_proof(venv, top_level_module, Vantage::From(project_root))?,
        })
    };
    started()
        .inspect_err(|error| {
            crate::output::verbose(format_args!(
                "the proof not started before the build: {error}"
            ))
        })
        .ok()
}

/// Imports every extension of the wheel (and the top-level module) and checks each one, from a
/// neutral directory with `-I`, then as a user's `python` in the project root: both must load
/// the build, from where it was installed. Through the interpreters [`start`] started, when
/// there are.
pub(crate) fn prove(
    venv: &Venv,
    expected: &Expected<'_>,
    started: Option<Started>,
) -> Result<(Report, Vec<LoadedExtension>)> {
    let Expected {
        top_level_module,
        wheel,
        placed,
        project_root,
    } = expected;
    let mut names = vec![(*top_level_module).to_owned()];
    names.extend(
        wheel
            .extensions
            .iter()
            .map(|extension| extension.module.clone()),
    );
    names.dedup();
    // The file that lists what is mapped into the interpreter, where the platform has one.
    let input = serde_json::json!({ "modules": names, "maps": platform::MAPPED_FILES.ok() });
    // Both vantage points at once: two interpreter starts side by side cost about one (measured
    // 68 ms in sequence against the 25 ms of one, on the small fixture).
    let (neutral_ahead, from_root_ahead) = started
        .map(|started| (started.neutral, started.from_root))
        .unzip();
    let report_from = |ahead: Option<python::StartedProof>, vantage| match ahead {
        Some(started) => started.finish::<Report>(&input),
        None => python::run::<Report>(venv, PROOF, top_level_module, &input, vantage),
    };
    let placed: Vec<PathBuf> = placed
        .iter()
        .filter_map(|path| fs_err::canonicalize(path).ok())
        .collect();
    let anticipated = anticipated_files(venv, wheel, &placed);
    let (neutral, from_root, hashed_ahead) = std::thread::scope(|scope| {
        let from_root = scope.spawn(|| report_from(from_root_ahead, Vantage::From(project_root)));
        let hashed_ahead = scope.spawn(|| hash_ahead(&anticipated));
        let neutral = report_from(neutral_ahead, Vantage::Neutral);
        let from_root = from_root
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the proof from the project root panicked")));
        (neutral, from_root, hashed_ahead.join().unwrap_or_default())
    });
    let report = neutral?;
    let venv_root = fs_err::canonicalize(&venv.root)?;
    // Both vantage points normally load the same file: it is hashed once, ahead when it is
    // where it was expected and untouched since.
    let hashes = std::cell::RefCell::new(still_valid(hashed_ahead));
    let judge = |report: &Report| {
        // A package whose `__init__` fails after it imported the extension leaves the extension
        // in `sys.modules`, so a later import of it alone succeeds; a user's `import pkg`, which
        // every import of `pkg._core` starts with, still fails. That failure is the verdict.
        let package_failed = report
            .modules
            .iter()
            .find(|module| module.name == *top_level_module && module.error.is_some());
        wheel
            .extensions
            .iter()
            .map(|extension| {
                let imported = package_failed.or_else(|| {
                    report
                        .modules
                        .iter()
                        .find(|module| module.name == extension.module)
                });
                check_one(extension, imported, report, &venv_root, &placed, &hashes)
            })
            .collect::<Result<Vec<_>>>()
    };
    let mut extensions = judge(&report)?;
    if extensions.iter().all(LoadedExtension::holds) {
        let from_root = from_root?;
        for (extension, at_root) in extensions.iter_mut().zip(judge(&from_root)?) {
            let problem = match (&at_root.problem, &at_root.loaded_path) {
                (Some(problem), _) => Some(problem.clone()),
                (None, loaded) if loaded != &extension.loaded_path => Some(format!(
                    "Python loads `{}` instead",
                    loaded.as_deref().unwrap_or(Path::new("?")).display()
                )),
                (None, _) => None,
            };
            if let Some(problem) = problem {
                extension.problem = Some(format!(
                    "from the project root `{}`, where `python` and pytest start: {problem}",
                    project_root.display()
                ));
                extension.import_failure = at_root.import_failure;
            }
        }
    }
    Ok((report, extensions))
}

/// The files the extensions should load from: the copies an editable install placed, else
/// where the installer put the wheel's entries in site-packages.
fn anticipated_files(venv: &Venv, wheel: &Wheel, placed: &[PathBuf]) -> Vec<PathBuf> {
    if !placed.is_empty() {
        return placed.to_vec();
    }
    let Some(site_packages) = venv.site_packages() else {
        return Vec::new();
    };
    wheel
        .extensions
        .iter()
        .filter_map(|extension| fs_err::canonicalize(site_packages.join(&extension.entry)).ok())
        .collect()
}

/// A file hashed while the interpreters import it, with its `stat` from before it was read (as
/// the digest takes its inputs).
struct HashedAhead {
    path: PathBuf,
    before: Stat,
    sha256: String,
}

/// Hashes `files` (megabytes of debug build) while the proof's interpreters import them, instead
/// of after their report; a file that cannot be read is left for the hash after the report.
fn hash_ahead(files: &[PathBuf]) -> Vec<HashedAhead> {
    files
        .iter()
        .filter_map(|path| {
            let before = Stat::of(path)?;
            let sha256 = sha256_file(path).ok()?;
            Some(HashedAhead {
                path: path.clone(),
                before,
                sha256,
            })
        })
        .collect()
}

/// The hashes taken ahead of files that are, after the interpreters loaded them, in the state
/// they were read in: nothing wrote, replaced or touched them since, so the hash is of the bytes
/// Python loaded. The others are hashed again when a report names them.
fn still_valid(hashed: Vec<HashedAhead>) -> std::collections::HashMap<PathBuf, String> {
    hashed
        .into_iter()
        .filter(|hashed| Stat::of(&hashed.path) == Some(hashed.before))
        .map(|hashed| (hashed.path, hashed.sha256))
        .collect()
}

fn check_one(
    extension: &crate::wheel::WheelExtension,
    imported: Option<&ImportedModule>,
    report: &Report,
    venv_root: &Path,
    placed: &[PathBuf],
    hashes: &std::cell::RefCell<std::collections::HashMap<PathBuf, String>>,
) -> Result<LoadedExtension> {
    let mut loaded = LoadedExtension {
        module: extension.module.clone(),
        entry: extension.entry.clone(),
        wheel_sha256: extension.sha256.clone(),
        loaded_path: None,
        loaded_sha256: None,
        mapped: None,
        mapped_unavailable: None,
        in_venv: false,
        problem: None,
        import_failure: None,
    };
    let Some(imported) = imported else {
        loaded.problem = Some("the module was not imported".into());
        return Ok(loaded);
    };
    if let Some(error) = &imported.error {
        let failure = classify_import_error(imported, &imported.name);
        loaded.problem = Some(match &failure {
            ImportFailure::MissingModule {
                module,
                imported_at: Some(at),
            } => format!(
                "`import {}` failed: it imports `{module}` at `{at}`, which is not installed in the venv ({error})",
                imported.name
            ),
            _ => format!("`import {}` failed: {error}", imported.name),
        });
        loaded.import_failure = Some(failure);
        return Ok(loaded);
    }
    let Some(file) = &imported.file else {
        loaded.problem = Some(format!("`{}` has no `__file__`", extension.module));
        return Ok(loaded);
    };
    let path = fs_err::canonicalize(file)?;
    let known = hashes.borrow().get(&path).cloned();
    let sha256 = match known {
        Some(sha256) => sha256,
        None => {
            let sha256 = sha256_file(&path)?;
            hashes.borrow_mut().insert(path.clone(), sha256.clone());
            sha256
        }
    };
    loaded.in_venv = path.starts_with(venv_root);
    loaded.mapped = report.mapped.as_ref().map(|mapped| {
        mapped.iter().any(|candidate| {
            Path::new(candidate) == path || Path::new(candidate) == Path::new(file)
        })
    });
    if loaded.mapped.is_none() {
        loaded.mapped_unavailable = match (&report.mapped_error, platform::MAPPED_FILES) {
            (Some(error), Ok(maps)) => {
                Some(format!("not checked: `{maps}` could not be read: {error}"))
            }
            _ => platform::mapped_unavailable(),
        };
    }
    let where_installed = if placed.is_empty() {
        loaded.in_venv
    } else {
        placed.contains(&path)
    };
    loaded.problem = if !where_installed && !placed.is_empty() {
        Some(format!(
            "Python loaded `{}`, not the copy placed beside the sources: {}",
            path.display(),
            why_it_wins(&path, report)
        ))
    } else if !where_installed {
        Some(format!(
            "Python loaded `{}`, outside the venv `{}`: {}",
            path.display(),
            venv_root.display(),
            why_it_wins(&path, report)
        ))
    } else if sha256 != extension.sha256 {
        Some(format!(
            "the loaded `{}` (sha256 {}) is not the wheel's extension (sha256 {}): the install did not replace it, or it changed since",
            path.display(),
            crate::output::short_hash(&sha256),
            crate::output::short_hash(&extension.sha256)
        ))
    } else if loaded.mapped == Some(false) {
        Some(format!(
            "`{}` is not mapped into the interpreter that imported it",
            path.display()
        ))
    } else {
        None
    };
    loaded.loaded_path = Some(path);
    loaded.loaded_sha256 = Some(sha256);
    Ok(loaded)
}

/// Reads the cause out of a failed import of `module`.
fn classify_import_error(imported: &ImportedModule, module: &str) -> ImportFailure {
    let error = imported.error.as_deref().unwrap_or_default();
    if error.contains("does not define module export function") {
        return ImportFailure::NoInitFunction;
    }
    if let (Some(name), Some(from)) = (&imported.name_not_found, &imported.missing) {
        return ImportFailure::NameNotFound {
            name: name.clone(),
            module: from.clone(),
            imported_at: imported.origin.clone(),
        };
    }
    match (&imported.error_type, &imported.missing) {
        (Some(kind), Some(missing))
            if kind == "ModuleNotFoundError"
                && missing != module
                && !module.starts_with(&format!("{missing}."))
                && !missing.starts_with(&format!("{module}.")) =>
        {
            ImportFailure::MissingModule {
                module: missing.clone(),
                imported_at: imported.origin.clone(),
            }
        }
        _ => ImportFailure::Other,
    }
}

/// Names the `sys.path` entry that made a foreign copy win.
fn why_it_wins(path: &Path, report: &Report) -> String {
    // The entry the file was found under is the longest one that contains it (`old_build/` wins
    // over the working directory that holds it).
    let winner = report
        .sys_path
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            // `''` is the working directory, which a plain `python` puts first.
            let dir = if entry.is_empty() {
                report.cwd.as_str()
            } else {
                entry.as_str()
            };
            (index, entry, dir)
        })
        .filter(|(_, _, dir)| !dir.is_empty())
        .filter_map(|(index, entry, dir)| {
            let resolved = fs_err::canonicalize(dir).ok()?;
            path.starts_with(&resolved)
                .then(|| (index, entry, dir, resolved.components().count()))
        })
        .max_by_key(|(index, _, _, depth)| (*depth, std::cmp::Reverse(*index)));
    match winner {
        Some((index, entry, dir, _)) if entry.is_empty() || dir == report.cwd => format!(
            "`sys.path[{index}]` is the working directory `{dir}`, which a plain `python` (and \
             `python -m pytest`) searches first"
        ),
        Some((index, entry, _, _)) if report.pythonpath.contains(entry) => format!(
            "`sys.path[{index}]` is `{entry}`, from `PYTHONPATH`, which is searched before the \
             venv's copy: unset `PYTHONPATH`"
        ),
        Some((index, entry, _, _)) => format!(
            "`sys.path[{index}]` is `{entry}` (added by a `.pth` file or the interpreter's \
             configuration), which is searched before the venv's copy"
        ),
        None => "no `sys.path` entry explains it".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_taken_ahead_counts_only_for_a_file_untouched_since() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept.so");
        let rewritten = dir.path().join("rewritten.so");
        let replaced = dir.path().join("replaced.so");
        for path in [&kept, &rewritten, &replaced] {
            fs_err::write(path, b"the build").unwrap();
        }
        let hashed = hash_ahead(&[
            kept.clone(),
            rewritten.clone(),
            replaced.clone(),
            dir.path().join("missing.so"),
        ]);
        assert_eq!(
            hashed.len(),
            3,
            "a missing file is left for after the report"
        );
        // A file whose modification time was set back, and a new file renamed over it: both
        // move the identity, so the hash read before is not trusted.
        let file = fs_err::OpenOptions::new()
            .write(true)
            .open(&rewritten)
            .unwrap();
        file.file()
            .set_modified(std::time::SystemTime::UNIX_EPOCH)
            .unwrap();
        drop(file);
        let other = dir.path().join("other");
        fs_err::write(&other, b"another!!").unwrap();
        fs_err::rename(&other, &replaced).unwrap();

        let valid = still_valid(hashed);
        assert_eq!(
            valid.keys().collect::<Vec<_>>(),
            [&kept],
            "only the untouched file keeps its hash"
        );
        assert_eq!(valid[&kept], sha256_file(&kept).unwrap());
    }

    fn report(mapped: Option<Vec<String>>, mapped_error: Option<&str>) -> Report {
        Report {
            version: "3.11.7".into(),
            executable: "python".into(),
            sys_path: Vec::new(),
            cwd: String::new(),
            pythonpath: Vec::new(),
            modules: Vec::new(),
            mapped,
            mapped_error: mapped_error.map(str::to_owned),
        }
    }

    /// The receipt says why `mapped` is null, and says nothing when the check was made.
    #[test]
    fn an_unmade_mapping_check_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let venv = fs_err::canonicalize(dir.path()).unwrap();
        let file = venv.join("demo.so");
        fs_err::write(&file, "built").unwrap();
        let extension = crate::wheel::WheelExtension {
            entry: "demo.so".into(),
            module: "demo".into(),
            sha256: sha256_file(&file).unwrap(),
        };
        let imported = ImportedModule {
            name: "demo".into(),
            file: Some(file.to_string_lossy().into_owned()),
            error: None,
            error_type: None,
            missing: None,
            origin: None,
            name_not_found: None,
        };
        let check = |report: &Report| {
            check_one(
                &extension,
                Some(&imported),
                report,
                &venv,
                &[],
                &Default::default(),
            )
        };

        let mapped = vec![file.to_string_lossy().into_owned()];
        let checked = check(&report(Some(mapped), None)).unwrap();
        assert_eq!(
            (checked.mapped, checked.mapped_unavailable.as_deref()),
            (Some(true), None)
        );
        assert!(checked.holds(), "{checked:?}");

        let unread = check(&report(None, Some("Permission denied"))).unwrap();
        assert_eq!(unread.mapped, None);
        let why = unread.mapped_unavailable.clone().unwrap();
        assert!(why.starts_with("not checked: "), "{why}");
        match platform::MAPPED_FILES {
            Ok(maps) => assert!(
                why.contains(maps) && why.contains("Permission denied"),
                "{why}"
            ),
            Err(platform_says) => assert_eq!(why, platform_says),
        }
        // The proof rests on `__file__` and the hash where the mapping is not checked.
        assert!(unread.holds(), "{unread:?}");
    }
}
