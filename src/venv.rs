//! Which virtual environment: found the way maturin finds it (`--venv`, `VIRTUAL_ENV`, `.venv`
//! here or in a parent), or created in the project directory when there is none.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::output::{self, user_error};
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
}

impl VenvOrigin {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            VenvOrigin::Flag => "given with `--venv`",
            VenvOrigin::VirtualEnv => "from `VIRTUAL_ENV`",
            VenvOrigin::DotVenv => "`.venv` found from the project directory",
            VenvOrigin::Created => "created by this run",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Venv {
    pub(crate) root: PathBuf,
    pub(crate) python: PathBuf,
    pub(crate) origin: VenvOrigin,
    config: Vec<(String, String)>,
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
                    }
                    _ => "create one with `python3 -m venv` or `uv venv`, or point `--venv` at one",
                },
            )
        })?;
        let python = root.join("bin").join("python");
        if !python.exists() {
            let why = if python.is_symlink() {
                "is a dangling symlink"
            } else {
                "does not exist"
            };
            // Only a `.venv` found by discovery is recreated by running `dev` without it.
            let fix = match origin {
                VenvOrigin::DotVenv | VenvOrigin::Created => format!(
                    "remove `{}` and run `cargo pyo3 dev` to create a new one",
                    root.display()
                ),
                VenvOrigin::Flag | VenvOrigin::VirtualEnv => format!(
                    "recreate it with `uv venv --clear {0}` or `python3 -m venv --clear {0}`",
                    root.display()
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
            config: parse_config(&config_text),
        })
    }

    /// Creates `.venv` in `project_dir`: `uv venv` when uv is available, else `python -m venv`.
    pub(crate) fn create(
        project_dir: &Path,
        python: Option<&str>,
        uv: Option<&Path>,
    ) -> Result<Venv> {
        let root = project_dir.join(".venv");
        // `python -m venv` writes into an existing directory: never into one the user made.
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
        let command = match uv {
            Some(uv) => {
                let mut command = Cmd::new(uv).args(["venv", "--quiet"]);
                if let Some(python) = python {
                    command = command.args(["--python", python]);
                }
                command.arg(&root)
            }
            None => Cmd::new(python.unwrap_or("python3"))
                .args(["-m", "venv"])
                .arg(&root),
        };
        output::status(
            "Creating",
            format!("virtual environment at `{}`", root.display()),
        );
        let created = command
            .run_captured()
            .map_err(|error| {
                user_error(
                    format!("failed to create the virtual environment `{}`: {error}", root.display()),
                    "pass an interpreter with `--python`, or create the venv yourself and pass `--venv`",
                )
            })
            .and_then(|_| Venv::open(&root, VenvOrigin::Created));
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
        fs_err::canonicalize(&self.python).unwrap_or_else(|_| self.python.clone())
    }

    pub(crate) fn bin(&self, name: &str) -> PathBuf {
        self.root.join("bin").join(name)
    }

    /// `lib/pythonX.Y/site-packages`.
    pub(crate) fn site_packages(&self) -> Option<PathBuf> {
        let lib = self.root.join("lib");
        if let Some(version) = self.python_version() {
            let short: Vec<&str> = version.split('.').take(2).collect();
            let candidate = lib
                .join(format!("python{}", short.join(".")))
                .join("site-packages");
            if candidate.is_dir() {
                return Some(candidate);
            }
        }
        fs_err::read_dir(&lib)
            .ok()?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.path().join("site-packages"))
            .find(|path| path.is_dir())
    }

    /// Whether `python -m pip` would work, judged without starting python.
    pub(crate) fn has_pip(&self) -> bool {
        self.site_packages()
            .is_some_and(|site| site.join("pip").join("__init__.py").is_file())
    }
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

    #[test]
    fn reads_uv_marker_and_version() {
        let config = parse_config(
            "home = /usr/bin\nimplementation = CPython\nuv = 0.13.8\nversion_info = 3.11.7\n",
        );
        let venv = Venv {
            root: PathBuf::from("/v"),
            python: PathBuf::from("/v/bin/python"),
            origin: VenvOrigin::Flag,
            config,
        };
        assert!(venv.created_by_uv());
        assert_eq!(venv.python_version(), Some("3.11.7"));
    }
}
