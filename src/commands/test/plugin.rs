//! The pytest plugin of `cargo pyo3 test` (`src/python/pytest_proof.py`): written to a private
//! temporary directory for one run, given its request as a JSON file, and its reports read back
//! (pytest's own process, and each pytest-xdist worker).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use std::io::Write;
use std::process::ExitStatus;

use crate::failure::user_error;
use crate::process::{Attached, Cmd, ProcessError, Stdout};

const PLUGIN_SOURCE: &str = include_str!("../../python/pytest_proof.py");
/// The plugin's module name: what `-p` imports from the private directory on `PYTHONPATH`.
pub(super) const PLUGIN_MODULE: &str = "cargo_pyo3_pytest_proof";
const REPORT_FILE: &str = "report.json";

/// The plugin, ready in its temporary directory (removed when this is dropped).
pub(super) struct Plugin {
    pub(super) scratch: tempfile::TempDir,
    pub(super) plugin_dir: PathBuf,
    pub(super) request: PathBuf,
}

impl Plugin {
    /// Writes the plugin; its request follows ([`Plugin::request`]).
    pub(super) fn prepare() -> Result<Plugin> {
        let scratch = tempfile::Builder::new()
            .prefix("cargo-pyo3-pytest-")
            .tempdir()
            .context("failed to create a temporary directory for the pytest plugin")?;
        let plugin_dir = scratch.path().join("plugin");
        fs_err::create_dir_all(&plugin_dir)?;
        fs_err::write(
            plugin_dir.join(format!("{PLUGIN_MODULE}.py")),
            PLUGIN_SOURCE,
        )?;
        let request = scratch.path().join("request.json");
        Ok(Plugin {
            scratch,
            plugin_dir,
            request,
        })
    }

    /// Writes its request, which the plugin reads at its import: the extension modules to report
    /// on.
    pub(super) fn request(&self, modules: &[&str]) -> Result<()> {
        let output = self.scratch.path().join(REPORT_FILE);
        fs_err::write(
            &self.request,
            serde_json::to_vec(&serde_json::json!({ "modules": modules, "output": output }))?,
        )?;
        Ok(())
    }

    /// `command` with the plugin loaded: `-p` must come before pytest's other arguments.
    pub(super) fn load_into(&self, command: Cmd) -> Result<Cmd> {
        Ok(command
            .env(crate::env::PYTHONPATH, pythonpath(&self.plugin_dir)?)
            .env(crate::env::PYTEST_PROOF_REQUEST, &self.request))
    }

    /// What pytest's own process reported, and what each xdist worker did, in worker order.
    pub(super) fn reports(&self) -> Result<(Option<PluginReport>, Vec<PluginReport>)> {
        let main = read_report(&self.scratch.path().join(REPORT_FILE))?;
        let mut paths: Vec<PathBuf> = fs_err::read_dir(self.scratch.path())?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(&format!("{REPORT_FILE}.")))
            })
            .collect();
        paths.sort();
        let mut workers = Vec::new();
        for path in paths {
            workers.extend(read_report(&path)?);
        }
        Ok((main, workers))
    }
}

/// pytest, with the plugin, started while `dev` proves the last build again: it gets through its
/// own start (the interpreter, pytest and its plugins) and waits at the plugin's import for a
/// line on a FIFO, before the conftest files or the tests import anything. Dropped, it is killed
/// and has run nothing of the project's.
pub(super) struct Ahead {
    // Dropped in this order: pytest killed before its FIFO and its directory go.
    pytest: Attached,
    wait: fs_err::File,
    plugin: Plugin,
}

impl Ahead {
    /// Starts `command` (made with [`Plugin::load_into`] for `plugin`) waiting; `None` where the
    /// platform has no FIFO or it does not start, and pytest runs after the proof.
    pub(super) fn start(plugin: Plugin, command: Cmd, stdout: Stdout) -> Option<Ahead> {
        let fifo = plugin.scratch.path().join("wait");
        let wait = crate::platform::wait_line(&fifo)?;
        let pytest = command
            .env(crate::env::PYTEST_PROOF_WAIT, &fifo)
            .start_attached(stdout)
            .inspect_err(|error| {
                crate::output::verbose(format_args!("pytest not started ahead: {error}"))
            })
            .ok()?;
        crate::output::verbose(format_args!(
            "`{}` started, waiting for the proof of the last build",
            pytest.command()
        ));
        Some(Ahead {
            pytest,
            wait,
            plugin,
        })
    }

    /// The command it runs, as the status line names it.
    pub(super) fn command(&self) -> &str {
        self.pytest.command()
    }

    /// Lets it go on, with its request for `modules`, and waits for it. The FIFO stays open until
    /// it ends: a line written into a FIFO nobody holds open is lost.
    pub(super) fn run(self, modules: &[&str]) -> Result<(Plugin, ExitStatus), ProcessError> {
        let Ahead {
            pytest,
            mut wait,
            plugin,
        } = self;
        let went = plugin
            .request(modules)
            .map_err(std::io::Error::other)
            .and_then(|()| wait.write_all(b"go\n"));
        if let Err(source) = went {
            return Err(ProcessError::CouldNotExecute {
                command: pytest.command().to_owned(),
                source,
            });
        }
        let status = pytest.wait()?;
        drop(wait);
        Ok((plugin, status))
    }
}

fn read_report(path: &Path) -> Result<Option<PluginReport>> {
    match fs_err::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the pytest plugin wrote an unreadable report `{}`",
                path.display()
            )
        })?)),
        Err(_) => Ok(None),
    }
}

/// `PYTHONPATH` with the plugin's directory first, keeping what the user set.
fn pythonpath(plugin_dir: &Path) -> Result<OsString> {
    let inherited = std::env::var_os(crate::env::PYTHONPATH).unwrap_or_default();
    let entries = std::iter::once(plugin_dir.to_path_buf())
        .chain(std::env::split_paths(&inherited).filter(|entry| !entry.as_os_str().is_empty()));
    std::env::join_paths(entries).map_err(|error| {
        user_error(
            format!(
                "cannot put `{}` on `PYTHONPATH`: {error}",
                plugin_dir.display()
            ),
            "set `TMPDIR` to a directory whose path has no `:` in it",
        )
    })
}

/// What the plugin wrote at the end of the session.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(super) struct PluginReport {
    /// The pytest-xdist worker id (`gw0`), `null` in pytest's own process.
    #[serde(default)]
    pub(super) worker: Option<String>,
    pub(super) exit_status: i32,
    pub(super) counts: Counts,
    pub(super) modules: Vec<Loaded>,
    pub(super) sys_path: Vec<String>,
    pub(super) cwd: PathBuf,
    /// Modules that test files could not import while pytest collected them.
    #[serde(default)]
    pub(super) missing_modules: Vec<MissingModule>,
}

/// A `ModuleNotFoundError` a test file raised while it was collected.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(super) struct MissingModule {
    pub(super) module: String,
    /// The collected file, as pytest names it (`tests/test_bench.py`).
    pub(super) nodeid: String,
}

/// Test outcomes, counted as pytest's summary line counts them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(super) struct Counts {
    pub(super) passed: u64,
    pub(super) failed: u64,
    pub(super) errors: u64,
    pub(super) skipped: u64,
    pub(super) xfailed: u64,
    pub(super) xpassed: u64,
    pub(super) deselected: u64,
    pub(super) collected: u64,
}

/// One extension module as the test process saw it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(super) struct Loaded {
    /// Not repeated in `--json`, where the proof around it names the module.
    #[serde(skip_serializing)]
    pub(super) module: String,
    /// `tests` when the tests imported it, `plugin` when only the plugin did, at the end.
    pub(super) imported_by: String,
    pub(super) file: Option<PathBuf>,
    pub(super) sha256: Option<String>,
    pub(super) error: Option<String>,
    #[serde(default)]
    pub(super) sys_path_index: Option<usize>,
    #[serde(default)]
    pub(super) sys_path_entry: Option<String>,
    #[serde(default)]
    pub(super) added_by: Option<AddedBy>,
}

/// What put a `sys.path` entry there.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(super) struct AddedBy {
    /// `conftest`, `pth`, `pythonpath`, `ini_pythonpath`, `cwd`, `collection` or `interpreter`.
    pub(super) kind: String,
    pub(super) file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_reads_the_variables_we_set() {
        assert!(PLUGIN_SOURCE.contains(crate::env::PYTEST_PROOF_REQUEST));
        assert!(PLUGIN_SOURCE.contains(crate::env::PYTEST_PROOF_WAIT));
    }
}
