//! Local interpreters, found the way users expect and never downloaded: for a version `3.X`, each
//! `python3.X` on PATH, then pyenv's installs (`$PYENV_ROOT/versions/3.X.*`), then uv's
//! (`uv python install`: `$UV_PYTHON_INSTALL_DIR`, else `$XDG_DATA_HOME/uv/python`). Every
//! candidate is asked for its version: a pyenv shim on PATH answers only for the versions pyenv
//! has selected (measured here: `python3.9` → `pyenv: python3.9: command not found` with 3.11
//! selected), so a shim that does not answer is passed by, and the interpreter behind one that
//! does is what the venv is made from.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::request::Minor;
use crate::python::{self, Vantage};

/// An interpreter that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interpreter {
    /// The interpreter itself (`sys.executable`): behind a shim, the file the shim ran.
    pub(crate) executable: PathBuf,
    /// `3.12.1`.
    pub(crate) version: String,
    pub(crate) minor: Minor,
    /// `cpython`, `pypy`, …
    pub(crate) implementation: String,
    /// Where it was found: "`python3.12` on PATH", "pyenv", "uv".
    pub(crate) found: String,
}

#[derive(Deserialize)]
struct Answer {
    version: String,
    executable: PathBuf,
    implementation: String,
}

/// Runs the probe with `candidate`; `None` when it does not answer as a Python does.
pub(crate) fn probe(candidate: &Path, found: &str) -> Option<Interpreter> {
    let answer: Answer = python::run_with(
        candidate,
        python::INTERPRETER,
        "sys",
        &serde_json::json!({}),
        Vantage::Neutral,
    )
    .ok()?;
    let executable = if answer.executable.as_os_str().is_empty() {
        candidate.to_path_buf()
    } else {
        answer.executable
    };
    Some(Interpreter {
        minor: Minor::of_version(&answer.version)?,
        version: answer.version,
        executable,
        implementation: answer.implementation,
        found: found.to_owned(),
    })
}

/// The places a version is looked for, in order, each with the words a message names it by.
pub(crate) struct Places {
    path: Option<std::ffi::OsString>,
    pyenv: Option<PathBuf>,
    uv: Option<PathBuf>,
}

impl Places {
    /// This machine's: `PATH`, pyenv's root and uv's install directory, from the environment.
    pub(crate) fn of_this_machine() -> Places {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        let home = var(crate::env::HOME).map(PathBuf::from);
        Places {
            path: var(crate::env::PATH),
            pyenv: var(crate::env::PYENV_ROOT)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|home| home.join(".pyenv"))),
            uv: var(crate::env::UV_PYTHON_INSTALL_DIR)
                .map(PathBuf::from)
                .or_else(|| {
                    var(crate::env::XDG_DATA_HOME)
                        .map(|data| PathBuf::from(data).join("uv").join("python"))
                })
                .or_else(|| {
                    home.as_ref()
                        .map(|home| home.join(".local").join("share").join("uv").join("python"))
                }),
        }
    }

    /// Every `python<minor>` on PATH, in PATH's order.
    fn on_path(&self, minor: Minor) -> Vec<PathBuf> {
        let Some(path) = &self.path else {
            return Vec::new();
        };
        let cwd = std::env::current_dir().unwrap_or_default();
        which::which_in_all(format!("python{minor}"), Some(path), cwd)
            .map(Iterator::collect)
            .unwrap_or_default()
    }

    /// The installs under `root` whose directory names `minor` (`3.12.1`, `cpython-3.12.1-linux-
    /// x86_64-gnu`), newest patch first, each as its interpreter's path.
    fn installed_under(root: &Path, prefix: &str, minor: Minor) -> Vec<PathBuf> {
        let Ok(entries) = fs_err::read_dir(root) else {
            return Vec::new();
        };
        let mut found: Vec<(Vec<u64>, PathBuf)> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let version = name.strip_prefix(prefix)?;
                let version = version.split('-').next()?;
                // `3.13.0t` (free-threaded) and `3.12-dev` are other builds: a plain release only.
                let parts: Vec<u64> = version
                    .split('.')
                    .map(|part| part.parse().ok())
                    .collect::<Option<_>>()?;
                (parts.len() == 3 && parts[0] == minor.major && parts[1] == minor.minor)
                    .then(|| (parts, entry.path()))
            })
            .collect();
        found.sort();
        found.reverse();
        found
            .into_iter()
            .flat_map(|(_, dir)| {
                [
                    dir.join("bin").join(format!("python{minor}")),
                    dir.join("python.exe"),
                ]
            })
            .filter(|path| path.is_file())
            .collect()
    }

    /// Where `minor` is looked for, in order, as `(candidate, where it was found)`: PATH's
    /// order, with a pyenv shim standing for pyenv's own installs of that version (what the shim
    /// runs when the version is selected: asking the shim itself costs a shell script, about
    /// 0.1 s measured here, and says "command not found" for every version not selected), then
    /// pyenv's installs, then uv's.
    fn candidates(&self, minor: Minor) -> Vec<(PathBuf, String)> {
        let pyenv_installs = || {
            self.pyenv
                .as_ref()
                .map(|pyenv| Places::installed_under(&pyenv.join("versions"), "", minor))
                .unwrap_or_default()
                .into_iter()
                .map(|path| (path, "pyenv".to_owned()))
        };
        let shims = self.pyenv.as_ref().map(|pyenv| pyenv.join("shims"));
        let mut candidates: Vec<(PathBuf, String)> = Vec::new();
        for path in self.on_path(minor) {
            if shims
                .as_deref()
                .is_some_and(|shims| path.starts_with(shims))
            {
                candidates.extend(pyenv_installs());
            } else {
                candidates.push((path, format!("`python{minor}` on PATH")));
            }
        }
        candidates.extend(pyenv_installs());
        if let Some(uv) = &self.uv {
            candidates.extend(
                Places::installed_under(uv, "cpython-", minor)
                    .into_iter()
                    .map(|path| (path, "uv".to_owned())),
            );
        }
        // Each candidate once, where it came first.
        let mut seen = std::collections::BTreeSet::new();
        candidates.retain(|(path, _)| seen.insert(path.clone()));
        candidates
    }

    /// What was looked for `minor`, for the error that says none was found.
    pub(crate) fn looked_for(&self, minor: Minor) -> String {
        let mut places = vec![format!("`python{minor}` on PATH")];
        if let Some(pyenv) = &self.pyenv {
            places.push(format!(
                "pyenv's `{}`",
                pyenv.join("versions").join(format!("{minor}.*")).display()
            ));
        }
        if let Some(uv) = &self.uv {
            places.push(format!(
                "uv's `{}`",
                uv.join(format!("cpython-{minor}.*")).display()
            ));
        }
        places.join(", ")
    }

    /// The first candidate for `minor` that answers with that version.
    pub(crate) fn find(&self, minor: Minor) -> Option<Interpreter> {
        self.candidates(minor)
            .into_iter()
            .find_map(|(candidate, found)| {
                probe(&candidate, &found).filter(|interpreter| interpreter.minor == minor)
            })
    }

    /// Every CPython 3 version found here, oldest first, each the first that answers for it.
    pub(crate) fn find_all(&self) -> Vec<Interpreter> {
        // CPython 3.0 to 3.29: the minor versions `python3.X` can name for years to come. Each
        // version is asked on its own thread: an interpreter takes 20–30 ms to answer.
        std::thread::scope(|scope| {
            let asked: Vec<_> = (0..30)
                .map(|minor| Minor { major: 3, minor })
                .map(|minor| scope.spawn(move || self.find(minor)))
                .collect();
            asked
                .into_iter()
                .filter_map(|asked| asked.join().ok().flatten())
                .filter(|interpreter| interpreter.implementation == "cpython")
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_are_read_newest_patch_first_and_plain_releases_only() {
        let root = tempfile::tempdir().unwrap();
        for name in [
            "3.12.1", "3.12.10", "3.12.2t", "3.12-dev", "3.11.7", "2.7.18",
        ] {
            let bin = root.path().join(name).join("bin");
            fs_err::create_dir_all(&bin).unwrap();
            fs_err::write(bin.join("python3.12"), "").unwrap();
        }
        let minor = Minor::parse("3.12").unwrap();
        let found = Places::installed_under(root.path(), "", minor);
        assert_eq!(
            found,
            [
                root.path().join("3.12.10/bin/python3.12"),
                root.path().join("3.12.1/bin/python3.12"),
            ]
        );
        let uv = tempfile::tempdir().unwrap();
        let bin = uv
            .path()
            .join("cpython-3.12.4-linux-x86_64-gnu")
            .join("bin");
        fs_err::create_dir_all(&bin).unwrap();
        fs_err::write(bin.join("python3.12"), "").unwrap();
        assert_eq!(
            Places::installed_under(uv.path(), "cpython-", minor),
            [bin.join("python3.12")]
        );
    }
}
