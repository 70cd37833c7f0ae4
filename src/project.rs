//! What project we are in: one `cargo metadata` call plus a typed read of `pyproject.toml`,
//! resolved into a [`Project`] that every command shares (package, module, layout, paths).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cargo_metadata::{Metadata, Package};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::cli::ProjectArgs;
use crate::output::user_error;
use crate::process::Cmd;

/// A PyO3 package and the Python distribution it builds.
#[derive(Debug, Clone)]
pub(crate) struct Project {
    /// The directory holding `pyproject.toml` (or `Cargo.toml` when there is none).
    pub(crate) project_dir: PathBuf,
    pub(crate) manifest_path: PathBuf,
    pub(crate) package_dir: PathBuf,
    pub(crate) package_name: String,
    pub(crate) version: String,
    /// The `[lib] name`, which names the `PyInit_` symbol unless `#[pymodule]` says otherwise.
    pub(crate) lib_name: String,
    /// The crate root, usually `src/lib.rs`.
    pub(crate) lib_src: PathBuf,
    pub(crate) dist_name: String,
    /// The full dotted module name: `tool.maturin.module-name`, else the lib name.
    pub(crate) module_name: String,
    /// `tool.maturin.python-source` resolved against the project directory (mixed layouts).
    pub(crate) python_source: Option<PathBuf>,
    pub(crate) pyproject_path: Option<PathBuf>,
    pub(crate) target_dir: PathBuf,
    /// Where cargo keeps intermediate artifacts and fingerprints (`build_directory` in
    /// `cargo metadata`, cargo ≥ 1.91; the target dir unless `build.build-dir` is set).
    pub(crate) build_dir: PathBuf,
    /// `Cargo.lock` of the workspace, when it exists.
    pub(crate) cargo_lock: Option<PathBuf>,
    /// The package's build script, when it has one.
    pub(crate) build_script: Option<PathBuf>,
    pub(crate) path_dependencies: Vec<PathDependency>,
}

/// A dependency taken from a local path: its sources are build inputs too.
#[derive(Debug, Clone)]
pub(crate) struct PathDependency {
    pub(crate) dir: PathBuf,
}

/// The parts of `pyproject.toml` this tool reads.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PyProject {
    #[serde(default)]
    pub(crate) project: Option<ProjectTable>,
    #[serde(default)]
    pub(crate) tool: Option<ToolTable>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ProjectTable {
    pub(crate) name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ToolTable {
    pub(crate) maturin: Option<MaturinTable>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct MaturinTable {
    pub(crate) module_name: Option<String>,
    pub(crate) python_source: Option<PathBuf>,
    pub(crate) manifest_path: Option<PathBuf>,
}

impl Project {
    /// `path` relative to the project directory when it lies inside, else as it is: for messages.
    pub(crate) fn relative(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.project_dir)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    }

    /// The last component of the module name: the extension's own file stem.
    pub(crate) fn extension_name(&self) -> &str {
        self.module_name
            .rsplit('.')
            .next()
            .unwrap_or(&self.module_name)
    }

    /// The dotted import name of the compiled extension inside the installed package: maturin
    /// puts a module `m` at `m/m.<suffix>` and a module `pkg.sub` at `pkg/sub.<suffix>`.
    pub(crate) fn extension_module(&self) -> String {
        if self.module_name.contains('.') {
            self.module_name.clone()
        } else {
            format!("{0}.{0}", self.module_name)
        }
    }

    /// The top-level package Python imports first.
    pub(crate) fn top_level_module(&self) -> &str {
        self.module_name
            .split('.')
            .next()
            .unwrap_or(&self.module_name)
    }

    /// Where this tool keeps the receipt and last wheel of this package. Keyed by the manifest
    /// path too, so two projects with one package name can share a target dir.
    pub(crate) fn state_dir(&self) -> PathBuf {
        let digest = Sha256::digest(self.manifest_path.as_os_str().as_encoded_bytes());
        let short: String = digest[..4]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        self.target_dir
            .join("cargo-pyo3")
            .join(format!("{}-{short}", self.package_name))
    }

    /// The lock `dev` holds from clean to receipt. Keyed by package name only: packages of one
    /// name in one target dir write the same `lib<name>.so`, so their builds must not overlap.
    pub(crate) fn lock_path(&self) -> PathBuf {
        self.target_dir
            .join("cargo-pyo3")
            .join(format!("{}.lock", self.package_name))
    }

    /// The directories whose `.rs` files are compiled: the crate root's directory, and each path
    /// dependency's `src/`.
    pub(crate) fn source_dirs(&self) -> Vec<PathBuf> {
        let own = self
            .lib_src
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.package_dir.join("src"));
        let mut dirs = vec![own];
        dirs.extend(
            self.path_dependencies
                .iter()
                .map(|dependency| dependency.dir.join("src")),
        );
        dirs
    }

    /// Every file whose change can change the build: `pyproject.toml`, the manifest,
    /// `Cargo.lock`, `build.rs`, the `.rs` files of the crate, and each path dependency's
    /// manifest, build script and sources. Symlinked directories are not entered (uv's cache-key
    /// globs do not follow them either). Sources that sit at the project's root are taken one
    /// level deep only, so the walk never goes through `target/` or `.venv`.
    pub(crate) fn build_inputs(&self) -> Vec<PathBuf> {
        let mut inputs: Vec<PathBuf> = self.pyproject_path.iter().cloned().collect();
        inputs.push(self.manifest_path.clone());
        inputs.extend(self.cargo_lock.clone());
        inputs.extend(self.build_script.clone());
        for dependency in &self.path_dependencies {
            for file in ["Cargo.toml", "build.rs"] {
                let path = dependency.dir.join(file);
                if path.is_file() {
                    inputs.push(path);
                }
            }
        }
        for dir in self.source_dirs() {
            let recursive = !self.project_dir.starts_with(&dir);
            rust_files(&dir, recursive, &mut inputs);
        }
        let mut seen = std::collections::BTreeSet::new();
        inputs.retain(|input| seen.insert(input.clone()));
        inputs
    }

    pub(crate) fn uses_uv_lock(&self) -> bool {
        self.project_dir.join("uv.lock").is_file()
    }
}

/// Finds and describes the project the user means.
pub(crate) fn discover(args: &ProjectArgs) -> Result<Project> {
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let (manifest_path, pyproject_path) = locate(args.manifest_path.as_deref(), &cwd)?;
    // cargo refuses such arguments; its error would be blamed on the manifest's contents.
    if manifest_path.to_str().is_none() {
        return Err(user_error(
            format!(
                "the path `{}` is not valid UTF-8, and cargo only takes UTF-8 paths",
                manifest_path.display()
            ),
            "rename the directories on that path to UTF-8 names",
        ));
    }
    let metadata = cargo_metadata(&manifest_path, args.target_dir.as_deref())?;
    let package = select_package(&metadata, &manifest_path, args.package.as_deref())?;
    let package_manifest = package.manifest_path.clone().into_std_path_buf();
    let package_dir = parent(&package_manifest);

    // With `-p` in a workspace, the pyproject belongs to the selected package.
    let pyproject_path = match pyproject_path {
        Some(path) if points_at(&path, &package_manifest) => Some(path),
        _ => Some(package_dir.join("pyproject.toml")).filter(|path| path.is_file()),
    };
    let pyproject = match &pyproject_path {
        Some(path) => read_pyproject(path)?,
        None => PyProject::default(),
    };
    let project_dir = pyproject_path
        .as_deref()
        .map(parent)
        .unwrap_or_else(|| package_dir.clone());
    let maturin = pyproject
        .tool
        .as_ref()
        .and_then(|tool| tool.maturin.as_ref());

    let lib = package
        .targets
        .iter()
        .find(|target| is_cdylib(target))
        .context("the selected package has no cdylib target")?;
    let lib_name = lib.name.replace('-', "_");
    let module_name = maturin
        .and_then(|maturin| maturin.module_name.clone())
        .unwrap_or_else(|| lib_name.clone());
    let dist_name = pyproject
        .project
        .as_ref()
        .and_then(|project| project.name.clone())
        .unwrap_or_else(|| package.name.to_string());
    let target_dir = match &args.target_dir {
        Some(dir) => absolute(&cwd, dir),
        None => metadata.target_directory.clone().into_std_path_buf(),
    };
    let build_dir = metadata
        .build_directory
        .clone()
        .map(|dir| dir.into_std_path_buf())
        .unwrap_or_else(|| target_dir.clone());
    let workspace_root = metadata.workspace_root.clone().into_std_path_buf();
    let cargo_lock = Some(workspace_root.join("Cargo.lock")).filter(|path| path.is_file());
    let build_script = package
        .targets
        .iter()
        .find(|target| target.is_custom_build())
        .map(|target| target.src_path.clone().into_std_path_buf());
    let path_dependencies = package
        .dependencies
        .iter()
        .filter_map(|dependency| {
            Some(PathDependency {
                dir: dependency.path.clone()?.into_std_path_buf(),
            })
        })
        .collect();

    Ok(Project {
        python_source: maturin
            .and_then(|maturin| maturin.python_source.as_ref())
            .map(|source| project_dir.join(source)),
        project_dir,
        manifest_path: package_manifest,
        package_dir,
        package_name: package.name.to_string(),
        version: package.version.to_string(),
        lib_name,
        lib_src: lib.src_path.clone().into_std_path_buf(),
        dist_name,
        module_name,
        pyproject_path,
        target_dir,
        build_dir,
        cargo_lock,
        build_script,
        path_dependencies,
    })
}

/// Returns the `Cargo.toml` to use and the `pyproject.toml` that goes with it, if any.
fn locate(manifest_flag: Option<&Path>, cwd: &Path) -> Result<(PathBuf, Option<PathBuf>)> {
    if let Some(flag) = manifest_flag {
        let manifest = absolute(cwd, flag);
        if manifest.is_dir() {
            return Err(user_error(
                format!(
                    "`--manifest-path` must point to a `Cargo.toml` file, not the directory `{}`",
                    flag.display()
                ),
                format!("pass `{}`", flag.join("Cargo.toml").display()),
            ));
        }
        if !manifest.is_file() {
            return Err(user_error(
                format!("manifest path `{}` does not exist", flag.display()),
                "check the path given to `--manifest-path`",
            ));
        }
        // cargo reads no other file name; its own error would blame the manifest's contents.
        if manifest.file_name() != Some(std::ffi::OsStr::new("Cargo.toml")) {
            return Err(user_error(
                format!(
                    "`--manifest-path` must point to a `Cargo.toml` file, not `{}`",
                    flag.display()
                ),
                format!("pass `{}`", flag.with_file_name("Cargo.toml").display()),
            ));
        }
        let manifest = canonical(&manifest)?;
        let pyproject = parent(&manifest).join("pyproject.toml");
        return Ok((manifest, Some(pyproject).filter(|path| path.is_file())));
    }

    for dir in cwd.ancestors() {
        let pyproject = dir.join("pyproject.toml");
        if pyproject.is_file() {
            let maturin_manifest = read_pyproject(&pyproject)?
                .tool
                .and_then(|tool| tool.maturin)
                .and_then(|maturin| maturin.manifest_path);
            if let Some(relative) = maturin_manifest {
                let manifest = dir.join(&relative);
                if !manifest.is_file() {
                    return Err(user_error(
                        format!(
                            "`tool.maturin.manifest-path` in `{}` points to `{}`, which does not exist",
                            pyproject.display(),
                            relative.display()
                        ),
                        "fix `manifest-path` under `[tool.maturin]`",
                    ));
                }
                return Ok((canonical(&manifest)?, Some(canonical(&pyproject)?)));
            }
        }
        let manifest = dir.join("Cargo.toml");
        if manifest.is_file() {
            let pyproject = Some(pyproject).filter(|path| path.is_file());
            let pyproject = pyproject.map(|path| canonical(&path)).transpose()?;
            return Ok((canonical(&manifest)?, pyproject));
        }
    }
    Err(user_error(
        format!(
            "could not find `Cargo.toml` in `{}` or any parent directory",
            cwd.display()
        ),
        "run this inside a PyO3 project, pass `--manifest-path`, or create one with `cargo pyo3 new`",
    ))
}

/// One `cargo metadata --no-deps` call: packages, targets, dependencies and the target dir.
fn cargo_metadata(manifest_path: &Path, target_dir: Option<&Path>) -> Result<Metadata> {
    let mut command = Cmd::new(cargo_program())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(manifest_path);
    if let Some(dir) = target_dir {
        command = command.env(crate::env::CARGO_TARGET_DIR, dir);
    }
    let captured = command.run_captured().map_err(|error| {
        user_error(
            format!("failed to read `{}`: {error}", manifest_path.display()),
            "fix the manifest so that `cargo metadata` accepts it",
        )
    })?;
    serde_json::from_str(&captured.stdout)
        .with_context(|| format!("failed to parse the output of `{command}`"))
}

/// The cargo that invoked us (`CARGO`), else the one on PATH.
pub(crate) fn cargo_program() -> std::ffi::OsString {
    std::env::var_os(crate::env::CARGO).unwrap_or_else(|| "cargo".into())
}

fn is_cdylib(target: &cargo_metadata::Target) -> bool {
    target
        .crate_types
        .contains(&cargo_metadata::CrateType::CDyLib)
}

/// A `cdylib` that links pyo3: a dev- or build-dependency on pyo3 does not make an extension.
fn is_pyo3_package(package: &Package) -> bool {
    package.targets.iter().any(is_cdylib)
        && package.dependencies.iter().any(|dependency| {
            dependency.name == "pyo3" && dependency.kind == cargo_metadata::DependencyKind::Normal
        })
}

fn select_package<'a>(
    metadata: &'a Metadata,
    manifest_path: &Path,
    name: Option<&str>,
) -> Result<&'a Package> {
    let members = metadata.workspace_packages();
    if let Some(name) = name {
        let package = members
            .iter()
            .find(|package| package.name.as_str() == name)
            .ok_or_else(|| {
                user_error(
                    format!("package `{name}` is not a member of the workspace"),
                    format!("members: {}", list_names(&members)),
                )
            })?;
        if !is_pyo3_package(package) {
            return Err(not_pyo3(&package.manifest_path.clone().into_std_path_buf()));
        }
        return Ok(package);
    }
    if let Some(package) = members
        .iter()
        .find(|package| package.manifest_path.as_std_path() == manifest_path)
        && is_pyo3_package(package)
    {
        return Ok(package);
    }
    let candidates: Vec<&Package> = members
        .iter()
        .copied()
        .filter(|package| is_pyo3_package(package))
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(not_pyo3(manifest_path)),
        several => Err(user_error(
            format!(
                "the workspace at `{}` has {} PyO3 packages: {}",
                metadata.workspace_root,
                several.len(),
                list_names(several)
            ),
            format!("choose one with `-p`, e.g. `-p {}`", several[0].name),
        )),
    }
}

fn list_names(packages: &[&Package]) -> String {
    packages
        .iter()
        .map(|package| format!("`{}`", package.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn not_pyo3(manifest_path: &Path) -> anyhow::Error {
    user_error(
        format!(
            "`{}` is not a PyO3 project: no package has a `cdylib` target that depends on `pyo3`",
            manifest_path.display()
        ),
        "add `crate-type = [\"cdylib\"]` under `[lib]` and `pyo3` under `[dependencies]`, \
         or start one with `cargo pyo3 new`",
    )
}

/// Typed read of `pyproject.toml`; a syntax or type error names the file, line and column.
pub(crate) fn read_pyproject(path: &Path) -> Result<PyProject> {
    let text = fs_err::read_to_string(path).map_err(|error| {
        let hint = if error.kind() == std::io::ErrorKind::InvalidData {
            format!("TOML files are UTF-8: save `{}` as UTF-8", path.display())
        } else {
            format!("check that `{}` is a readable file", path.display())
        };
        user_error(error.to_string(), hint)
    })?;
    toml_edit::de::from_str(&text).map_err(|error| {
        user_error(
            format!(
                "failed to parse `{}`: {}",
                path.display(),
                error.to_string().trim_end()
            ),
            format!("fix `{}` at the line shown", path.display()),
        )
    })
}

/// Whether a pyproject names `manifest` (next to it or through `tool.maturin.manifest-path`).
fn points_at(pyproject: &Path, manifest: &Path) -> bool {
    parent(pyproject).join("Cargo.toml") == manifest
        || read_pyproject(pyproject)
            .ok()
            .and_then(|pyproject| pyproject.tool?.maturin?.manifest_path)
            .and_then(|relative| parent(pyproject).join(relative).canonicalize().ok())
            .is_some_and(|path| path == manifest)
}

/// Collects the `.rs` files in `dir`, and below it when `recursive`. `file_type` does not follow
/// symlinks, so a symlinked directory is never entered.
fn rust_files(dir: &Path, recursive: bool, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(|entry| entry.ok()).collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() && recursive => rust_files(&path, recursive, files),
            Ok(kind) if kind.is_dir() => {}
            Ok(_) if path.extension().is_some_and(|extension| extension == "rs") => {
                files.push(path)
            }
            _ => {}
        }
    }
}

fn parent(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

/// Whether two paths name the same file (after resolving symlinks; as written when either
/// cannot be resolved).
pub(crate) fn same_file(left: &Path, right: &Path) -> bool {
    match (fs_err::canonicalize(left), fs_err::canonicalize(right)) {
        (Ok(left), Ok(right)) => left == right,
        _ => left == right,
    }
}

fn canonical(path: &Path) -> Result<PathBuf> {
    fs_err::canonicalize(path).map_err(Into::into)
}
