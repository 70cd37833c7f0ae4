//! `verify --stubs`: finds the project's `.pyi` stubs where maturin packages them, provisions
//! mypy (the venv's, else a tools venv the project never sees) and runs mypy's `stubtest` on
//! them against the installed, proven build, then ties every mismatch to the stub line and the
//! Rust definition. The checking is stubtest's own; `src/python/stubtest.py` only reports it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use super::report::{StubFile, StubMismatch, StubProblem, StubsChecker, StubsReport};
use crate::failure::user_error;
use crate::output;
use crate::project::Project;
use crate::python;
use crate::rust_source::Exports;
use crate::toolchain::Toolchain;
use crate::venv::{Venv, VenvOrigin};

/// What the tools venv gets when the project's venv has no mypy: pinned, so the checks (and the
/// `Error` fields `stubtest.py` reads) do not change under a project between two runs.
pub(crate) const MYPY_REQUIREMENT: &str = "mypy==2.4.1";

/// What to do when no tools venv with mypy can be made.
const NO_TOOLS_VENV_HINT: &str =
    "install mypy into the project's venv yourself (`pip install mypy`) and run again";

/// stubtest's own switches for what PyO3 extensions always differ in (`docs/verify.md`).
const STUBTEST_FLAGS: &[&str] = &["--ignore-disjoint-bases"];

/// The stubs of a project, and where they were looked for.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) files: Vec<StubFile>,
    pub(crate) searched: Vec<PathBuf>,
    /// Where mypy reads them from (`MYPYPATH`): the Python source root, or the project root.
    mypy_path: PathBuf,
    /// Packages that are parents of a stubbed module but have no stub of their own.
    ignore_errors_in: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

/// The stubs maturin would package: every `.pyi` in the Python package of a mixed project
/// (`__init__.pyi`, `_core.pyi`, …), or `<module>.pyi` at the root of a pure Rust project.
pub(crate) fn find(project: &Project) -> Result<Found> {
    let top = project.top_level_module();
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    let (mypy_path, searched) = match project.python_package() {
        Some(package) => {
            collect(&package, top, &mut files)?;
            if !files.is_empty() && !package.join("py.typed").is_file() {
                warnings.push(format!(
                    "`{}` has no `py.typed`: type checkers ignore the stubs of an installed package without it (PEP 561); add an empty one",
                    project.relative(&package).display()
                ));
            }
            (project.python_root.clone(), vec![package])
        }
        None => {
            let stub = project
                .project_dir
                .join(format!("{}.pyi", project.extension_name()));
            if stub.is_file() {
                files.push(StubFile {
                    module: top.to_owned(),
                    path: stub.clone(),
                });
            }
            (project.project_dir.clone(), vec![stub])
        }
    };
    files.sort_by(|left, right| left.module.cmp(&right.module));
    let stubbed: Vec<&str> = files.iter().map(|file| file.module.as_str()).collect();
    let mut ignore_errors_in: Vec<String> = Vec::new();
    for file in &files {
        let parts: Vec<&str> = file.module.split('.').collect();
        for end in 1..parts.len() {
            let parent = parts[..end].join(".");
            if !stubbed.contains(&parent.as_str()) && !ignore_errors_in.contains(&parent) {
                ignore_errors_in.push(parent);
            }
        }
    }
    // Relative to the project, as every path `verify` prints.
    for file in &mut files {
        file.path = project.relative(&file.path);
    }
    let searched = searched.iter().map(|path| project.relative(path)).collect();
    Ok(Found {
        files,
        searched,
        mypy_path,
        ignore_errors_in,
        warnings,
    })
}

/// Every `.pyi` under `dir`, as the module `prefix.…` it stubs.
fn collect(dir: &Path, prefix: &str, files: &mut Vec<StubFile>) -> Result<()> {
    let mut entries: Vec<PathBuf> = fs_err::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        if path.is_dir() {
            if super::is_dotted_identifier(name) && !name.contains('.') {
                collect(&path, &format!("{prefix}.{name}"), files)?;
            }
        } else if let Some(stem) = name.strip_suffix(".pyi") {
            let module = match stem {
                "__init__" => prefix.to_owned(),
                stem if super::is_dotted_identifier(stem) && !stem.contains('.') => {
                    format!("{prefix}.{stem}")
                }
                _ => continue,
            };
            files.push(StubFile { module, path });
        }
    }
    Ok(())
}

/// Where mypy comes from for this run.
struct Checker {
    /// The environment whose python runs stubtest.
    venv: Venv,
    /// The project's venv has mypy itself: no site-packages to add.
    in_project: bool,
}

/// The project's venv when it has mypy, else the tools venv under the target dir, made once
/// from the venv's base interpreter (so the extension's ABI matches) with a pinned mypy.
fn checker(project: &Project, venv: &Venv) -> Result<Checker> {
    if has_stubtest(venv) {
        return Ok(Checker {
            venv: Venv::open(&venv.root, VenvOrigin::Flag)?,
            in_project: true,
        });
    }
    let tools = project.target_dir.join("cargo-pyo3").join("tools");
    let version = venv.python_version().unwrap_or("unknown");
    let root = tools.join(format!("mypy-venv-{version}"));
    if root.join("pyvenv.cfg").is_file() {
        let tools_venv = Venv::open(&root, VenvOrigin::Created)?;
        if has_stubtest(&tools_venv) {
            return Ok(Checker {
                venv: tools_venv,
                in_project: false,
            });
        }
        // Half-made by a run that was stopped: made again below.
        fs_err::remove_dir_all(&root)?;
    }
    output::status(
        "Installing",
        format!(
            "`{MYPY_REQUIREMENT}` into `{}` for `--stubs` (the venv has no mypy; the project's venv is not changed)",
            project.relative(&root).display()
        ),
    );
    // A failed install already says what failed; a venv that could not be made does not yet.
    let failed = |error: anyhow::Error| {
        if crate::failure::hint_of(&error).is_some() {
            return error;
        }
        user_error(
            format!("failed to create the tools venv for mypy: {error:#}"),
            NO_TOOLS_VENV_HINT,
        )
    };
    // With pip when there is no uv: the installer is then the tools venv's own pip.
    let toolchain = Toolchain::find();
    let tools_venv = crate::venv::make_own(
        &root,
        &venv.base_interpreter(),
        toolchain.uv.as_deref(),
        true,
        |made| {
            let installer = toolchain.installer(made)?;
            installer
                .install_command(made)
                .arg(MYPY_REQUIREMENT)
                .run_captured()
                .map_err(|error| {
                    user_error(
                        format!("failed to install `{MYPY_REQUIREMENT}` for `--stubs`: {error}"),
                        NO_TOOLS_VENV_HINT,
                    )
                })?;
            Ok(())
        },
    );
    Ok(Checker {
        venv: tools_venv.map_err(failed)?,
        in_project: false,
    })
}

fn has_stubtest(venv: &Venv) -> bool {
    venv.site_packages()
        .is_some_and(|site| site.join("mypy").join("stubtest.py").is_file())
}

/// What `stubtest.py` reports.
#[derive(Debug, Deserialize)]
struct Checked {
    mypy_version: String,
    errors: Vec<CheckedError>,
    fatal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CheckedError {
    module: String,
    path: Vec<String>,
    name: String,
    message: String,
    stub: Option<String>,
    runtime: Option<String>,
    stub_file: Option<PathBuf>,
    stub_line: Option<u64>,
    #[serde(default)]
    artefact: Option<String>,
}

/// Runs stubtest on `found` against the module installed in `venv`.
pub(crate) fn check(
    project: &Project,
    venv: &Venv,
    exports: &Exports,
    found: Found,
    strict: bool,
) -> Result<StubsReport> {
    let Found {
        files,
        searched,
        mypy_path,
        ignore_errors_in,
        warnings,
    } = found;
    let mut report = StubsReport {
        searched,
        files,
        checker: None,
        mismatches: Vec::new(),
        artefacts: Vec::new(),
        allowlists: allowlists(project),
        problem: None,
        warnings,
    };
    if report.files.is_empty() {
        report.problem = Some(StubProblem::NoStubs);
        return Ok(report);
    }
    let checker = checker(project, venv)?;
    output::status(
        "Checking",
        format_args!(
            "{} with stubtest (`{}`)",
            super::render::count(report.files.len(), "stub"),
            project.relative(&checker.venv.python).display()
        ),
    );
    let site_packages: Vec<PathBuf> = if checker.in_project {
        Vec::new()
    } else {
        venv.site_packages().into_iter().collect()
    };
    let modules: Vec<&str> = report
        .files
        .iter()
        .map(|file| file.module.as_str())
        .collect();
    let checked: Checked = python::run(
        &checker.venv,
        python::STUBTEST,
        project.top_level_module(),
        &serde_json::json!({
            "modules": modules,
            "extension": project.extension_module(),
            "mypy_path": mypy_path,
            "site_packages": site_packages,
            "ignore_errors_in": ignore_errors_in,
            "flags": STUBTEST_FLAGS,
            "allowlists": report
                .allowlists
                .iter()
                .map(|path| project.project_dir.join(path))
                .collect::<Vec<_>>(),
        }),
        python::Vantage::Neutral,
    )
    .with_context(|| {
        format!(
            "failed to run stubtest with `{}`",
            checker.venv.python.display()
        )
    })?;
    report.checker = Some(StubsChecker {
        python: checker.venv.python.clone(),
        mypy_version: checked.mypy_version,
        in_project: checker.in_project,
    });
    if let Some(fatal) = checked.fatal {
        report.problem = Some(StubProblem::Failed { message: fatal });
    }
    let extension = project.extension_module();
    let (artefacts, drift): (Vec<StubMismatch>, Vec<StubMismatch>) = checked
        .errors
        .into_iter()
        .map(|error| mismatch(project, exports, &extension, error))
        .partition(|mismatch| mismatch.artefact.is_some() && !strict);
    report.mismatches = drift;
    report.artefacts = artefacts;
    Ok(report)
}

/// Where projects keep a stubtest allowlist (stubtest's `--allowlist` files), relative to the
/// project directory: at its root or beside its tests.
const ALLOWLIST_NAMES: &[&str] = &[
    ".stubtest-allowlist",
    "stubtest-allowlist.txt",
    "stubtest_allowlist.txt",
    ".stubtest_allowlist",
];

fn allowlists(project: &Project) -> Vec<PathBuf> {
    ["", "tests"]
        .iter()
        .flat_map(|dir| {
            ALLOWLIST_NAMES
                .iter()
                .map(move |name| Path::new(dir).join(name))
        })
        .filter(|relative| project.project_dir.join(relative).is_file())
        .collect()
}

fn mismatch(
    project: &Project,
    exports: &Exports,
    extension: &str,
    error: CheckedError,
) -> StubMismatch {
    // Exports are named from the root `#[pymodule]`: `Counter.incr`, `text.shout`.
    let within = error
        .module
        .strip_prefix(extension)
        .or_else(|| error.module.strip_prefix(project.top_level_module()))
        .map(|rest| rest.trim_start_matches('.'))
        .unwrap_or_default();
    let relative: Vec<&str> = within
        .split('.')
        .filter(|part| !part.is_empty())
        .chain(error.path.iter().map(String::as_str))
        .collect();
    // A stub's `__init__` describes the call PyO3 makes `__new__` from (`#[new]`).
    let rust = exports
        .get(&relative.join("."))
        .or_else(|| {
            let (last, owner) = relative.split_last()?;
            (*last == "__init__").then_some(())?;
            exports.get(&[owner, &["__new__"]].concat().join("."))
        })
        .map(|exported| exported.location.to_string());
    let kind = match (&error.stub, &error.runtime) {
        (None, _) => "not-in-stub",
        (_, None) => "not-at-runtime",
        _ => "differs",
    };
    StubMismatch {
        name: error.name,
        kind: kind.to_owned(),
        message: error.message,
        stub: error.stub,
        runtime: error.runtime,
        stub_file: error.stub_file.map(|file| project.relative(&file)),
        stub_line: error.stub_line,
        rust,
        artefact: error.artefact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, relative: &str) {
        let path = root.join(relative);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, "").unwrap();
    }

    #[test]
    fn a_mixed_package_has_every_pyi_as_the_module_it_stubs() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().to_path_buf();
        let mut project = Project::for_tests(root.clone());
        project.python_root = root.join("python");
        for file in [
            "python/demo/__init__.py",
            "python/demo/demo.pyi",
            "python/demo/sub/__init__.py",
            "python/demo/sub/text.pyi",
            "python/demo/not-a-module.pyi",
            "python/demo/notes.txt",
        ] {
            touch(&root, file);
        }
        let found = find(&project).unwrap();
        let modules: Vec<(&str, String)> = found
            .files
            .iter()
            .map(|file| (file.module.as_str(), file.path.display().to_string()))
            .collect();
        assert_eq!(
            modules,
            [
                ("demo.demo", "python/demo/demo.pyi".to_owned()),
                ("demo.sub.text", "python/demo/sub/text.pyi".to_owned()),
            ]
        );
        assert_eq!(found.searched, [PathBuf::from("python/demo")]);
        assert_eq!(found.mypy_path, root.join("python"));
        // The parents are code mypy reads, not stubs.
        assert_eq!(found.ignore_errors_in, ["demo", "demo.sub"]);
        assert_eq!(
            found.warnings.len(),
            1,
            "no `py.typed`: {:?}",
            found.warnings
        );

        touch(&root, "python/demo/py.typed");
        touch(&root, "python/demo/__init__.pyi");
        let found = find(&project).unwrap();
        assert_eq!(found.files[0].module, "demo");
        assert_eq!(found.ignore_errors_in, ["demo.sub"]);
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    }

    #[test]
    fn a_pure_rust_project_has_its_module_pyi_at_the_root() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().to_path_buf();
        let project = Project::for_tests(root.clone());
        let found = find(&project).unwrap();
        assert!(found.files.is_empty());
        assert_eq!(found.searched, [PathBuf::from("demo.pyi")]);

        touch(&root, "demo.pyi");
        let found = find(&project).unwrap();
        assert_eq!(found.files[0].module, "demo");
        assert_eq!(found.files[0].path, PathBuf::from("demo.pyi"));
        assert_eq!(found.mypy_path, root);
        assert!(found.ignore_errors_in.is_empty());
    }
}
