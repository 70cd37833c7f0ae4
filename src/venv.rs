//! Which virtual environment: found the way maturin finds it (`--venv`, `VIRTUAL_ENV`, `.venv`
//! here or in a parent), or created in the project directory when there is none. Where a venv
//! keeps its python and site-packages is the platform's (`platform::VenvLayout`).

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::output;

use crate::failure::user_error;
use crate::platform::{self, VenvLayout};
use crate::process::Cmd;

/// Why this venv was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum VenvOrigin {
    /// `--venv PATH`
    Flag,
    /// `$VIRTUAL_ENV`
    VirtualEnv,
    /// `.venv` in the project directory or a parent
    DotVenv,
    /// created by this run
    Created,
    /// `.venv-3.X`, the venv of one of several interpreters (`--python` repeated)
    Interpreter,
}

impl VenvOrigin {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            VenvOrigin::Flag => "given with `--venv`",
            VenvOrigin::VirtualEnv => "from `VIRTUAL_ENV`",
            VenvOrigin::DotVenv => "`.venv` found from the project directory",
            VenvOrigin::Created => "created by this run",
            VenvOrigin::Interpreter => "the venv of one of several `--python` interpreters",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Venv {
    pub(crate) root: PathBuf,
    pub(crate) python: PathBuf,
    pub(crate) origin: VenvOrigin,
    layout: VenvLayout,
    config: Vec<(String, String)>,
    /// For a venv this run created: the interpreter it was made from, and why that one.
    pub(crate) created_with: Option<CreatedWith>,
}

/// The local interpreter a new venv is made from, and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CreatedWith {
    pub(crate) interpreter: PathBuf,
    pub(crate) reason: String,
}

/// The venv of one of several interpreters: at `root` (`.venv-3.X` beside the project), made
/// from `created_with` when it does not exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InterpreterVenv {
    pub(crate) root: PathBuf,
    /// `3.12`: the version the venv must hold.
    pub(crate) minor: String,
    pub(crate) created_with: CreatedWith,
    /// The first of the run: the project's own warnings are said once, in its run.
    pub(crate) first: bool,
}

/// Picks the interpreter for a new venv, on this machine only: `--python` (a path, a command, or
/// a version such as `3.12` meaning `python3.12`; the pipeline looks a version up with
/// `interpreter/` before it gets here, since a pyenv shim may not answer), then the project's `.python-version` when a
/// matching `python3.X` is on PATH, then `python3`, the interpreter maturin itself would use.
/// Nothing here asks uv to find one, so no interpreter is ever downloaded.
fn choose_interpreter(project_dir: &Path, python: Option<&str>) -> Result<CreatedWith> {
    // Looked up on PATH only; the venv is then made from the project directory, where a pyenv
    // shim answers for the version a `.python-version` there selects.
    let lookup = |request: &str| -> Option<PathBuf> {
        let command = if request.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            format!("python{request}")
        } else {
            request.to_owned()
        };
        which::which(command).ok()
    };
    if let Some(python) = python {
        // A path is the interpreter the user named: taken as it is.
        let named = Path::new(python);
        let interpreter = (named.components().count() > 1 && named.is_file())
            .then(|| std::path::absolute(named).ok())
            .flatten()
            .or_else(|| lookup(python))
            .ok_or_else(|| {
                user_error(
                    format!("`--python {python}`: no such interpreter on this machine"),
                    "pass a path to a python, a command on PATH, or a version (`3.X` looks for \
                 `python3.X` on PATH)",
                )
            })?;
        return Ok(CreatedWith {
            interpreter,
            reason: format!("`--python {python}`"),
        });
    }
    let pinned = fs_err::read_to_string(project_dir.join(".python-version"))
        .ok()
        .and_then(|text| {
            text.lines()
                .map(str::trim)
                .find(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_owned)
        });
    if let Some(pinned) = &pinned {
        // `3.12`, `3.12.4` or `cpython-3.12`: the minor version is what a `python3.X` names.
        let version = pinned
            .trim_start_matches("cpython-")
            .trim_start_matches("cpython");
        let minor: Vec<&str> = version.split('.').take(2).collect();
        if let Some(interpreter) = (minor.len() == 2)
            .then(|| lookup(&minor.join(".")))
            .flatten()
        {
            return Ok(CreatedWith {
                interpreter,
                reason: format!("`.python-version` asks for {pinned}"),
            });
        }
        output::warning(format_args!(
            "`.python-version` asks for {pinned}, but no `python{}` is on PATH; the venv is made \
             from `{}` instead (nothing is downloaded)",
            minor.join("."),
            platform::DEFAULT_PYTHON
        ));
    }
    let interpreter = lookup(platform::DEFAULT_PYTHON).ok_or_else(|| {
        user_error(
            format!(
                "no `{}` on PATH to create the venv with",
                platform::DEFAULT_PYTHON
            ),
            "pass an interpreter with `--python`, or create the venv yourself and pass `--venv`",
        )
    })?;
    Ok(CreatedWith {
        interpreter,
        reason: format!(
            "`{}` on PATH, the interpreter maturin would use",
            platform::DEFAULT_PYTHON
        ),
    })
}

impl Venv {
    /// Finds the venv to use; `Ok(None)` when there is none yet.
    pub(crate) fn find(flag: Option<&Path>, project_dir: &Path) -> Result<Option<Venv>> {
        if let Some(path) = flag {
            let root = std::path::absolute(path)?;
            if !root.exists() {
                return Err(user_error(
                    format!(
                        "the venv `{}` given with `--venv` does not exist",
                        path.display()
                    ),
                    "pass an existing virtual environment, or leave out `--venv` to use or create `.venv`",
                ));
            }
            return Venv::open(&root, VenvOrigin::Flag).map(Some);
        }
        if let Some(value) = std::env::var_os(crate::env::VIRTUAL_ENV).filter(|v| !v.is_empty()) {
            let root = PathBuf::from(&value);
            if !root.exists() {
                return Err(user_error(
                    format!(
                        "`VIRTUAL_ENV` points to `{}`, which does not exist",
                        root.display()
                    ),
                    "run `deactivate` or `unset VIRTUAL_ENV`, or activate an existing venv",
                ));
            }
            return Venv::open(&root, VenvOrigin::VirtualEnv).map(Some);
        }
        for dir in project_dir.ancestors() {
            let candidate = dir.join(".venv");
            if candidate.join("pyvenv.cfg").is_file() {
                return Venv::open(&candidate, VenvOrigin::DotVenv).map(Some);
            }
        }
        Ok(None)
    }

    /// Opens an existing venv and checks that it has a working python.
    pub(crate) fn open(root: &Path, origin: VenvOrigin) -> Result<Venv> {
        Venv::open_with(root, origin, VenvLayout::NATIVE)
    }

    /// [`Venv::open`] for venvs of `layout`: the native one, or another platform's in tests.
    fn open_with(root: &Path, origin: VenvOrigin, layout: VenvLayout) -> Result<Venv> {
        let config_path = root.join("pyvenv.cfg");
        let config_text = fs_err::read_to_string(&config_path).map_err(|_| {
            user_error(
                format!(
                    "`{}` ({}) is not a virtual environment: it has no `pyvenv.cfg`",
                    root.display(),
                    origin.describe()
                ),
                match origin {
                    VenvOrigin::VirtualEnv => {
                        "activate a virtual environment, or run `deactivate` or `unset VIRTUAL_ENV`"
                            .to_owned()
                    }
                    _ => format!(
                        "create one with `{} -m venv` or `uv venv`, or point `--venv` at one",
                        platform::DEFAULT_PYTHON
                    ),
                },
            )
        })?;
        let python = layout.python(root);
        let foreign = layout.other().python(root);
        if !python.exists() && foreign.is_file() {
            return Err(user_error(
                format!(
                    "the venv `{}` ({}) was made on another platform: it has {} and no `{}`",
                    root.display(),
                    origin.describe(),
                    layout.other().describe(),
                    python.display()
                ),
                format!(
                    "a venv only works on the platform that made it; create one here with \
                     `uv venv` or `{} -m venv`, or point `--venv` at one",
                    platform::DEFAULT_PYTHON
                ),
            ));
        }
        if !python.exists() {
            let why = if python.is_symlink() {
                "is a dangling symlink"
            } else {
                "does not exist"
            };
            // Only a `.venv` found by discovery is recreated by running `dev` without it.
            let fix = match origin {
                VenvOrigin::DotVenv | VenvOrigin::Created | VenvOrigin::Interpreter => format!(
                    "remove `{}` and run `cargo pyo3 dev` to create a new one",
                    root.display()
                ),
                VenvOrigin::Flag | VenvOrigin::VirtualEnv => format!(
                    "recreate it with `uv venv --clear {0}` or `{1} -m venv --clear {0}`",
                    root.display(),
                    platform::DEFAULT_PYTHON
                ),
            };
            return Err(user_error(
                format!(
                    "the venv `{}` ({}) has no working python: `{}` {why}",
                    root.display(),
                    origin.describe(),
                    python.display()
                ),
                format!("its base interpreter is gone; {fix}"),
            ));
        }
        Ok(Venv {
            root: root.to_path_buf(),
            python,
            origin,
            layout,
            config: parse_config(&config_text),
            created_with: None,
        })
    }

    /// Opens the venv of one of several interpreters, or creates it when there is none: an
    /// existing one must hold that interpreter's version, never silently another.
    pub(crate) fn of_interpreter(
        wanted: &InterpreterVenv,
        project_dir: &Path,
        uv: Option<&Path>,
    ) -> Result<Venv> {
        let root = &wanted.root;
        if !root.join("pyvenv.cfg").is_file() {
            return Venv::create_at(root, project_dir, wanted.created_with.clone(), uv);
        }
        let venv = Venv::open(root, VenvOrigin::Interpreter)?;
        let holds = venv.python_version().unwrap_or_default();
        let same = holds == wanted.minor || holds.starts_with(&format!("{}.", wanted.minor));
        if !same {
            return Err(user_error(
                format!(
                    "`{}` holds Python {}, not {}",
                    root.display(),
                    if holds.is_empty() {
                        "of an unknown version"
                    } else {
                        holds
                    },
                    wanted.minor
                ),
                format!(
                    "`.venv-{0}` is the venv `cargo pyo3` makes for Python {0}: remove it (or move it away) and run again, and it is made anew from `{1}`",
                    wanted.minor,
                    wanted.created_with.interpreter.display()
                ),
            ));
        }
        Ok(venv)
    }

    /// Creates `.venv` in `project_dir`: `uv venv` when uv is available, else `python -m venv`.
    pub(crate) fn create(
        project_dir: &Path,
        python: Option<&str>,
        uv: Option<&Path>,
    ) -> Result<Venv> {
        let chosen = choose_interpreter(project_dir, python)?;
        Venv::create_at(&project_dir.join(".venv"), project_dir, chosen, uv)
    }

    /// Creates `.venv` in `project_dir` from an interpreter already chosen (a `--python 3.X` found
    /// by `interpreter/`).
    pub(crate) fn create_from(
        project_dir: &Path,
        chosen: CreatedWith,
        uv: Option<&Path>,
    ) -> Result<Venv> {
        Venv::create_at(&project_dir.join(".venv"), project_dir, chosen, uv)
    }

    /// Creates a venv at `root` from `chosen`, working from `project_dir`.
    fn create_at(
        root: &Path,
        project_dir: &Path,
        chosen: CreatedWith,
        uv: Option<&Path>,
    ) -> Result<Venv> {
        let root = root.to_path_buf();
        refuse_existing(&root)?;
        let command = match uv {
            // An explicit interpreter, and downloads off: uv would otherwise fetch the newest
            // CPython that `requires-python` allows.
            Some(uv) => Cmd::new(uv)
                .args(["venv", "--quiet", "--python"])
                .arg(&chosen.interpreter)
                .env("UV_PYTHON_DOWNLOADS", "never")
                .arg(&root)
                .dir(project_dir),
            None => Cmd::new(&chosen.interpreter)
                .args(["-m", "venv"])
                .arg(&root)
                .dir(project_dir),
        };
        output::status(
            "Creating",
            format!("virtual environment at `{}`", root.display()),
        );
        output::verbose(format_args!(
            "from `{}` ({})",
            chosen.interpreter.display(),
            chosen.reason
        ));
        let created = command
            .run_captured()
            .map_err(|error| {
                user_error(
                    format!("failed to create the virtual environment `{}`: {error}", root.display()),
                    "pass an interpreter with `--python`, or create the venv yourself and pass `--venv`",
                )
            })
            .and_then(|_| Venv::open(&root, VenvOrigin::Created))
            .map(|venv| Venv {
                created_with: Some(chosen),
                ..venv
            });
        if created.is_err() {
            // The directory did not exist before (checked above), so whatever a failed or
            // interrupted creation left there is ours: remove it, or the next run would find
            // half a venv.
            let _ = fs_err::remove_dir_all(&root);
        }
        created
    }

    fn config_value(&self, key: &str) -> Option<&str> {
        self.config
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    /// uv writes `uv = <version>` into the `pyvenv.cfg` of venvs it creates.
    pub(crate) fn created_by_uv(&self) -> bool {
        self.config_value("uv").is_some()
    }

    /// `3.11.7`, from `version` (venv) or `version_info` (uv).
    pub(crate) fn python_version(&self) -> Option<&str> {
        self.config_value("version")
            .or_else(|| self.config_value("version_info"))
    }

    /// The interpreter the venv's python links to.
    ///
    /// maturin bakes the interpreter path into pyo3's build configuration; building against the
    /// venv's own path makes pyo3 recompile whenever the venv moves or is recreated (about 5 s on
    /// 2 cores), while the base interpreter's path is stable and yields the same wheel.
    pub(crate) fn base_interpreter(&self) -> PathBuf {
        self.layout.base_interpreter(&self.python, |key| {
            self.config_value(key).map(str::to_owned)
        })
    }

    /// An executable the venv installs: `bin/<name>`, or `Scripts\<name>.exe` on Windows.
    /// The venv's scripts directory (`bin/`, or `Scripts\` on Windows), which activation puts
    /// first on `PATH`.
    pub(crate) fn scripts_dir(&self) -> PathBuf {
        self.layout.scripts_dir(&self.root)
    }

    pub(crate) fn bin(&self, name: &str) -> PathBuf {
        self.layout.executable(&self.root, name)
    }

    /// `lib/pythonX.Y/site-packages`, or `Lib\site-packages` on Windows.
    pub(crate) fn site_packages(&self) -> Option<PathBuf> {
        self.layout.site_packages(&self.root, self.python_version())
    }

    /// Whether `python -m pip` would work, judged without starting python.
    pub(crate) fn has_pip(&self) -> bool {
        self.site_packages()
            .is_some_and(|site| site.join("pip").join("__init__.py").is_file())
    }

    /// `command` with the venv activated as `bin/activate` does it: `VIRTUAL_ENV` set, the venv's
    /// `bin/` first on `PATH`, `PYTHONHOME` unset. A bare program name is then looked up on that
    /// `PATH` (std's `Command` searches the child's `PATH` when it is set), so `python` is the venv's.
    pub(crate) fn activated(&self, command: Cmd) -> Result<Cmd> {
        let bin = self.scripts_dir();
        let path = crate::env::with_first(crate::env::PATH, &bin).map_err(|error| {
            user_error(
                format!("cannot put `{}` on `PATH`: {error}", bin.display()),
                "move the venv to a path without `:` in it",
            )
        })?;
        Ok(command
            .env(crate::env::VIRTUAL_ENV, &self.root)
            .env(crate::env::PATH, path)
            .env_remove(crate::env::PYTHONHOME))
    }
}

/// Makes a venv of this tool's own at `root` from `base` (uv's when there is uv, else `base -m
/// venv`, with pip only when `pip`), readied by `ready` (what it installs into it), and returns
/// it. Made beside `root` and renamed into place, so that a stopped or concurrent run never leaves
/// half a venv where the next run looks; when another run put one there first, that one is kept.
pub(crate) fn make_own(
    root: &Path,
    base: &Path,
    uv: Option<&Path>,
    pip: bool,
    ready: impl FnOnce(&Venv) -> Result<()>,
) -> Result<Venv> {
    let parent = root
        .parent()
        .ok_or_else(|| anyhow::anyhow!("`{}` has no parent directory", root.display()))?;
    fs_err::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".partial-")
        .tempdir_in(parent)?;
    let made = staging.path().join("venv");
    let command = match uv {
        Some(uv) => Cmd::new(uv)
            .args(["venv", "--quiet", "--no-config", "--python"])
            .arg(base)
            .env("UV_PYTHON_DOWNLOADS", "never")
            .arg(&made),
        None if pip => Cmd::new(base).args(["-m", "venv"]).arg(&made),
        None => Cmd::new(base)
            .args(["-m", "venv", "--without-pip"])
            .arg(&made),
    };
    command.dir(parent).run_captured()?;
    ready(&Venv::open(&made, VenvOrigin::Created)?)?;
    // The rename fails onto a venv another run made meanwhile: the staging copy goes with
    // `staging`.
    let _ = fs_err::rename(&made, root);
    Venv::open(root, VenvOrigin::Created)
}

/// `python -m venv` writes into an existing directory: never into one the user made.
fn refuse_existing(root: &Path) -> Result<()> {
    if root.symlink_metadata().is_ok() {
        return Err(user_error(
            format!(
                "`{}` exists but is not a virtual environment: it has no `pyvenv.cfg`",
                root.display()
            ),
            "move it out of the way so that `cargo pyo3 dev` can create the venv there, \
             or pass the venv to use with `--venv`",
        ));
    }
    Ok(())
}

/// `pyvenv.cfg` is `key = value` lines, the way CPython's `site` module reads it.
fn parse_config(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A venv as CPython's `venv` writes it, with only the files discovery looks at.
    fn synthetic_venv(root: &Path, config: &str, python: &Path, site_packages: &Path) {
        fs_err::create_dir_all(python.parent().unwrap()).unwrap();
        fs_err::create_dir_all(site_packages.join("pip")).unwrap();
        fs_err::write(site_packages.join("pip").join("__init__.py"), "").unwrap();
        fs_err::write(root.join("pyvenv.cfg"), config).unwrap();
    }

    #[test]
    fn windows_layout_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(".venv");
        let base = dir.path().join("Python311");
        fs_err::create_dir_all(&base).unwrap();
        fs_err::write(base.join("python.exe"), "").unwrap();
        // What CPython 3.11's `venv` writes on Windows; `home` names a Windows directory.
        let config = format!(
            "home = C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python311\r\n\
             include-system-site-packages = false\r\n\
             version = 3.11.9\r\n\
             executable = {}\r\n\
             command = C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python311\\python.exe -m venv C:\\p\\.venv\r\n",
            base.join("python.exe").display()
        );
        let python = root.join("Scripts").join("python.exe");
        let site = root.join("Lib").join("site-packages");
        synthetic_venv(&root, &config, &python, &site);
        fs_err::write(&python, "").unwrap();
        fs_err::create_dir_all(site.join("demo-0.1.0.dist-info")).unwrap();
        fs_err::write(site.join("demo-0.1.0.dist-info").join("INSTALLER"), "uv\n").unwrap();

        let venv = Venv::open_with(&root, VenvOrigin::Flag, VenvLayout::Windows).unwrap();
        assert_eq!(venv.python, python);
        assert_eq!(
            venv.bin("maturin"),
            root.join("Scripts").join("maturin.exe")
        );
        assert_eq!(venv.site_packages(), Some(site));
        assert!(venv.has_pip());
        assert_eq!(venv.python_version(), Some("3.11.9"));
        assert!(!venv.created_by_uv());
        // The venv's python.exe is a launcher copy: the base is what `executable` names.
        assert_eq!(venv.base_interpreter(), base.join("python.exe"));
        let installed = venv.installed_distributions("demo");
        assert_eq!(installed.len(), 1);
        assert_eq!(installed[0].installer.as_deref(), Some("uv"));
    }

    #[test]
    fn windows_layout_without_a_base_falls_back_to_the_venv_python() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("venv");
        let python = root.join("Scripts").join("python.exe");
        // uv's `pyvenv.cfg`: `home` only, and a base that is not on this machine.
        synthetic_venv(
            &root,
            "home = C:\\Python311\nimplementation = CPython\nuv = 0.13.8\nversion_info = 3.11.7\n",
            &python,
            &root.join("Lib").join("site-packages"),
        );
        fs_err::write(&python, "").unwrap();
        let venv = Venv::open_with(&root, VenvOrigin::Flag, VenvLayout::Windows).unwrap();
        assert!(venv.created_by_uv());
        assert_eq!(venv.base_interpreter(), python);
    }

    #[test]
    fn macos_framework_venv_is_found() {
        let dir = tempfile::tempdir().unwrap();
        // python.org's installer puts CPython in a framework; `venv` links to it.
        let framework_bin = dir
            .path()
            .join("Library/Frameworks/Python.framework/Versions/3.11/bin");
        fs_err::create_dir_all(&framework_bin).unwrap();
        fs_err::write(framework_bin.join("python3.11"), "").unwrap();
        let root = dir.path().join(".venv");
        let python = root.join("bin").join("python");
        let site = root.join("lib").join("python3.11").join("site-packages");
        let home = "/Library/Frameworks/Python.framework/Versions/3.11/bin";
        synthetic_venv(
            &root,
            &format!(
                "home = {home}\ninclude-system-site-packages = false\nversion = 3.11.7\n\
                 executable = {home}/python3.11\ncommand = {home}/python3 -m venv /Users/me/p/.venv\n"
            ),
            &python,
            &site,
        );
        platform::test_support::symlink_file(&framework_bin.join("python3.11"), &python);

        let venv = Venv::open_with(&root, VenvOrigin::DotVenv, VenvLayout::Posix).unwrap();
        assert_eq!(venv.python, python);
        assert_eq!(venv.python_version(), Some("3.11.7"));
        assert_eq!(venv.site_packages(), Some(site));
        assert!(venv.has_pip());
        assert_eq!(venv.bin("maturin"), root.join("bin").join("maturin"));
        assert_eq!(
            venv.base_interpreter(),
            fs_err::canonicalize(framework_bin.join("python3.11")).unwrap()
        );
    }

    #[test]
    fn a_venv_of_the_other_platform_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(".venv");
        let layout = VenvLayout::NATIVE.other();
        let python = layout.python(&root);
        synthetic_venv(&root, "home = /usr/bin\n", &python, &root.join("site"));
        fs_err::write(&python, "").unwrap();
        let error = Venv::open(&root, VenvOrigin::DotVenv).unwrap_err();
        assert!(
            error.to_string().contains("was made on another platform")
                && error.to_string().contains(layout.describe()),
            "{error}"
        );
        assert!(
            crate::failure::hint_of(&error).is_some_and(|hint| hint.contains("uv venv")),
            "{error:?}"
        );
    }

    #[test]
    fn reads_uv_marker_and_version() {
        let config = parse_config(
            "home = /usr/bin\nimplementation = CPython\nuv = 0.13.8\nversion_info = 3.11.7\n",
        );
        let venv = Venv {
            root: PathBuf::from("/v"),
            python: PathBuf::from("/v/bin/python"),
            origin: VenvOrigin::Flag,
            layout: VenvLayout::Posix,
            config,
            created_with: None,
        };
        assert!(venv.created_by_uv());
        assert_eq!(venv.python_version(), Some("3.11.7"));
    }
}
