//! What project we are in: one `cargo metadata` call (plus one per path dependency outside the
//! workspace) and a typed read of `pyproject.toml`, resolved into a [`Project`] that every
//! command shares (package, module, layout, paths, and the build inputs the uv guard and the
//! freshness checks compare).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cargo_metadata::{Metadata, Package};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::failure::user_error;
use crate::process::Cmd;
use crate::settings::ProjectSettings;

/// A PyO3 package and the Python distribution it builds.
#[derive(Debug, Clone)]
pub(crate) struct Project {
    /// The directory holding `pyproject.toml` (or `Cargo.toml` when there is none).
    pub(crate) project_dir: PathBuf,
    pub(crate) manifest_path: PathBuf,
    pub(crate) package_dir: PathBuf,
    pub(crate) package_name: String,
    /// The cargo package's version.
    pub(crate) version: String,
    /// `[project] version` when pyproject.toml sets it: the installed distribution's version,
    /// which then differs from Cargo's.
    pub(crate) dist_version: Option<String>,
    /// The `[lib] name`, which names the `PyInit_` symbol unless `#[pymodule]` says otherwise.
    pub(crate) lib_name: String,
    /// The crate root, usually `src/lib.rs`.
    pub(crate) lib_src: PathBuf,
    pub(crate) dist_name: String,
    /// The full dotted module name: `tool.maturin.module-name`, else the lib name.
    pub(crate) module_name: String,
    /// `tool.maturin.python-source` resolved against the project directory (mixed layouts).
    pub(crate) python_source: Option<PathBuf>,
    /// Where maturin looks for the Python package: `python-source`, else `src/` when it holds
    /// `src/<import name>`, else the project directory.
    pub(crate) python_root: PathBuf,
    pub(crate) requirements: DeclaredRequirements,
    pub(crate) pyproject_path: Option<PathBuf>,
    pub(crate) target_dir: PathBuf,
    /// Where cargo keeps intermediate artifacts and fingerprints (`build_directory` in
    /// `cargo metadata`, cargo ≥ 1.91; the target dir unless `build.build-dir` is set).
    pub(crate) build_dir: PathBuf,
    /// The workspace's root `Cargo.toml` (the package's own manifest when it is not a member of
    /// a larger workspace): `[workspace.dependencies]`, profiles and patches there change the build.
    pub(crate) workspace_manifest: PathBuf,
    /// Where cargo keeps `Cargo.lock`: the workspace root, whether or not it exists yet. A fresh
    /// `maturin new` project has none until its first build writes it.
    pub(crate) cargo_lock: PathBuf,
    /// The package's build script, when it has one.
    pub(crate) build_script: Option<PathBuf>,
    /// Every package the build takes from a local path, transitively (path dependencies of path
    /// dependencies too), as `cargo metadata` reports them. Dev-dependencies are left out: they
    /// are never built into the extension.
    pub(crate) path_dependencies: Vec<PathDependency>,
    /// `[project] requires-python`, as written.
    pub(crate) requires_python: Option<String>,
    /// What can make the build abi3: the features the package's `pyo3`/`pyo3-ffi` dependency
    /// declares, its own `[features]` table, and `[tool.maturin] features`.
    pub(crate) abi3_inputs: Abi3Inputs,
}

/// The declarations an abi3 build comes from, read before anything is built.
#[derive(Debug, Clone, Default)]
pub(crate) struct Abi3Inputs {
    /// `pyo3 = { features = [...] }` (and `pyo3-ffi`'s), as `<dependency>/<feature>`.
    pub(crate) dependency_features: Vec<String>,
    /// The package's `[features]`: name → what it enables.
    pub(crate) features: BTreeMap<String, Vec<String>>,
    /// `[tool.maturin] features`.
    pub(crate) maturin_features: Vec<String>,
}

/// A dependency taken from a local path: its manifest, build script and sources are build inputs.
#[derive(Debug, Clone)]
pub(crate) struct PathDependency {
    pub(crate) dir: PathBuf,
    pub(crate) manifest_path: PathBuf,
    pub(crate) build_script: Option<PathBuf>,
    /// The directory of its library's crate root (usually `src/`).
    pub(crate) source_dir: PathBuf,
    /// Its library's crate name (`-` as `_`), as rustc names its dep-info files; `None` when
    /// cargo could not describe the package.
    pub(crate) crate_name: Option<String>,
}

/// A directory whose `.rs` files are compiled, and whether its subdirectories are too. A
/// directory that holds a manifest or the project itself is taken one level deep only, so no
/// walk (ours, or uv's for a glob key) goes through `target/` or `.venv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceDir {
    pub(crate) dir: PathBuf,
    pub(crate) recursive: bool,
}

/// The parts of `pyproject.toml` this tool reads.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PyProject {
    #[serde(default, rename = "build-system")]
    pub(crate) build_system: Option<BuildSystemTable>,
    #[serde(default)]
    pub(crate) project: Option<ProjectTable>,
    #[serde(default, rename = "dependency-groups")]
    pub(crate) dependency_groups: BTreeMap<String, Vec<GroupEntry>>,
    #[serde(default)]
    pub(crate) tool: Option<ToolTable>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct BuildSystemTable {
    pub(crate) build_backend: Option<String>,
    #[serde(default)]
    pub(crate) requires: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct ProjectTable {
    pub(crate) name: Option<String>,
    /// A static `version`; absent when it is `dynamic` (maturin then takes Cargo's).
    pub(crate) version: Option<String>,
    /// PEP 508 requirement strings.
    #[serde(default)]
    pub(crate) dependencies: Vec<String>,
    /// Extras: name → requirement strings.
    #[serde(default)]
    pub(crate) optional_dependencies: BTreeMap<String, Vec<String>>,
    /// A PEP 440 version specifier (`>=3.9`).
    pub(crate) requires_python: Option<String>,
}

/// One entry of a PEP 735 dependency group: a requirement string, or another group included.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub(crate) enum GroupEntry {
    Requirement(String),
    Include {
        #[serde(rename = "include-group")]
        include_group: String,
    },
}

/// What the project declares it needs at run time: `[project] dependencies`, its extras and its
/// dependency groups (`[dependency-groups]`, PEP 735).
#[derive(Debug, Clone, Default)]
pub(crate) struct DeclaredRequirements {
    pub(crate) dependencies: Vec<String>,
    pub(crate) extras: BTreeMap<String, Vec<String>>,
    pub(crate) groups: BTreeMap<String, Vec<GroupEntry>>,
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
    /// `bindings = "pyo3" | "pyo3-ffi" | "bin" | "cffi" | "uniffi"`, when set explicitly.
    pub(crate) bindings: Option<String>,
    /// Cargo features maturin activates for every build.
    #[serde(default)]
    pub(crate) features: Vec<String>,
}

impl Project {
    /// Where pytest starts and `test --watch` looks for the tests: the directory of
    /// `pyproject.toml`, as a user runs them.
    pub(crate) fn pyproject_dir(&self) -> &Path {
        self.pyproject_path
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(&self.project_dir)
    }

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

    /// The Python package beside the Rust code, in a mixed project: `<python root>/<top-level
    /// module>/` with an `__init__.py`, as maturin decides it. `None` for a pure Rust project.
    pub(crate) fn python_package(&self) -> Option<PathBuf> {
        let package = self.python_root.join(self.top_level_module());
        (package.join("__init__.py").is_file() || package.join("__init__.pyi").is_file())
            .then_some(package)
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
    /// dependency's.
    pub(crate) fn source_dirs(&self) -> Vec<SourceDir> {
        let own = self
            .lib_src
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.package_dir.join("src"));
        let mut dirs = vec![self.source_dir(own, &self.package_dir)];
        for dependency in &self.path_dependencies {
            dirs.push(self.source_dir(dependency.source_dir.clone(), &dependency.dir));
        }
        dirs
    }

    fn source_dir(&self, dir: PathBuf, package_dir: &Path) -> SourceDir {
        let recursive = !self.project_dir.starts_with(&dir) && dir != package_dir;
        SourceDir { dir, recursive }
    }

    /// Every file whose change can change the build: `pyproject.toml`, the manifest, the
    /// workspace's root manifest, `Cargo.lock` (listed even before cargo writes it, so that keys
    /// planned from this list stay complete after the first build), `build.rs`, the `.rs` files
    /// of the crate, and each path dependency's manifest, build script and sources. Symlinked
    /// directories are not entered (uv's cache-key globs do not follow them either).
    pub(crate) fn build_inputs(&self) -> Vec<PathBuf> {
        let mut inputs: Vec<PathBuf> = self.pyproject_path.iter().cloned().collect();
        inputs.push(self.manifest_path.clone());
        inputs.push(self.workspace_manifest.clone());
        inputs.push(self.cargo_lock.clone());
        inputs.extend(self.build_script.clone());
        for dependency in &self.path_dependencies {
            inputs.push(dependency.manifest_path.clone());
            inputs.extend(dependency.build_script.clone());
        }
        for SourceDir { dir, recursive } in self.source_dirs() {
            rust_files(&dir, recursive, &mut inputs);
        }
        let mut seen = std::collections::BTreeSet::new();
        inputs.retain(|input| seen.insert(input.clone()));
        inputs
    }

    /// The version the installed distribution will carry, as far as it is known before a build:
    /// `[project] version`, else Cargo's (the wheel's file name has the exact one).
    pub(crate) fn display_version(&self) -> &str {
        self.dist_version.as_deref().unwrap_or(&self.version)
    }

    pub(crate) fn uses_uv_lock(&self) -> bool {
        self.project_dir.join("uv.lock").is_file()
    }
}

#[cfg(test)]
impl Project {
    /// A pure-Rust project at `root` with the usual file names, for unit tests.
    pub(crate) fn for_tests(root: PathBuf) -> Project {
        Project {
            manifest_path: root.join("Cargo.toml"),
            package_dir: root.clone(),
            package_name: "demo".to_owned(),
            version: "0.1.0".to_owned(),
            dist_version: None,
            lib_name: "demo".to_owned(),
            lib_src: root.join("src/lib.rs"),
            dist_name: "demo".to_owned(),
            module_name: "demo".to_owned(),
            python_source: None,
            python_root: root.clone(),
            requirements: DeclaredRequirements::default(),
            pyproject_path: Some(root.join("pyproject.toml")),
            target_dir: root.join("target"),
            build_dir: root.join("target"),
            workspace_manifest: root.join("Cargo.toml"),
            cargo_lock: root.join("Cargo.lock"),
            build_script: None,
            path_dependencies: Vec::new(),
            requires_python: None,
            abi3_inputs: Abi3Inputs::default(),
            project_dir: root,
        }
    }
}

/// The directory the package's `Cargo.toml` is most likely in, found without running cargo:
/// the manifest [`discover`] starts from. `None` where `discover` will report an error. A
/// workspace's `-p` may select another member, so this is a guess to be checked against the
/// discovered `package_dir`.
pub(crate) fn probable_package_dir(args: &ProjectSettings) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    let located = locate(args.manifest_path.as_deref(), &cwd).ok()?;
    Some(parent(&located.manifest))
}

/// Finds and describes the project the user means.
pub(crate) fn discover(args: &ProjectSettings) -> Result<Project> {
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let located = locate(args.manifest_path.as_deref(), &cwd)?;
    let manifest_path = located.manifest;
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
    let python_side = PythonSide::of(located.pyproject.as_deref());
    let package = select_package(
        &metadata,
        &manifest_path,
        args.package.as_deref(),
        &python_side,
    )?;
    let package_manifest = package.manifest_path.clone().into_std_path_buf();
    let package_dir = parent(&package_manifest);
    let workspace_root = metadata.workspace_root.clone().into_std_path_buf();

    // With `-p` in a workspace, the pyproject belongs to the selected package.
    let pyproject_path = match located.pyproject {
        Some(path) if points_at(&path, &package_manifest) => Some(path),
        _ => find_pyproject(&package_manifest, &workspace_root)?,
    };
    let pyproject = match &pyproject_path {
        Some(path) => read_pyproject(path)?,
        None => PyProject::default(),
    };
    if let (Some(path), Some(build_system)) = (&pyproject_path, &pyproject.build_system) {
        check_build_backend(path, build_system)?;
    }
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
    let project_table = pyproject.project.as_ref();
    let dist_name = project_table
        .and_then(|project| project.name.clone())
        .unwrap_or_else(|| package.name.to_string());
    let dist_version = project_table.and_then(|project| project.version.clone());
    let target_dir = match &args.target_dir {
        Some(dir) => absolute(&cwd, dir),
        None => metadata.target_directory.clone().into_std_path_buf(),
    };
    let build_dir = metadata
        .build_directory
        .clone()
        .map(|dir| dir.into_std_path_buf())
        .unwrap_or_else(|| target_dir.clone());
    let workspace_manifest = workspace_root.join("Cargo.toml");
    let cargo_lock = workspace_root.join("Cargo.lock");
    let build_script = build_script_of(package);
    let path_dependencies = path_dependencies(&metadata, package, args.target_dir.as_deref());

    let python_source = maturin
        .and_then(|maturin| maturin.python_source.as_ref())
        .map(|source| project_dir.join(source));
    let python_root = python_source.clone().unwrap_or_else(|| {
        let src = project_dir.join("src");
        if src.join(dist_name.replace('-', "_")).is_dir() {
            src
        } else {
            project_dir.clone()
        }
    });
    let requirements = DeclaredRequirements {
        dependencies: project_table
            .map(|project| project.dependencies.clone())
            .unwrap_or_default(),
        extras: project_table
            .map(|project| project.optional_dependencies.clone())
            .unwrap_or_default(),
        groups: pyproject.dependency_groups.clone(),
    };

    let abi3_inputs = Abi3Inputs {
        dependency_features: package
            .dependencies
            .iter()
            .filter(|dependency| {
                dependency.kind != cargo_metadata::DependencyKind::Development
                    && matches!(dependency.name.as_str(), "pyo3" | "pyo3-ffi")
            })
            .flat_map(|dependency| {
                let name = dependency.rename.as_deref().unwrap_or(&dependency.name);
                dependency
                    .features
                    .iter()
                    .map(move |feature| format!("{name}/{feature}"))
            })
            .collect(),
        features: package
            .features
            .iter()
            .map(|(name, enables)| (name.clone(), enables.clone()))
            .collect(),
        maturin_features: maturin
            .map(|maturin| maturin.features.clone())
            .unwrap_or_default(),
    };
    let requires_python = project_table.and_then(|project| project.requires_python.clone());

    Ok(Project {
        requires_python,
        abi3_inputs,
        python_source,
        python_root,
        requirements,
        project_dir,
        manifest_path: package_manifest,
        package_dir,
        package_name: package.name.to_string(),
        version: package.version.to_string(),
        dist_version,
        lib_name,
        lib_src: lib.src_path.clone().into_std_path_buf(),
        dist_name,
        module_name,
        pyproject_path,
        target_dir,
        build_dir,
        workspace_manifest,
        cargo_lock,
        build_script,
        path_dependencies,
    })
}

fn build_script_of(package: &Package) -> Option<PathBuf> {
    package
        .targets
        .iter()
        .find(|target| target.is_custom_build())
        .map(|target| target.src_path.clone().into_std_path_buf())
}

/// The packages `package` takes from a local path, and theirs, breadth first. Workspace members
/// are in `metadata` already; a path dependency outside the workspace is read with its own
/// `cargo metadata --no-deps` call (40–60 ms measured, and only for such dependencies). One that
/// cargo cannot read alone (it belongs to a workspace that does not list it, say) is kept with
/// cargo's conventional layout, and its own path dependencies stay unknown.
fn path_dependencies(
    metadata: &Metadata,
    package: &Package,
    target_dir: Option<&Path>,
) -> Vec<PathDependency> {
    let mut known: Vec<Package> = metadata.packages.clone();
    let mut queue: std::collections::VecDeque<PathBuf> = local_dependencies(package).collect();
    let own_dir = parent(package.manifest_path.as_std_path());
    let mut seen = std::collections::BTreeSet::from([own_dir]);
    let mut found = Vec::new();
    while let Some(dir) = queue.pop_front() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        let manifest_path = dir.join("Cargo.toml");
        let is_it = |candidate: &&Package| candidate.manifest_path.as_std_path() == manifest_path;
        if !known.iter().any(|candidate| is_it(&candidate))
            && let Ok(outside) = cargo_metadata(&manifest_path, target_dir)
        {
            known.extend(outside.packages);
        }
        match known.iter().find(is_it) {
            Some(dependency) => {
                queue.extend(local_dependencies(dependency));
                let library = dependency.targets.iter().find(|target| {
                    !(target.is_custom_build()
                        || target.is_bin()
                        || target.is_example()
                        || target.is_test()
                        || target.is_bench())
                });
                let source_dir = library
                    .and_then(|target| target.src_path.parent())
                    .map(|dir| dir.as_std_path().to_path_buf())
                    .unwrap_or_else(|| dir.join("src"));
                found.push(PathDependency {
                    build_script: build_script_of(dependency),
                    source_dir,
                    crate_name: library.map(|target| target.name.replace('-', "_")),
                    manifest_path,
                    dir,
                });
            }
            None => found.push(PathDependency {
                build_script: Some(dir.join("build.rs")).filter(|path| path.is_file()),
                source_dir: dir.join("src"),
                crate_name: None,
                manifest_path,
                dir,
            }),
        }
    }
    found
}

/// The directories of the local path dependencies that are built with the package (normal and
/// build dependencies; dev-dependencies only build tests).
fn local_dependencies(package: &Package) -> impl Iterator<Item = PathBuf> + '_ {
    package
        .dependencies
        .iter()
        .filter(|dependency| dependency.kind != cargo_metadata::DependencyKind::Development)
        .filter_map(|dependency| Some(dependency.path.clone()?.into_std_path_buf()))
}

/// The manifest to hand to cargo, and the `pyproject.toml` that led to it, if one did.
struct Located {
    manifest: PathBuf,
    pyproject: Option<PathBuf>,
}

/// Finds the `Cargo.toml` the user means, the way maturin does, walking up from `cwd`: a
/// `pyproject.toml` leads through `tool.maturin.manifest-path`, else to the `Cargo.toml` beside it,
/// else to maturin's fallback `rust/Cargo.toml`; a `Cargo.toml` without a `pyproject.toml` is
/// taken as it is (its pyproject, if any, is looked for above it once cargo names the workspace).
fn locate(manifest_flag: Option<&Path>, cwd: &Path) -> Result<Located> {
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
        return Ok(Located {
            manifest: canonical(&manifest)?,
            pyproject: None,
        });
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
                return Ok(Located {
                    manifest: canonical(&manifest)?,
                    pyproject: Some(canonical(&pyproject)?),
                });
            }
            for manifest in [dir.join("Cargo.toml"), dir.join("rust").join("Cargo.toml")] {
                if manifest.is_file() {
                    return Ok(Located {
                        manifest: canonical(&manifest)?,
                        pyproject: Some(canonical(&pyproject)?),
                    });
                }
            }
        }
        let manifest = dir.join("Cargo.toml");
        if manifest.is_file() {
            return Ok(Located {
                manifest: canonical(&manifest)?,
                pyproject: None,
            });
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

/// The `pyproject.toml` of a crate, looked for as maturin looks with `--manifest-path`: in the
/// crate's directory and its parents, no higher than the parent of the cargo workspace root. One
/// that names another crate (its own `Cargo.toml`, or a `manifest-path` elsewhere) is passed by.
fn find_pyproject(manifest: &Path, workspace_root: &Path) -> Result<Option<PathBuf>> {
    let bound = workspace_root.parent().unwrap_or(workspace_root);
    for dir in manifest.ancestors().skip(1) {
        if !dir.starts_with(bound) {
            break;
        }
        let pyproject = dir.join("pyproject.toml");
        if !pyproject.is_file() {
            continue;
        }
        let own_crate = dir.join("Cargo.toml");
        let names_another = read_pyproject(&pyproject)?
            .tool
            .and_then(|tool| tool.maturin)
            .and_then(|maturin| maturin.manifest_path)
            .is_some()
            || (own_crate.is_file() && own_crate != manifest);
        if points_at(&pyproject, manifest) || !names_another {
            return Ok(Some(canonical(&pyproject)?));
        }
    }
    Ok(None)
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

/// The kinds of Python package maturin builds from a crate, as it detects them (explicit
/// `tool.maturin.bindings` first, then the crate's dependencies and targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bindings {
    /// An extension module through `pyo3`, or `pyo3-ffi` (the raw C API, as orjson uses it).
    Extension,
    /// `bindings = "bin"`: a program packaged as a wheel's script.
    Bin,
    /// A `cdylib` loaded through cffi.
    Cffi,
    /// A `cdylib` with uniffi's generated Python bindings.
    Uniffi,
    /// Not a Python package at all.
    None,
}

/// What the pyproject that led to the crate says about how maturin builds it.
#[derive(Debug, Default)]
struct PythonSide {
    /// `tool.maturin.bindings`.
    declared: Option<String>,
    /// `build-backend = "maturin"`: maturin builds this crate whatever its bindings are.
    maturin_backend: bool,
}

impl PythonSide {
    fn of(pyproject: Option<&Path>) -> PythonSide {
        let Some(pyproject) = pyproject.and_then(|path| read_pyproject(path).ok()) else {
            return PythonSide::default();
        };
        PythonSide {
            maturin_backend: pyproject
                .build_system
                .and_then(|build_system| build_system.build_backend)
                .is_some_and(|backend| backend == "maturin"),
            declared: pyproject.tool.and_then(|tool| tool.maturin?.bindings),
        }
    }
}

impl Bindings {
    fn detect(package: &Package, python_side: &PythonSide) -> Bindings {
        let maturin_project = python_side.maturin_backend || python_side.declared.is_some();
        match python_side.declared.as_deref() {
            Some("pyo3" | "pyo3-ffi") if package.targets.iter().any(is_cdylib) => {
                return Bindings::Extension;
            }
            Some("bin") => return Bindings::Bin,
            Some("cffi") => return Bindings::Cffi,
            Some("uniffi") => return Bindings::Uniffi,
            _ => {}
        }
        let depends_on = |name: &str| {
            package.dependencies.iter().any(|dependency| {
                dependency.name == name && dependency.kind == cargo_metadata::DependencyKind::Normal
            })
        };
        let cdylib = package.targets.iter().any(is_cdylib);
        let has_bin = package.targets.iter().any(|target| target.is_bin());
        // A dev- or build-dependency on pyo3 does not make an extension.
        let python_ffi = depends_on("pyo3") || depends_on("pyo3-ffi");
        if cdylib && python_ffi {
            Bindings::Extension
        } else if cdylib && depends_on("uniffi") {
            Bindings::Uniffi
        } else if has_bin && (python_ffi || maturin_project) {
            Bindings::Bin
        } else if cdylib && maturin_project {
            Bindings::Cffi
        } else {
            Bindings::None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Bindings::Extension => "pyo3",
            Bindings::Bin => "bin",
            Bindings::Cffi => "cffi",
            Bindings::Uniffi => "uniffi",
            Bindings::None => "none",
        }
    }
}

fn select_package<'a>(
    metadata: &'a Metadata,
    manifest_path: &Path,
    name: Option<&str>,
    python_side: &PythonSide,
) -> Result<&'a Package> {
    let members = metadata.workspace_packages();
    let is_extension =
        |package: &Package| Bindings::detect(package, python_side) == Bindings::Extension;
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
        if !is_extension(package) {
            return Err(not_an_extension(package, python_side));
        }
        return Ok(package);
    }
    let at_manifest = members
        .iter()
        .find(|package| package.manifest_path.as_std_path() == manifest_path);
    if let Some(package) = at_manifest
        && is_extension(package)
    {
        return Ok(package);
    }
    let candidates: Vec<&Package> = members
        .iter()
        .copied()
        .filter(|package| is_extension(package))
        .collect();
    match (candidates.as_slice(), at_manifest) {
        ([one], _) => Ok(one),
        ([], Some(package)) => Err(not_an_extension(package, python_side)),
        ([], None) => Err(not_pyo3(manifest_path)),
        (several, _) => Err(user_error(
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

/// Why `package` is not something `cargo pyo3` builds: another kind of maturin project gets
/// pointed at `maturin develop`, a plain crate at what makes it an extension.
fn not_an_extension(package: &Package, python_side: &PythonSide) -> anyhow::Error {
    let manifest = package.manifest_path.as_std_path();
    match Bindings::detect(package, python_side) {
        Bindings::None | Bindings::Extension => not_pyo3(manifest),
        // Detected, not declared: most often a PyO3 crate whose `pyo3` is missing or only a
        // dev- or build-dependency. Say what maturin would do, and both ways out.
        Bindings::Cffi if python_side.declared.is_none() => user_error(
            format!(
                "`{}` has a `cdylib` target but no `pyo3` or `pyo3-ffi` under `[dependencies]`, so \
                 maturin would build it with `cffi` bindings: it is not a PyO3 project",
                manifest.display()
            ),
            "for a PyO3 extension, add `pyo3` under `[dependencies]` (a dev- or build-dependency is \
             not linked into the extension); for a cffi project, use `maturin develop`",
        ),
        other => user_error(
            format!(
                "`{}` is a maturin project with `{}` bindings: `cargo pyo3` builds and proves \
                 Python extension modules (`pyo3` or `pyo3-ffi` in a `cdylib`) only",
                manifest.display(),
                other.name()
            ),
            "build and install this project with `maturin develop`",
        ),
    }
}

/// A `pyproject.toml` that names another build backend is built by that backend, not maturin:
/// its extension is placed, named and installed the backend's way, which `dev` would not
/// reproduce, so it is refused before anything is built. No `build-backend` at all is left to
/// maturin's reading of the crate.
fn check_build_backend(pyproject: &Path, build_system: &BuildSystemTable) -> Result<()> {
    let Some(backend) = build_system.build_backend.as_deref() else {
        return Ok(());
    };
    if backend == "maturin" {
        return Ok(());
    }
    // Names as PEP 508 reads them (pep508_rs normalises them).
    let requires = |name: &str| {
        build_system.requires.iter().any(|requirement| {
            <pep508_rs::Requirement as std::str::FromStr>::from_str(requirement)
                .is_ok_and(|requirement| requirement.name.as_ref() == name)
        })
    };
    let (what, instead) = if requires("setuptools-rust") {
        (
            format!("`{backend}` with setuptools-rust"),
            "build it as its developers do (`pip install -e .`)",
        )
    } else {
        (
            format!("`{backend}`"),
            "build it with its own backend (`pip install -e .`)",
        )
    };
    Err(user_error(
        format!(
            "`{}` builds the project with {what}, not maturin: `cargo pyo3` builds and proves \
             projects that maturin builds",
            pyproject.display()
        ),
        format!(
            "{instead}; to move it to maturin, set `requires = [\"maturin>=1.9,<2\"]` and \
             `build-backend = \"maturin\"` under `[build-system]`"
        ),
    ))
}

fn not_pyo3(manifest_path: &Path) -> anyhow::Error {
    user_error(
        format!(
            "`{}` is not a PyO3 project: no package has a `cdylib` target that depends on `pyo3` \
             or `pyo3-ffi`",
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
    let dir = parent(pyproject);
    let pointed = read_pyproject(pyproject)
        .ok()
        .and_then(|pyproject| pyproject.tool?.maturin?.manifest_path);
    let Some(relative) = pointed else {
        // Without `manifest-path`, maturin takes the `Cargo.toml` beside it, else `rust/`'s.
        let beside = dir.join("Cargo.toml");
        return beside == manifest
            || (!beside.is_file() && dir.join("rust/Cargo.toml") == manifest);
    };
    dir.join(relative)
        .canonicalize()
        .is_ok_and(|path| path == manifest)
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
